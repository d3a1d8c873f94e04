/**
 * How a policy decides an image (docs/policy.md, "How an image is decided"), with real images signed in-process by openpgp.js keys, a few signed by the
 * reference harness, and Debian's corpus for legacy signatures. Most cases call `checkImage`;
 * the CLI cases check exit codes, `--json`, `--explain`, symlinks and several images.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as openpgp from "openpgp";
import { signImage, type SignRequest } from "../../core/integrity/mod.ts";
import { appendObject, DataType, SifImage } from "../../core/sif/mod.ts";
import {
  checkImage,
  type Hint,
  type ImageDecision,
  loadPolicy,
  policyKeys,
  type Reason,
  type SignatureVerdict,
} from "../../policy/mod.ts";
import { decisionExitCode } from "../../cli/exit.ts";
import { hintText, reasonTexts } from "../../cli/render/decision_words.ts";
import { runCli } from "../helpers/cli.ts";
import { type TestEnv, testEnv } from "../helpers/env.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { buildImage, REFERENCE_KEY } from "../helpers/images.ts";
import { signImage as referenceSign } from "../helpers/sifref.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { fingerprintOf as fp, newKey } from "../helpers/keys.ts";

/** A run context with an empty environment: no keyrings or caches of the test user. */
const NO_ENV = { env: {}, uid: 0, euid: 0 };

// ---------------------------------------------------------------------------------------------
// keys, images, policies

const REFERENCE_FP = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84";

const DAY = 86_400_000;
const tenDaysAgo = new Date(Date.now() - 10 * DAY);

const alice = await newKey("alice");
const bob = await newKey("bob");
const carol = await newKey("carol");
/** Never declared in any policy. */
const mallory = await newKey("mallory");
/** Valid for one day, ten days ago. */
const lapsed = await newKey("lapsed", { date: tenDaysAgo, keyExpirationTime: 86_400 });
/** Made ten days ago, revoked now. */
const retired = await newKey("retired", { date: tenDaysAgo });
const retiredRevoked = (await openpgp.revokeKey({ key: retired, format: "object" })).privateKey;

type Keyish = openpgp.PrivateKey | openpgp.PublicKey;

/** Writes the public parts of keys as a binary keyring. */
async function writeKeyring(path: string, keys: Keyish[]): Promise<void> {
  await Deno.writeFile(path, Uint8Array.from(keys.flatMap((k) => [...k.toPublic().write()])));
}

const text = (s: string) => new TextEncoder().encode(s);

/**
 * A small image: objects 1 (definition file) and 2 (squashfs primary partition) in group 1,
 * object 3 (JSON) in group 2, and with `ungrouped` object 4 (JSON) in no group.
 */
async function makeImage(path: string, options: { ungrouped?: boolean } = {}): Promise<string> {
  return await buildImage(path, {
    launchScript: "#!/usr/bin/env run-singularity\n",
    partition: crypto.getRandomValues(new Uint8Array(8192)),
    more: [
      { dataType: DataType.GenericJSON, data: text('{"group":2}'), groupId: 2, name: "g2.json" },
      ...(options.ungrouped
        ? [{ dataType: DataType.GenericJSON, data: text('{"group":0}'), groupId: 0 }]
        : []),
    ],
  });
}

/** Signs in-process, as `siftrust sign` does (every group unless told otherwise). */
async function sign(path: string, key: openpgp.PrivateKey, request: SignRequest = {}) {
  using image = await SifImage.open(path, { write: true });
  return await signImage(image, { kind: "pgp", key: wrapKey(key) }, request);
}

/** Overwrites one byte of an object's data. */
async function tamper(path: string, objectId: number): Promise<void> {
  let offset: number;
  {
    using image = await SifImage.open(path);
    offset = image.descriptor(objectId)!.offset;
  }
  using file = await Deno.open(path, { read: true, write: true });
  const byte = new Uint8Array(1);
  await file.seek(offset, Deno.SeekMode.Start);
  await file.read(byte);
  byte[0] ^= 0xff;
  await file.seek(offset, Deno.SeekMode.Start);
  await file.write(byte);
}

/** A throw-away folder and an environment of nothing of the user's or the machine's. */
const lab = (): Promise<TestEnv> => testEnv("siftrust-rules-");

/** The usual signers: alice, bob and carol (mallory is never declared). */
const SIGNERS = {
  alice: { fingerprint: fp(alice) },
  bob: { fingerprint: fp(bob) },
  carol: { fingerprint: fp(carol) },
};

/**
 * Writes a policy (JSON is YAML) with the usual signers and, unless `keys` is given, keys
 * from `keyring.gpg` beside it only, offline. Returns its path.
 */
