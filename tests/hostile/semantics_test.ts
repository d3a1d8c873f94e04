/**
 * Never more than the reference, in-process (no peer): images that the reference's verify
 * refuses in its default mode are never allowed under the default requirement; a claimed
 * fingerprint is not a key; and a cached allow ends when the signing subkey or the signature
 * expires.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import * as openpgp from "openpgp";
import { readSignatureObjects, signImage } from "../../core/integrity/mod.ts";
import {
  appendObject,
  createImage,
  type CreateOptions,
  DataType,
  SifImage,
  signatureExtra,
} from "../../core/sif/mod.ts";
import { checkImage, type ImageDecision, loadPolicy, policyKeys } from "../../policy/mod.ts";
import { decisionExitCode } from "../../cli/exit.ts";
import { reasonTexts } from "../../cli/render/decision_words.ts";
import { type TempDir, tempDir } from "../helpers/env.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";

async function newKey(
  name: string,
  options: { date?: Date; subkeys?: { sign: boolean; keyExpirationTime: number }[] } = {},
): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name}@siftrust.test` }],
    ...options,
    format: "object",
  });
  return privateKey;
}

const alice = await newKey("alice");
const mallory = await newKey("mallory");
const fp = (key: openpgp.PrivateKey) => key.getFingerprint().toUpperCase();
const text = (s: string) => new TextEncoder().encode(s);

async function writeKeyring(path: string, keys: openpgp.PrivateKey[]): Promise<void> {
  await Deno.writeFile(path, Uint8Array.from(keys.flatMap((k) => [...k.toPublic().write()])));
}

/** A policy declaring these signers, keys from `keyring.gpg` only, default requirement. */
async function writePolicy(box: TempDir, signers: Record<string, openpgp.PrivateKey>) {
  const path = `${box.dir}/policy.yaml`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      version: 1,
      signers: Object.fromEntries(
        Object.entries(signers).map(([name, key]) => [name, { fingerprint: fp(key) }]),
      ),
      keys: { files: ["keyring.gpg"], local: false, offline: true },
    }),
  );
  return path;
}

async function decide(
  policyPath: string,
  image: string,
  options: { now?: Date; cacheDir?: string } = {},
) {
  const policy = await loadPolicy(policyPath);
  const keys = await policyKeys(policy, { env: {}, uid: 0, euid: 0 }, () => {
    throw new Error("an offline policy asked for keyservers");
  });
  return await checkImage(image, { policy, keys, ...options });
}

function assertDenied(decision: ImageDecision, kinds: string[]): void {
  assertEquals(
    [decision.decision, decisionExitCode(decision)],
    ["deny", 1],
    JSON.stringify(decision, null, 2),
  );
  for (const kind of kinds) {
    ok(
      decision.reasons.some((r) => r.kind === kind),
      `no ${kind} reason: ${reasonTexts(decision)}`,
    );
  }
}

async function makeImage(path: string, objects: CreateOptions["objects"]) {
  (await createImage(path, { launchScript: "#!/usr/bin/env run-singularity\n", objects })).close();
  return path;
}

const DEFFILE = { dataType: DataType.Deffile, data: text("Bootstrap: scratch\n") };

async function sign(path: string, key: openpgp.PrivateKey, date?: Date) {
  using image = await SifImage.open(path, { write: true });
  return await signImage(image, { kind: "pgp", key: wrapKey(key) }, { date });
}

Deno.test("an image with no objects is denied: the reference finds no groups", async () => {
  await using box = await tempDir("siftrust-hostile-");
  await writeKeyring(`${box.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${box.dir}/empty.sif`, []);
  const { decision } = await decide(await writePolicy(box, { alice }), image);
  assertDenied(decision, ["no-groups"]);
  assertEquals(reasonTexts(decision), [
    "the image has no object groups, so nothing in it is signed",
  ]);
});

