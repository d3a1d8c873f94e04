/**
 * The def-file check in-process (no subprocess): what each kind of stage yields, and the
 * verdict on a bootstrap image against its `Fingerprints:` list, with structured failures.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import type * as openpgp from "openpgp";
import { parseDefinition } from "../../core/deffile/mod.ts";
import { signImage } from "../../core/integrity/mod.ts";
import { KeySet } from "../../core/keys/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { createImage, DataType, SifImage } from "../../core/sif/mod.ts";
import { checkStage, imageMismatch, type StageResult } from "../../policy/deffile.ts";
import { tempDir } from "../helpers/env.ts";
import { fingerprintOf as fp, newKey } from "../helpers/keys.ts";

const text = (s: string) => new TextEncoder().encode(s);

const alice = await newKey("alice");
const bob = await newKey("bob");
const keysOf = (...keys: openpgp.PrivateKey[]) => () =>
  Promise.resolve(
    new KeySet(
      keys.map((key) => ({ key: wrapKey(key.toPublic()), source: { kind: "file", location: "" } })),
    ),
  );

/** base.sif: two groups, alice signs both and bob group 1; unsigned.sif: not signed. */
async function withImages(fn: (dir: string) => Promise<void>): Promise<void> {
  await using temp = await tempDir("siftrust-deffile-stage-");
  const dir = temp.dir;
  for (const name of ["base.sif", "unsigned.sif"]) {
    const image = await createImage(`${dir}/${name}`, {
      objects: [
        { dataType: DataType.Deffile, data: text("Bootstrap: scratch\n") },
        { dataType: DataType.GenericJSON, data: text('{"b":2}'), groupId: 2 },
      ],
    });
    image.close();
  }
  using base = await SifImage.open(`${dir}/base.sif`, { write: true });
  await signImage(base, { kind: "pgp", key: wrapKey(alice) });
  await signImage(base, { kind: "pgp", key: wrapKey(bob) }, { groups: [1] });
  await Deno.writeTextFile(`${dir}/rootfs.tar`, "not an image at all, but long enough to sniff");
  await fn(dir);
}

async function stage(
  dir: string,
  header: string,
  keys = keysOf(alice, bob),
  image?: string,
): Promise<StageResult> {
  const [parsed] = parseDefinition(`${header}\n%post\n  true\n`);
  return await checkStage(parsed, { folder: dir, image, keys });
}

Deno.test("checkStage: signed by every listed fingerprint in every group, or not", async () => {
  await withImages(async (dir) => {
    const accepted = await stage(
      dir,
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${fp(alice).toLowerCase()}`,
    );
    assertEquals(accepted.kind === "checked" && accepted.verdict, { kind: "accepted" });
    assertEquals(accepted.kind === "checked" && accepted.path, `${dir}/base.sif`);
    const both = await stage(
      dir,
      `Bootstrap: localimage\nFrom: base.sif\nFingerprints: ${fp(alice)}, ${fp(bob)}, 1234`,
    );
    assertEquals(both.kind === "checked" && both.verdict, {
      kind: "not-signed-by",
      missing: [
        { fingerprint: fp(bob), malformed: false, groups: [2] },
        { fingerprint: "1234", malformed: true, groups: [1, 2] },
      ],
    });
  });
});

Deno.test("checkStage: a failed verification is strict with a list, lenient without", async () => {
  await withImages(async (dir) => {
    const listed = `Fingerprints: ${fp(alice)}`;
    const unsigned = await stage(dir, `Bootstrap: localimage\nFrom: unsigned.sif\n${listed}`);
    assertEquals(unsigned.kind === "checked" && unsigned.verdict, {
      kind: "failed",
      error: "integrity: signature not found for object group 1",
      failure: { kind: "signature-not-found", group: 1 },
    });
    const lenient = await stage(dir, "Bootstrap: localimage\nFrom: unsigned.sif");
    assertEquals(lenient.kind === "checked" && lenient.verdict, {
      kind: "unsigned",
      error: "integrity: signature not found for object group 1",
    });
    // Bob's key missing: which signature, and whose key, for the hint.
    const noKey = await stage(
      dir,
      `Bootstrap: localimage\nFrom: base.sif\n${listed}`,
      keysOf(alice),
    );
    ok(noKey.kind === "checked" && noKey.verdict.kind === "failed");
    const { failure } = noKey.verdict;
    assertEquals([failure.kind, failure.group, failure.fingerprint], [
      "key-unavailable",
      1,
      fp(bob),
    ]);
    ok(typeof failure.signature === "number");
    const warned = await stage(dir, "Bootstrap: localimage\nFrom: base.sif", keysOf(alice));
    assertEquals(warned.kind === "checked" && warned.verdict.kind, "unverified");
    const verified = await stage(dir, "Bootstrap: localimage\nFrom: base.sif");
    assertEquals(verified.kind === "checked" && verified.verdict, { kind: "verified" });
  });
});

Deno.test("checkStage: stages that verify nothing, need more, or have a bad image", async () => {
  await withImages(async (dir) => {
    const never = () => Promise.reject(new Error("keys asked for without an image to verify"));
    assertEquals(await stage(dir, "Bootstrap: localimage", never), { kind: "needs-from" });
    assertEquals(await stage(dir, "Bootstrap: library\nFrom: alpine:3", never), {
      kind: "needs-image",
      agent: "library",
      from: "alpine:3",
    });
    assertEquals(
      await stage(dir, `Bootstrap: docker\nFrom: alpine\nFingerprints: ${fp(bob)}`, never),
      {
        kind: "no-sif-source",
        agent: "docker",
        listed: [fp(bob)],
      },
    );
    assertEquals(await stage(dir, "Bootstrap: localimage\nFrom: rootfs.tar", never), {
      kind: "not-sif",
      path: `${dir}/rootfs.tar`,
      listed: [],
    });
    assertEquals(await stage(dir, "Bootstrap: localimage\nFrom: .", never), {
      kind: "not-sif",
      path: dir,
      listed: [],
    });
    const missing = await stage(dir, "Bootstrap: localimage\nFrom: gone.sif", never);
    assertEquals(missing.kind === "bad-image" && [missing.error.kind, missing.error.message], [
      "unreadable",
      `${dir}/gone.sif: no such file`,
    ]);
    // A downloaded image that is not a SIF is a bad image, not skipped.
    const downloaded = await stage(dir, "Bootstrap: oras\nFrom: x", never, `${dir}/rootfs.tar`);
    assertEquals(downloaded.kind === "bad-image" && downloaded.error.kind, "invalid");
    const given = await stage(
      dir,
      `Bootstrap: ORAS\nFrom: x\nFingerprints: ${fp(alice)}`,
      undefined,
      `${dir}/base.sif`,
    );
    assertEquals(given.kind === "checked" && given.verdict.kind, "accepted");
  });
});

Deno.test("imageMismatch: --image stands for exactly one downloading stage", () => {
  const stages = (...agents: string[]) =>
    parseDefinition(agents.map((a) => `Bootstrap: ${a}\nFrom: x\n%post\n`).join(""));
  assertEquals(imageMismatch(stages("library", "docker"), true), undefined);
  assertEquals(imageMismatch(stages("library", "shub"), false), undefined);
  assertEquals(imageMismatch(stages("library", "oras"), true), {
    kind: "several-downloads",
    count: 2,
  });
  assertEquals(imageMismatch(stages("localimage"), true), { kind: "no-download" });
});