async function writePolicy(
  dir: string,
  fields: Record<string, unknown> = {},
  name = "policy.yaml",
): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(
    path,
    JSON.stringify(
      {
        version: 1,
        signers: SIGNERS,
        keys: { files: ["keyring.gpg"], local: false, offline: true },
        ...fields,
      },
      null,
      2,
    ),
  );
  return path;
}

/**
 * A decision as `check --json` reports it: with its exit code (cli/exit.ts) and its reasons and
 * hints in words (cli/render/decision_words.ts); the policy's own reasons and hints beside them.
 */
interface Reported extends Omit<ImageDecision, "reasons" | "hints"> {
  exitCode: number;
  reasons: string[];
  hints: string[];
  policyReasons: Reason[];
  policyHints: Hint[];
}

function reported(decision: ImageDecision): Reported {
  // The policy decides; it picks no exit code and words no command (cli/ does both).
  ok(!("exitCode" in decision), "the policy picked an exit code");
  ok(
    !/siftrust (sign|key|verify|check) /.test(JSON.stringify(decision)),
    "the policy words a command",
  );
  return {
    ...decision,
    exitCode: decisionExitCode(decision),
    reasons: reasonTexts(decision),
    hints: decision.hints.map((hint) => hintText(hint, decision)),
    policyReasons: decision.reasons,
    policyHints: decision.hints,
  };
}

/** Decides an image under a policy file, in-process (no cache). */
async function decide(policyPath: string, image: string, now?: Date): Promise<Reported> {
  const policy = await loadPolicy(policyPath);
  const keys = await policyKeys(policy, NO_ENV, () => {
    throw new Error("an offline policy asked for keyservers");
  });
  return reported((await checkImage(image, { policy, keys, now })).decision);
}

/** Writes a policy with these fields and decides the image under it. */
async function decideWith(
  dir: string,
  image: string,
  fields: Record<string, unknown>,
  now?: Date,
): Promise<Reported> {
  return await decide(await writePolicy(dir, fields, `p-${crypto.randomUUID()}.yaml`), image, now);
}

function assertAllowed(decision: Reported): void {
  assertEquals(
    [decision.decision, decision.exitCode],
    ["allow", 0],
    `expected allow:\n${JSON.stringify(decision, null, 2)}`,
  );
}

function assertDenied(decision: Reported, exitCode = 1): void {
  assertEquals(
    [decision.decision, decision.exitCode],
    ["deny", exitCode],
    `expected deny (exit ${exitCode}):\n${JSON.stringify(decision, null, 2)}`,
  );
  ok(decision.reasons.length > 0, "a deny says why");
}

const verdict = (decision: Reported, id: number): SignatureVerdict =>
  decision.signatures.find((s) => s.id === id)!;

// ---------------------------------------------------------------------------------------------
// signed-by

Deno.test("any-of: one signer of the list suffices; a declared signer off the list does not", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice, bob, carol]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, bob);
  assertAllowed(
    await decideWith(l.dir, image, { require: { "signed-by": { "any-of": ["alice", "bob"] } } }),
  );
  // The default signed-by is any of every declared signer.
  assertAllowed(await decideWith(l.dir, image, {}));
  const onlyAlice = await decideWith(l.dir, image, {
    require: { "signed-by": { "any-of": ["alice", "carol"] } },
  });
  assertDenied(onlyAlice);
  ok(onlyAlice.signatures.every((s) => s.trusted && s.signerName === "bob"));
  match(onlyAlice.reasons.join("\n"), /group 1: trusted signatures by bob; it needs any of alice/);
});

Deno.test("all-of: every signer of the list must sign every required group", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice, bob, carol]);
  const image = await makeImage(`${l.dir}/image.sif`);
  const fields = { require: { "signed-by": { "all-of": ["alice", "bob"] } } };
  await sign(image, alice);
  assertDenied(await decideWith(l.dir, image, fields));
  await sign(image, bob, { groups: [1] });
  const half = await decideWith(l.dir, image, fields);
  assertDenied(half);
  assertEquals(half.reasons.length, 1, half.reasons.join("\n"));
  match(half.reasons[0], /group 2/);
  await sign(image, bob, { groups: [2] });
  assertAllowed(await decideWith(l.dir, image, fields));
});