Deno.test("a group holding only a signature-typed object is denied", async () => {
  await using box = await tempDir("siftrust-hostile-");
  await writeKeyring(`${box.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${box.dir}/sig-only.sif`, [
    {
      dataType: DataType.Signature,
      data: text("not a signature"),
      groupId: 1,
      link: { id: 1, isGroup: true },
      extra: signatureExtra(1),
    },
  ]);
  const { decision } = await decide(await writePolicy(box, { alice }), image);
  assertDenied(decision, ["grouped-signature-object", "group-signers"]);
});

Deno.test("a signature-typed object added inside a signed group is denied", async () => {
  await using box = await tempDir("siftrust-hostile-");
  await writeKeyring(`${box.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${box.dir}/inside.sif`, [DEFFILE]);
  await sign(image, alice);
  const policy = await writePolicy(box, { alice });
  assertEquals((await decide(policy, image)).decision.decision, "allow");
  {
    using sif = await SifImage.open(image, { write: true });
    await appendObject(sif, {
      dataType: DataType.Signature,
      data: text("junk"),
      groupId: 1,
      extra: signatureExtra(1),
    });
  }
  const { decision } = await decide(policy, image);
  assertDenied(decision, ["grouped-signature-object"]);
  ok(reasonTexts(decision).some((r) => /object 3 is a signature inside group 1/.test(r)));
});

Deno.test("a signature whose descriptor claims a trusted fingerprint but another key made is a bad signature, exit 1, no key hint", async () => {
  await using box = await tempDir("siftrust-hostile-");
  await writeKeyring(`${box.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${box.dir}/claimed.sif`, [DEFFILE]);
  await sign(image, mallory);
  // Swap mallory's fingerprint in the signature descriptor for alice's.
  const bytes = await Deno.readFile(image);
  const from = mallory.keyPacket.getFingerprintBytes()!;
  let swapped = 0;
  for (let i = 0; i + from.length <= 1 << 16; i++) {
    if (from.every((b, j) => bytes[i + j] === b)) {
      bytes.set(alice.keyPacket.getFingerprintBytes()!, i);
      swapped++;
    }
  }
  assertEquals(swapped, 1);
  await Deno.writeFile(image, bytes);
  const { decision } = await decide(await writePolicy(box, { alice }), image);
  assertDenied(decision, ["signature-fails"]);
  assertEquals(decision.keyUnavailable, false);
  assertEquals(decision.hints.filter((h) => h.kind === "key-unavailable"), []);
  assertEquals(decision.signatures.map((s) => [s.signerName, s.authenticity, s.because.kind]), [
    ["alice", "bad-signature", "claimed-fingerprint"],
  ]);
  ok(
    reasonTexts(decision).some((r) =>
      /descriptor names alice, but alice's key did not make it/.test(r)
    ),
  );
});

Deno.test("a cached allow ends when the signing subkey expires", async () => {
  await using box = await tempDir("siftrust-hostile-");
  const HOUR = 3_600_000;
  // Made an hour ago; its signing subkey expires an hour from now.
  const signedAt = new Date(Date.now() - HOUR);
  const shortLived = await newKey("short", {
    date: signedAt,
    subkeys: [{ sign: true, keyExpirationTime: 2 * 3600 }],
  });
  const signingKey = await shortLived.getSigningKey(undefined, signedAt);
  ok(signingKey.getKeyID().toHex() !== shortLived.getKeyID().toHex(), "signs with the subkey");
  await writeKeyring(`${box.dir}/keyring.gpg`, [shortLived]);
  const image = await makeImage(`${box.dir}/image.sif`, [DEFFILE]);
  await sign(image, shortLived, new Date(signedAt.getTime() + 1000));
  const policy = await writePolicy(box, { short: shortLived });
  const cacheDir = `${box.dir}/cache`;
  // A few seconds on, so the image is not "changed within the current second" for the cache.
  const soon = new Date(Date.now() + 5000);
  const first = await decide(policy, image, { now: soon, cacheDir });
  assertEquals([first.decision.decision, first.cached], ["allow", false]);
  const again = await decide(policy, image, { now: new Date(soon.getTime() + 60_000), cacheDir });
  assertEquals([again.decision.decision, again.cached], ["allow", true]);
  // Three hours after signing, the subkey has expired: the cached allow must not be served.
  const after = await decide(policy, image, {
    now: new Date(signedAt.getTime() + 3 * HOUR),
    cacheDir,
  });
  assertEquals(after.cached, false);
  assertEquals(after.decision.decision, "deny");
});

