/**
 * `VerifyOutcome.failure`: the structured failure next to Apptainer's words, for callers to
 * branch on. Each case checks both: the kind (with what it concerns) and the message.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as openpgp from "openpgp";
import { signImage, verifyImage, type VerifyOptions } from "../../core/integrity/mod.ts";
import { KeySet } from "../../core/keys/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { createImage, DataType, SifImage } from "../../core/sif/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);

const { privateKey: alice } = await openpgp.generateKey({
  type: "ecc",
  curve: "ed25519Legacy",
  userIDs: [{ name: "alice", email: "alice@example.org" }],
  format: "object",
});
const ALICE = alice.getFingerprint().toUpperCase();
const keys = new KeySet([{
  key: wrapKey(alice.toPublic()),
  source: { kind: "file", location: "" },
}]);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-outcome-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function image(path: string, groupIds: number[], sign: boolean): Promise<void> {
  const created = await createImage(path, {
    objects: groupIds.map((groupId, i) => ({
      dataType: DataType.GenericJSON,
      data: text(`{"n":${i}}`),
      groupId,
    })),
  });
  created.close();
  if (!sign) return;
  using writable = await SifImage.open(path, { write: true });
  await signImage(writable, { kind: "pgp", key: wrapKey(alice) });
}

async function outcome(path: string, options: VerifyOptions = { keys }) {
  using opened = await SifImage.open(path);
  const { error, failure } = (await verifyImage(opened, options)).outcome;
  return { error, failure };
}

Deno.test("a verified image has neither error nor failure", async () => {
  await withDir(async (dir) => {
    await image(`${dir}/a.sif`, [1], true);
    assertEquals(await outcome(`${dir}/a.sif`), { error: undefined, failure: undefined });
  });
});

Deno.test("failures before any signature: the request, ungrouped objects, no signature", async () => {
  await withDir(async (dir) => {
    await image(`${dir}/unsigned.sif`, [1], false);
    assertEquals(await outcome(`${dir}/unsigned.sif`), {
      error: "integrity: signature not found for object group 1",
      failure: { kind: "signature-not-found", group: 1 },
    });
    assertEquals(await outcome(`${dir}/unsigned.sif`, { keys, groups: [7] }), {
      error: "integrity: group not found",
      failure: { kind: "group-not-found" },
    });
    assertEquals(await outcome(`${dir}/unsigned.sif`, { keys, legacy: true, objects: [1] }), {
      error: "integrity: signature not found for object 1",
      failure: { kind: "signature-not-found", object: 1 },
    });
    await image(`${dir}/loose.sif`, [1, 0], false);
    assertEquals(await outcome(`${dir}/loose.sif`), {
      error: "integrity: non-signature object not associated with object group",
      failure: { kind: "ungrouped", object: 2 },
    });
  });
});

Deno.test("failures of a signature name it, its group and its descriptor's fingerprint", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/signed.sif`;
    await image(path, [1, 1], true);
    const signature = 3;
    assertEquals(await outcome(path, {}), {
      error: "integrity: key material not provided for PGP clear-sign signature",
      failure: { kind: "no-key-material", group: 1, signature, fingerprint: ALICE },
    });
    const noKey = await outcome(path, { keys: new KeySet([]) });
    assertEquals(noKey.failure, {
      kind: "key-unavailable",
      group: 1,
      signature,
      fingerprint: ALICE,
    });
    // Change the second object's data: its digest no longer matches.
    {
      using writable = await SifImage.open(path, { write: true });
      await writable.writeAt(writable.descriptor(2)!.offset, text("["));
    }
    assertEquals(await outcome(path), {
      error: "integrity: data object integrity compromised: 2",
      failure: { kind: "object-mismatch", group: 1, object: 2, signature, fingerprint: ALICE },
    });
  });
});