Deno.test("threshold: N distinct signers of the list; two signatures by one signer count once", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice, bob, carol, mallory]);
  const image = await makeImage(`${l.dir}/image.sif`);
  const fields = { require: { "signed-by": { threshold: 2, of: ["alice", "bob", "carol"] } } };
  await sign(image, alice);
  await sign(image, alice);
  await sign(image, mallory);
  const twice = await decideWith(l.dir, image, fields);
  assertDenied(twice);
  assertEquals(twice.signatures.filter((s) => s.trusted).length, 4, "four trusted signatures");
  await sign(image, carol);
  assertAllowed(await decideWith(l.dir, image, fields));
  assertDenied(
    await decideWith(l.dir, image, {
      require: { "signed-by": { threshold: 3, of: ["alice", "bob", "carol"] } },
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// groups and unsigned objects

Deno.test("groups: a list checks those groups; all checks every group; a missing group denies", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice, { groups: [1] });
  assertAllowed(
    await decideWith(l.dir, image, { require: { groups: [1], "unsigned-objects": "allow" } }),
  );
  const all = await decideWith(l.dir, image, {
    require: { groups: "all", "unsigned-objects": "allow" },
  });
  assertDenied(all);
  match(all.reasons.join("\n"), /group 2/);
  const absent = await decideWith(l.dir, image, {
    require: { groups: [1, 3], "unsigned-objects": "allow" },
  });
  assertDenied(absent);
  match(absent.reasons.join("\n"), /no group 3/);
});

Deno.test("unsigned-objects: deny also requires a second, unlisted group to be signed", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice, { groups: [1] });
  const denied = await decideWith(l.dir, image, {
    require: { groups: [1], "unsigned-objects": "deny" },
  });
  assertDenied(denied);
  match(denied.reasons.join("\n"), /group 2/);
  // deny is the default.
  assertDenied(await decideWith(l.dir, image, { require: { groups: [1] } }));
});