/**
 * A clear signature of `text` by `key` that expires `seconds` after `date` (openpgp.js's `sign`
 * sets no expiration time, so the packet is made by hand).
 */
async function expiringClearsign(
  text: string,
  key: openpgp.PrivateKey,
  date: Date,
  seconds: number,
): Promise<string> {
  const packet = new openpgp.SignaturePacket();
  packet.signatureType = openpgp.enums.signature.text;
  packet.publicKeyAlgorithm = key.keyPacket.algorithm;
  packet.hashAlgorithm = openpgp.enums.hash.sha256;
  packet.issuerKeyID = key.getKeyID();
  packet.issuerFingerprint = key.keyPacket.getFingerprintBytes()!;
  packet.issuerKeyVersion = 4;
  packet.created = date;
  packet.signatureExpirationTime = seconds;
  packet.signatureNeverExpires = false;
  const literal = new openpgp.LiteralDataPacket();
  // `setText` is private in the type declarations, public in openpgp.js.
  (literal as unknown as { setText(text: string): void }).setText(text);
  // `sign` takes the config as its fifth argument, which its type declarations leave out.
  await (packet as unknown as {
    sign(
      key: unknown,
      data: unknown,
      date: Date,
      detached: boolean,
      config: unknown,
    ): Promise<void>;
  }).sign(key.keyPacket, literal, date, false, openpgp.config);
  const packets = new openpgp.PacketList<openpgp.SignaturePacket>();
  packets.push(packet);
  const Clearsigned = openpgp.CleartextMessage as unknown as new (
    text: string,
    signature: openpgp.Signature,
  ) => openpgp.CleartextMessage;
  return new Clearsigned(text, new openpgp.Signature(packets)).armor();
}

Deno.test("a cached allow ends when the signature itself expires", async () => {
  await using box = await tempDir("siftrust-hostile-");
  const HOUR = 3_600_000;
  await writeKeyring(`${box.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${box.dir}/image.sif`, [DEFFILE]);
  await Deno.copyFile(image, `${box.dir}/template.sif`);
  // Sign a copy as usual, to learn what is signed; then sign the image with a signature that
  // expires in an hour, with the same descriptor.
  await sign(`${box.dir}/template.sif`, alice);
  let plaintext: string;
  let extra: Uint8Array;
  {
    using template = await SifImage.open(`${box.dir}/template.sif`);
    const [signature] = await readSignatureObjects(template);
    plaintext = signature.block!.plaintext;
    extra = signature.descriptor.extra;
  }
  const armored = await expiringClearsign(plaintext, alice, new Date(), 3600);
  {
    using sif = await SifImage.open(image, { write: true });
    await appendObject(sif, {
      dataType: DataType.Signature,
      data: text(armored),
      groupId: 0,
      link: { id: 1, isGroup: true },
      extra,
    });
  }
  const policy = await writePolicy(box, { alice });
  const cacheDir = `${box.dir}/cache`;
  const soon = new Date(Date.now() + 5000);
  const first = await decide(policy, image, { now: soon, cacheDir });
  assertEquals([first.decision.decision, first.cached], ["allow", false]);
  const again = await decide(policy, image, { now: new Date(soon.getTime() + 60_000), cacheDir });
  assertEquals([again.decision.decision, again.cached], ["allow", true]);
  const later = await decide(policy, image, { now: new Date(Date.now() + 2 * HOUR), cacheDir });
  assertEquals(later.cached, false);
  assertEquals(later.decision.decision, "deny");
});