Deno.test("unsigned-objects: an object in no group denies under deny, not under allow", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`, { ungrouped: true });
  await sign(image, alice);
  const denied = await decideWith(l.dir, image, {});
  assertDenied(denied);
  match(denied.reasons.join("\n"), /object 4/);
  assertAllowed(await decideWith(l.dir, image, { require: { "unsigned-objects": "allow" } }));
  assertAllowed(
    await decideWith(l.dir, image, { require: { groups: [1, 2], "unsigned-objects": "allow" } }),
  );
});

Deno.test("an object added to a signed group after signing denies the image", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice);
  assertAllowed(await decideWith(l.dir, image, {}));
  {
    using writable = await SifImage.open(image, { write: true });
    await appendObject(writable, {
      dataType: DataType.GenericJSON,
      data: text('{"late":true}'),
      groupId: 2,
    });
  }
  assertDenied(await decideWith(l.dir, image, {}));
});

// ---------------------------------------------------------------------------------------------
// legacy signatures (Debian's corpus, signed by the reference key)

peerTest(
  "legacy signatures are ignored by default and accepted with legacy: true",
  [REFERENCE_IMAGES, REFERENCE_KEY],
  async () => {
    await using l = await lab();
    const policy = (legacy?: boolean) =>
      writePolicy(l.dir, {
        signers: { ref: { fingerprint: REFERENCE_FP } },
        keys: { files: [REFERENCE_KEY], local: false, offline: true },
        ...(legacy === undefined ? {} : { require: { legacy } }),
      }, `legacy-${legacy}.yaml`);
    const image = `${REFERENCE_IMAGES}/one-group-signed-legacy-group.sif`;
    const ignored = await decide(await policy(), image);
    assertDenied(ignored);
    assertEquals(ignored.signatures.map((s) => [s.type, s.authenticity, s.trusted]), [
      ["legacy", "not-checked", false],
    ]);
    match(ignored.hints.join("\n"), /legacy: true/);
    assertDenied(await decide(await policy(false), image));

    const accepted = await decide(await policy(true), image);
    assertAllowed(accepted);
    assertEquals(accepted.signatures.map((s) => [s.type, s.signerName, s.trusted]), [
      ["legacy", "ref", true],
    ]);
    // Current signatures need no legacy: true.
    assertAllowed(await decide(await policy(), `${REFERENCE_IMAGES}/one-group-signed.sif`));
    // Legacy signatures of single objects do not cover group 1 (objects 1 and 2).
    assertDenied(
      await decide(await policy(true), `${REFERENCE_IMAGES}/one-group-signed-legacy-all.sif`),
    );
    // Only group 1 is signed: group 2 denies, unless only group 1 is required.
    const two = `${REFERENCE_IMAGES}/two-groups-signed-legacy-group.sif`;
    assertDenied(await decide(await policy(true), two));
    assertAllowed(
      await decideWith(l.dir, two, {
        signers: { ref: { fingerprint: REFERENCE_FP } },
        keys: { files: [REFERENCE_KEY], local: false, offline: true },
        require: { legacy: true, groups: [1], "unsigned-objects": "allow" },
      }),
    );
  },
);

// ---------------------------------------------------------------------------------------------
// trust: expiry, revocation, missing keys

Deno.test("a signer whose expires has passed is not trusted; the expires day itself still is", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice);
  const past = await decideWith(l.dir, image, {
    signers: { ...SIGNERS, alice: { fingerprint: fp(alice), expires: "2020-01-01" } },
  });
  assertDenied(past);
  assertEquals(past.signatures.map((s) => [s.signerName, s.authenticity, s.trusted]), [
    ["alice", "untrusted-signer", false],
    ["alice", "untrusted-signer", false],
  ]);
  match(past.hints.join("\n"), /expires/);
  const until = {
    signers: { ...SIGNERS, alice: { fingerprint: fp(alice), expires: "2099-06-30" } },
  };
  assertAllowed(await decideWith(l.dir, image, until));
  assertAllowed(await decideWith(l.dir, image, until, new Date("2099-06-30T23:59:59Z")));
  assertDenied(await decideWith(l.dir, image, until, new Date("2099-07-01T00:00:01Z")));
});

Deno.test("a revoked key and an expired key are not trusted", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [retiredRevoked, lapsed, alice]);
  const signers = {
    ...SIGNERS,
    retired: { fingerprint: fp(retired) },
    lapsed: { fingerprint: fp(lapsed) },
  };
  const revokedImage = await makeImage(`${l.dir}/revoked.sif`);
  await sign(revokedImage, retired, { date: new Date(Date.now() - 9 * DAY) });
  const revoked = await decideWith(l.dir, revokedImage, { signers });
  assertDenied(revoked, 1);
  assertEquals(revoked.signatures.map((s) => [s.signerName, s.authenticity, s.trusted]), [
    ["retired", "revoked", false],
    ["retired", "revoked", false],
  ]);
  const expiredImage = await makeImage(`${l.dir}/expired.sif`);
  await sign(expiredImage, lapsed, { date: new Date(tenDaysAgo.getTime() + DAY / 2) });
  const expired = await decideWith(l.dir, expiredImage, { signers });
  assertDenied(expired, 1);
  assertEquals(expired.signatures.map((s) => [s.signerName, s.authenticity, s.trusted]), [
    ["lapsed", "expired", false],
    ["lapsed", "expired", false],
  ]);
  // A trusted co-signature does not cover a revoked one: the reference's verify refuses the
  // image, so the policy does too.
  await sign(revokedImage, alice);
  const both = await decideWith(l.dir, revokedImage, { signers });
  assertDenied(both, 1);
  assertEquals(both.policyReasons.map((r) => r.kind), ["signature-fails", "signature-fails"]);
  match(
    both.reasons.join("\n"),
    /signature 4 \(retired\) fails: made by retired, whose key is revoked/,
  );
});

Deno.test("a declared signer's key that cannot be had exits 4; an undeclared one's exits 1", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const byBob = await makeImage(`${l.dir}/bob.sif`);
  await sign(byBob, bob);
  const missing = await decideWith(l.dir, byBob, {});
  assertDenied(missing, 4);
  assertEquals(
    missing.signatures.map((s) => [s.signer, s.signerName, s.authenticity, s.trusted]),
    [[fp(bob), "bob", "key-unavailable", false], [fp(bob), "bob", "key-unavailable", false]],
  );
  match(missing.hints.join("\n"), new RegExp(`siftrust key pull ${fp(bob)}`));
  // The policy names the signer and the key (once, though two signatures lack it).
  assertEquals(missing.keyUnavailable, true);
  assertEquals(
    missing.policyHints.filter((h) => h.kind === "key-unavailable"),
    [{ kind: "key-unavailable", signer: "bob", fingerprint: fp(bob) }],
  );

  const byMallory = await makeImage(`${l.dir}/mallory.sif`);
  await sign(byMallory, mallory);
  const unknown = await decideWith(l.dir, byMallory, {});
  assertDenied(unknown, 1);
  assertEquals(
    unknown.signatures.map((s) => [s.signer, s.signerName, s.authenticity, s.trusted]),
    [[fp(mallory), null, "unknown-key", false], [fp(mallory), null, "unknown-key", false]],
  );

  // With alice's trusted signature too: any-of allows; all-of [alice, bob] needs bob's key: 4.
  await sign(byBob, alice);
  assertAllowed(await decideWith(l.dir, byBob, {}));
  assertDenied(
    await decideWith(l.dir, byBob, { require: { "signed-by": { "all-of": ["alice", "bob"] } } }),
    4,
  );
});

Deno.test("a declared signer's key on no reachable keyserver exits 4", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, bob);
  const policy = await writePolicy(l.dir, {
    keys: {
      files: ["keyring.gpg"],
      local: false,
      keyservers: [{ uri: "http://127.0.0.1:9", insecure: true }],
    },
  });
  const result = await runCli(["check", "--json", "--policy", policy, image], { env: l.env });
  assertEquals(result.code, 4, result.stderr);
  const [decision] = JSON.parse(result.stdout).results;
  assertEquals(decision.decision, "deny");
  ok(
    decision.signatures.every((s: SignatureVerdict) => s.authenticity === "key-unavailable"),
    result.stdout,
  );
});

Deno.test("a signature whose descriptor names another fingerprint than its signer's is not trusted", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice, bob]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice);
  // Swap alice's fingerprint in the signature descriptors for bob's.
  let end: number;
  {
    using sif = await SifImage.open(image);
    end = sif.header.dataOffset;
  }
  const bytes = await Deno.readFile(image);
  const from = alice.keyPacket.getFingerprintBytes()!;
  const to = bob.keyPacket.getFingerprintBytes()!;
  let swapped = 0;
  for (let i = 0; i + from.length <= end; i++) {
    if (from.every((b, j) => bytes[i + j] === b)) {
      bytes.set(to, i);
      swapped++;
    }
  }
  assertEquals(swapped, 2, "both signature descriptors hold alice's fingerprint");
  await Deno.writeFile(image, bytes);
  const decision = await decideWith(l.dir, image, {});
  assertDenied(decision);
  ok(decision.signatures.every((s) => !s.trusted && s.authenticity === "bad-signature"));
});

// ---------------------------------------------------------------------------------------------
// integrity, co-signatures, partial and DSSE signatures

Deno.test("an integrity mismatch denies whoever signed, even an untrusted or unknown signer", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  await writeKeyring(`${l.dir}/with-mallory.gpg`, [alice, mallory]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice, { groups: [1] });
  await sign(image, mallory, { groups: [2] });
  const onlyGroup1 = { groups: [1], "unsigned-objects": "allow" };
  const unknownKey = { require: onlyGroup1 };
  const untrusted = {
    require: onlyGroup1,
    keys: { files: ["with-mallory.gpg"], local: false, offline: true },
  };
  const before = [
    await decideWith(l.dir, image, unknownKey),
    await decideWith(l.dir, image, untrusted),
  ];
  for (const decision of before) assertAllowed(decision);
  assertEquals(before.map((d) => verdict(d, 5).authenticity), ["unknown-key", "untrusted-signer"]);

  await tamper(image, 3); // group 2's JSON, which only mallory signed
  for (const fields of [unknownKey, untrusted]) {
    const after = await decideWith(l.dir, image, fields);
    assertDenied(after);
    assertEquals(verdict(after, 4).trusted, true, "alice's signature still holds");
    assertEquals([verdict(after, 5).integrity, verdict(after, 5).trusted], ["mismatch", false]);
    match(after.reasons.join("\n"), /object 3/);
    match(after.reasons.join("\n"), /changed after it was signed/);
  }
});

Deno.test("an integrity mismatch under a trusted signer denies", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice);
  await tamper(image, 2);
  const decision = await decideWith(l.dir, image, {});
  assertDenied(decision);
  assertEquals(verdict(decision, 4).integrity, "mismatch");
  assertEquals(verdict(decision, 4).trusted, false);
});

Deno.test("co-signatures by unknown or undeclared keys never break a trusted one", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  await writeKeyring(`${l.dir}/with-mallory.gpg`, [alice, mallory]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, mallory);
  await sign(image, alice);
  await sign(image, carol);
  const unknown = await decideWith(l.dir, image, {});
  assertAllowed(unknown);
  assertEquals(
    unknown.signatures.map((s) => [s.signerName, s.authenticity, s.trusted]),
    [
      [null, "unknown-key", false],
      [null, "unknown-key", false],
      ["alice", "ok", true],
      ["alice", "ok", true],
      ["carol", "key-unavailable", false],
      ["carol", "key-unavailable", false],
    ],
  );
  const undeclared = await decideWith(l.dir, image, {
    keys: { files: ["with-mallory.gpg"], local: false, offline: true },
  });
  assertAllowed(undeclared);
  assertEquals(verdict(undeclared, 4).authenticity, "untrusted-signer");
});

Deno.test("a signature of some objects of a group (sign --sif-id) does not satisfy the group", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice, { objects: [2, 3] }); // object 2 of group 1, and all of group 2
  const decision = await decideWith(l.dir, image, {});
  assertDenied(decision);
  assertEquals(decision.signatures.map((s) => [s.group, s.objects, s.trusted]), [
    [1, [2], true],
    [2, [3], true],
  ]);
  assertEquals(decision.reasons.length, 1, decision.reasons.join("\n"));
  match(decision.reasons[0], /group 1/);
  match(decision.hints.join("\n"), /siftrust sign --group-id 1/);
  assertAllowed(
    await decideWith(l.dir, image, { require: { groups: [2], "unsigned-objects": "allow" } }),
  );
});

peerTest(
  "images signed by the reference: whole groups satisfy, some objects of a group do not",
  ["go", REFERENCE_IMAGES, REFERENCE_KEY],
  async () => {
    await using l = await lab();
    const whole = await makeImage(`${l.dir}/whole.sif`);
    const partial = await makeImage(`${l.dir}/partial.sif`);
    await referenceSign(whole, { key: REFERENCE_KEY });
    await referenceSign(partial, { key: REFERENCE_KEY, objects: [[1]], groups: [2] });
    const fields = {
      signers: { ...SIGNERS, ref: { fingerprint: REFERENCE_FP } },
      keys: { files: [REFERENCE_KEY], local: false, offline: true },
      require: { "signed-by": { "all-of": ["ref"] } },
    };
    const allowed = await decideWith(l.dir, whole, fields);
    assertAllowed(allowed);
    assertEquals(allowed.signatures.map((s) => [s.type, s.signer, s.keySource, s.trusted]), [
      ["pgp", REFERENCE_FP, "file", true],
      ["pgp", REFERENCE_FP, "file", true],
    ]);
    const denied = await decideWith(l.dir, partial, fields);
    assertDenied(denied);
    match(denied.reasons.join("\n"), /group 1/);
    match(denied.hints.join("\n"), /siftrust sign --group-id 1/);
  },
);

Deno.test("DSSE signatures are reported, not checked, and ignored", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  const { privateKey } = generateKeyPairSync("ed25519");
  {
    using writable = await SifImage.open(image, { write: true });
    await signImage(writable, { kind: "dsse", key: privateKey });
  }
  const dsseOnly = await decideWith(l.dir, image, {});
  assertDenied(dsseOnly);
  assertEquals(dsseOnly.signatures.map((s) => [s.type, s.group, s.authenticity, s.trusted]), [
    ["dsse", 1, "not-checked", false],
    ["dsse", 2, "not-checked", false],
  ]);
  match(dsseOnly.hints.join("\n"), /DSSE/);
  await sign(image, alice);
  assertAllowed(await decideWith(l.dir, image, {}));
});

// ---------------------------------------------------------------------------------------------
// rules by path

Deno.test("rules: the first match wins; ** spans folders, * one segment; action needs no signature", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const root = l.dir;
  for (const folder of ["apps", "flat/sub", "deep/a/b", "z", "other"]) {
    await Deno.mkdir(`${root}/${folder}`, { recursive: true });
  }
  const signed = await makeImage(`${root}/apps/signed.sif`);
  await sign(signed, alice);
  const unsigned = async (path: string) => await makeImage(`${root}/${path}`);
  const policy = await writePolicy(root, {
    rules: [
      { name: "blocked", paths: [`${root}/apps/**`], action: "deny" },
      { name: "apps-flat", paths: [`${root}/apps/*.sif`], action: "allow" },
      { name: "flat", paths: [`${root}/flat/*.sif`], action: "allow" },
      { name: "deep", paths: [`${root}/deep/**`], action: "allow" },
      { name: "zero", paths: [`${root}/nothing/**`, `${root}/z/**/*.sif`], action: "allow" },
      {
        name: "strict",
        paths: [`${root}/other/*.sif`],
        require: { "signed-by": { "all-of": ["alice", "bob"] } },
      },
    ],
  });
  const expect = async (image: string, rule: string, decision: string, exitCode: number) => {
    const d = await decide(policy, image);
    assertEquals([d.rule, d.decision, d.exitCode], [rule, decision, exitCode], image);
    return d;
  };
  // Denied by the first rule though signed, without looking at signatures.
  const blocked = await expect(signed, "blocked", "deny", 1);
  assertEquals(blocked.signatures, []);
  match(blocked.reasons.join("\n"), /blocked/);
  // Allowed though unsigned (and even tampered).
  const flat = await unsigned("flat/a.sif");
  await tamper(flat, 2);
  assertEquals((await expect(flat, "flat", "allow", 0)).signatures, []);
  await expect(await unsigned("flat/sub/b.sif"), "default", "deny", 1);
  await expect(await unsigned("deep/a/b/c.sif"), "deep", "allow", 0);
  await expect(await unsigned("z/a.sif"), "zero", "allow", 0);
  await expect(await unsigned("z.sif"), "default", "deny", 1);
  const strict = await makeImage(`${root}/other/x.sif`);
  await sign(strict, alice);
  await expect(strict, "strict", "deny", 1);
  // The same image outside any rule falls to the top-level require.
  await Deno.copyFile(strict, `${root}/x.sif`);
  await expect(`${root}/x.sif`, "default", "allow", 0);
});

Deno.test("rules judge a symlink by its target's real path, both ways (CLI)", async () => {
  await using l = await lab();
  const root = l.dir;
  await writeKeyring(`${root}/keyring.gpg`, [alice]);
  for (const folder of ["scratch", "blocked", "elsewhere", "good"]) {
    await Deno.mkdir(`${root}/${folder}`);
  }
  const outside = await makeImage(`${root}/elsewhere/unsigned.sif`);
  const good = await makeImage(`${root}/good/signed.sif`);
  await sign(good, alice);
  await Deno.symlink(outside, `${root}/scratch/innocent.sif`);
  await Deno.symlink(`${root}/elsewhere`, `${root}/scratch/linked-folder`);
  await Deno.symlink(good, `${root}/blocked/good.sif`);
  const policy = await writePolicy(root, {
    rules: [
      { name: "scratch", paths: [`${root}/scratch/**`], action: "allow" },
      { name: "blocked", paths: [`${root}/blocked/**`], action: "deny" },
    ],
  });
  const inputs = [
    `${root}/scratch/innocent.sif`,
    `${root}/scratch/linked-folder/unsigned.sif`,
    `${root}/blocked/good.sif`,
  ];
  const result = await runCli(["check", "--json", "--policy", policy, ...inputs], { env: l.env });
  assertEquals(result.code, 1, result.stderr);
  const results = JSON.parse(result.stdout).results;
  assertEquals(
    results.map((r: Reported) => [r.image, r.rule, r.decision]),
    [
      [outside, "default", "deny"],
      [outside, "default", "deny"],
      [good, "default", "allow"],
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// the CLI: modes, several images, bad images, --json, --explain

Deno.test("mode: warn reports a deny and exits 0", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const unsigned = await makeImage(`${l.dir}/unsigned.sif`);
  const byBob = await makeImage(`${l.dir}/bob.sif`);
  await sign(byBob, bob);
  const policy = await writePolicy(l.dir, { mode: "warn" });
  const textRun = await runCli(["check", "--policy", policy, unsigned], { env: l.env });
  assertEquals(textRun.code, 0, textRun.stderr);
  match(textRun.stdout, /^DENY .*unsigned\.sif.*warn mode/m);
  const jsonRun = await runCli(["check", "--json", "--policy", policy, unsigned, byBob], {
    env: l.env,
  });
  assertEquals(jsonRun.code, 0, jsonRun.stderr);
  const doc = JSON.parse(jsonRun.stdout);
  assertEquals(doc.policy.mode, "warn");
  assertEquals(
    doc.results.map((r: Reported) => [r.decision, r.exitCode]),
    [["deny", 0], ["deny", 0]],
  );
});

Deno.test("invalid and unreadable images are decision error, exit 3", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const good = await makeImage(`${l.dir}/good.sif`);
  await sign(good, alice);
  const bytes = await Deno.readFile(good);
  // Each with the kind of error the reader reports (a SifError kind, or not-found).
  const cases: Record<string, [Uint8Array | null, string]> = {
    "junk.sif": [text("#!/bin/sh\necho not a SIF at all\n".repeat(10)), "invalid"],
    "empty.sif": [new Uint8Array(0), "invalid"],
    "truncated.sif": [bytes.subarray(0, 200), "invalid"],
    "missing.sif": [null, "not-found"],
  };
  const policy = await writePolicy(l.dir);
  for (const [name, [content, kind]] of Object.entries(cases)) {
    if (content !== null) await Deno.writeFile(`${l.dir}/${name}`, content);
    const decision = await decide(policy, `${l.dir}/${name}`);
    assertEquals([decision.decision, decision.exitCode], ["error", 3], name);
    ok(decision.reasons.length > 0 && decision.reasons[0].length > 0, name);
    assertEquals(decision.policyReasons.map((r) => [r.kind, "error" in r && r.error]), [
      ["bad-image", kind],
    ], name);
  }
  const result = await runCli(["check", "--policy", policy, `${l.dir}/junk.sif`], {
    env: l.env,
  });
  assertEquals(result.code, 3, result.stderr);
  match(result.stdout, /^ERROR {2}.*junk\.sif: /m);
});

Deno.test("several images: the exit code is the highest, JSON results in input order", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const allowed = await makeImage(`${l.dir}/allowed.sif`);
  await sign(allowed, alice);
  const allowedToo = await makeImage(`${l.dir}/allowed-too.sif`);
  await sign(allowedToo, alice);
  const denied = await makeImage(`${l.dir}/denied.sif`);
  const keyless = await makeImage(`${l.dir}/keyless.sif`);
  await sign(keyless, bob);
  const broken = `${l.dir}/broken.sif`;
  await Deno.writeTextFile(broken, "not a SIF");
  const policy = await writePolicy(l.dir);
  const run = async (...images: string[]) => {
    const result = await runCli(["check", "--json", "-j", "3", "--policy", policy, ...images], {
      env: l.env,
    });
    const doc = JSON.parse(result.stdout);
    return { code: result.code, results: doc.results as Reported[] };
  };
  const everything = await run(denied, broken, allowed, keyless, allowedToo);
  assertEquals(everything.code, 4);
  assertEquals(
    everything.results.map((r) => [r.image, r.decision, r.exitCode]),
    [
      [denied, "deny", 1],
      [broken, "error", 3],
      [allowed, "allow", 0],
      [keyless, "deny", 4],
      [allowedToo, "allow", 0],
    ],
  );
  assertEquals((await run(allowed, broken, denied)).code, 3);
  assertEquals((await run(denied, allowed)).code, 1);
  const text = await runCli(["check", "--policy", policy, allowed, denied], { env: l.env });
  assertEquals(text.code, 1);
  match(
    text.stdout,
    /^ALLOW {2}.*allowed\.sif.*\nDENY {3}.*denied\.sif.*\n2 images: 1 allowed, 1 denied, 0 not readable\n$/,
  );
});

Deno.test("--json prints the contract's fields", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, alice, { groups: [1] });
  await sign(image, bob, { groups: [2] });
  const policy = await writePolicy(l.dir);
  // From another folder: keyring.gpg is found beside the policy.
  const result = await runCli(["check", "--json", "--policy", policy, image], {
    env: l.env,
    cwd: "/",
  });
  assertEquals(result.code, 4, result.stderr);
  const doc = JSON.parse(result.stdout);
  assertEquals(Object.keys(doc).sort(), ["policy", "results"]);
  assertEquals(doc.policy.path, policy);
  match(doc.policy.digest, /^[0-9a-f]{64}$/);
  assertEquals(doc.results.length, 1);
  const [r] = doc.results;
  for (const field of ["image", "decision", "exitCode", "rule", "reasons", "signatures"]) {
    ok(field in r, `results[].${field}`);
  }
  assertEquals([r.image, r.decision, r.exitCode, r.rule], [image, "deny", 4, "default"]);
  ok(r.reasons.length > 0 && r.reasons.every((s: unknown) => typeof s === "string"));
  const fields = [
    "id",
    "type",
    "objects",
    "signer",
    "signerName",
    "keySource",
    "integrity",
    "authenticity",
    "trusted",
  ];
  for (const s of r.signatures) {
    for (const field of fields) ok(field in s, `signatures[].${field}`);
    ok("group" in s || "object" in s, "signatures[].group or object");
  }
  const pick = (
    s: Record<string, unknown>,
  ) => [
    s.id,
    s.type,
    s.group,
    s.objects,
    s.signer,
    s.signerName,
    s.keySource,
    s.integrity,
    s.authenticity,
    s.trusted,
  ];
  assertEquals(r.signatures.map(pick), [
    [4, "pgp", 1, [1, 2], fp(alice), "alice", "file", "ok", "ok", true],
    [5, "pgp", 2, [3], fp(bob), "bob", null, "ok", "key-unavailable", false],
  ]);
});

Deno.test("--explain shows each signature, each requirement and a hint that acts", async () => {
  await using l = await lab();
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const image = await makeImage(`${l.dir}/image.sif`);
  await sign(image, bob, { groups: [1] });
  const policy = await writePolicy(l.dir);
  const result = await runCli(["check", "--explain", "--policy", policy, image], { env: l.env });
  assertEquals(result.code, 4, result.stderr);
  const out = result.stdout;
  match(out, new RegExp(`^${image}: DENY`, "m"));
  match(out, /signature 4 .*group 1.*bob.*key-unavailable/);
  match(out, /\[FAIL\] group 1/);
  match(out, /\[FAIL\] group 2/);
  match(out, new RegExp(`siftrust key pull ${fp(bob)}`));
  match(out, /siftrust sign --group-id 2/);

  await sign(image, alice);
  const allowedRun = await runCli(["check", "--explain", "--policy", policy, image], {
    env: l.env,
  });
  assertEquals(allowedRun.code, 0, allowedRun.stderr);
  match(allowedRun.stdout, /ALLOW/);
  match(allowedRun.stdout, /\[pass\] group 1/);
  match(allowedRun.stdout, /\[pass\] group 2/);
  match(allowedRun.stdout, /TRUSTED/);
});
