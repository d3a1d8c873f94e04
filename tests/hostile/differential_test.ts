/**
 * Differential test: the reference library's verify (default mode, a keyring holding every
 * signer's key) against `check` under a policy that declares every signer, with the default
 * requirement. Over a corpus of crafted images, wherever the reference says FAIL, `check` must
 * not allow (docs/policy.md, "How an image is decided").
 *
 * Images are built and signed by the reference harness (tests/interop/sifref), then changed
 * the way an attacker could: objects added, bytes swapped or flipped.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import * as openpgp from "openpgp";
import { checkImage, type ImageDecision, loadPolicy, policyKeys } from "../../policy/mod.ts";
import { type TempDir, tempDir } from "../helpers/env.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import {
  addObject,
  buildImage,
  type SifrefBuildSpec,
  signImage,
  verifyImage,
} from "../helpers/sifref.ts";

async function newKey(name: string): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name}@siftrust.test` }],
    format: "object",
  });
  return privateKey;
}

const fp = (key: openpgp.PrivateKey) => key.getFingerprint().toUpperCase();

/** Two data objects in group 1 and one in group 2. */
const TWO_GROUPS: SifrefBuildSpec = {
  launchScript: "#!/usr/bin/env run-singularity\n",
  objects: [
    { type: "deffile", data: "Bootstrap: scratch\n" },
    { type: "genericjson", data: '{"one":1}', name: "one.json" },
    { type: "genericjson", data: '{"two":2}', name: "two.json", group: 2 },
  ],
};

/** One data object in group 1. */
const ONE_GROUP: SifrefBuildSpec = {
  launchScript: "#!/usr/bin/env run-singularity\n",
  objects: [{ type: "deffile", data: "Bootstrap: scratch\n" }],
};

interface Lab {
  dir: string;
  /** Armored secret key files. */
  aliceKey: string;
  bobKey: string;
  alice: openpgp.PrivateKey;
  bob: openpgp.PrivateKey;
}

/** One corpus image: how to make it, and what the reference says of it. */
interface Case {
  name: string;
  make(lab: Lab, path: string): Promise<void>;
  /** The reference's verdict, asserted so that the corpus stays meaningful. */
  reference: "pass" | "fail";
  /** Keys in the keyring and the policy (default: alice and bob). */
  keys?: ("alice" | "bob")[];
}

/** Replaces every occurrence of `from` by `to` in the descriptor area of an image. */
async function swapBytes(path: string, from: Uint8Array, to: Uint8Array): Promise<number> {
  const bytes = await Deno.readFile(path);
  let swapped = 0;
  for (let i = 0; i + from.length <= Math.min(bytes.length, 1 << 16); i++) {
    if (from.every((b, j) => bytes[i + j] === b)) {
      bytes.set(to, i);
      swapped++;
    }
  }
  await Deno.writeFile(path, bytes);
  return swapped;
}

/** Flips one byte of the last occurrence of `marker` (plus `skip`) in the file. */
async function flipAfter(path: string, marker: string, skip: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  const text = new TextDecoder("latin1").decode(bytes);
  const at = text.lastIndexOf(marker);
  ok(at >= 0, `${marker} not found`);
  bytes[at + marker.length + skip] ^= 0x01;
  await Deno.writeFile(path, bytes);
}

async function dataFile(lab: Lab, text: string): Promise<string> {
  const path = `${lab.dir}/data-${crypto.randomUUID()}`;
  await Deno.writeTextFile(path, text);
  return path;
}

const CORPUS: Case[] = [
  {
    name: "signed by alice (control)",
    reference: "pass",
    make: async (lab, path) => {
      await buildImage(path, TWO_GROUPS);
      await signImage(path, { key: lab.aliceKey });
    },
  },
  {
    name: "no objects at all",
    reference: "fail",
    make: async (_lab, path) => {
      await buildImage(path, { objects: [] });
    },
  },
  {
    name: "a group holding only a signature-typed object",
    reference: "fail",
    make: async (_lab, path) => {
      await buildImage(path, {
        objects: [{ type: "signature", data: "not a signature", group: 1, linkGroup: 1 }],
      });
    },
  },
  {
    name: "a signed group, then a signature-typed object added to it",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, TWO_GROUPS);
      await signImage(path, { key: lab.aliceKey });
      await addObject(path, await dataFile(lab, "junk"), { type: "signature", group: 1 });
    },
  },
  {
    name: "a signature-typed object linked to and inside its own group",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.aliceKey });
      await addObject(path, await dataFile(lab, "junk"), {
        type: "signature",
        group: 2,
        linkGroup: 2,
      });
    },
  },
  {
    name: "two groups, one signed",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, TWO_GROUPS);
      await signImage(path, { key: lab.aliceKey, groups: [1] });
    },
  },
  {
    name: "an object in no group beside a signed group",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, {
        ...ONE_GROUP,
        objects: [...ONE_GROUP.objects!, { type: "genericjson", data: "{}", group: 0 }],
      });
      await signImage(path, { key: lab.aliceKey });
    },
  },
  {
    name: "a signature of a subset of the group",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, TWO_GROUPS);
      await signImage(path, { key: lab.aliceKey, objects: [[1]] });
      await signImage(path, { key: lab.aliceKey, groups: [2] });
    },
  },
  {
    name: "an uncovered signature object of garbage linked to a signed group",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.aliceKey });
      await addObject(path, await dataFile(lab, "not a signature"), {
        type: "signature",
        group: 0,
        linkGroup: 1,
      });
    },
  },
  {
    name: "a co-signature by bob whose signature bytes were damaged",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.aliceKey });
      await signImage(path, { key: lab.bobKey });
      // Inside the base64 of the last (bob's) signature packet.
      await flipAfter(path, "-----BEGIN PGP SIGNATURE-----\n\n", 60);
    },
  },
  {
    name: "bob's signature whose descriptor names alice (both keys at hand)",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.bobKey });
      const swapped = await swapBytes(
        path,
        lab.bob.keyPacket.getFingerprintBytes()!,
        lab.alice.keyPacket.getFingerprintBytes()!,
      );
      assertEquals(swapped, 1);
    },
  },
  {
    name: "bob's signature whose descriptor names alice (only alice's key at hand)",
    reference: "fail",
    keys: ["alice"],
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.bobKey });
      await swapBytes(
        path,
        lab.bob.keyPacket.getFingerprintBytes()!,
        lab.alice.keyPacket.getFingerprintBytes()!,
      );
    },
  },
  {
    name: "a signature descriptor naming no known hash algorithm",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.aliceKey });
      // The descriptor's Extra: the hash type (int32, little-endian), then the fingerprint.
      const fingerprint = lab.alice.keyPacket.getFingerprintBytes()!;
      const withType = Uint8Array.of(1, 0, 0, 0, ...fingerprint);
      assertEquals(await swapBytes(path, withType, Uint8Array.of(9, 0, 0, 0, ...fingerprint)), 1);
    },
  },
  {
    name: "a signed image whose data changed after signing",
    reference: "fail",
    make: async (lab, path) => {
      await buildImage(path, ONE_GROUP);
      await signImage(path, { key: lab.aliceKey });
      await flipAfter(path, "Bootstrap: ", 0);
    },
  },
  {
    name: "signed by alice and bob (control)",
    reference: "pass",
    make: async (lab, path) => {
      await buildImage(path, TWO_GROUPS);
      await signImage(path, { key: lab.aliceKey });
      await signImage(path, { key: lab.bobKey });
    },
  },
];

async function writeKeyring(path: string, keys: openpgp.PrivateKey[]): Promise<void> {
  await Deno.writeFile(path, Uint8Array.from(keys.flatMap((k) => [...k.toPublic().write()])));
}

/** `check`'s decision under a policy declaring `keys`, with the default requirement. */
async function decide(
  box: TempDir,
  lab: Lab,
  image: string,
  names: ("alice" | "bob")[],
): Promise<ImageDecision> {
  const keys = { alice: lab.alice, bob: lab.bob };
  const keyring = `${box.dir}/keyring-${names.join("-")}.gpg`;
  await writeKeyring(keyring, names.map((n) => keys[n]));
  const policyPath = `${box.dir}/policy-${names.join("-")}.yaml`;
  await Deno.writeTextFile(
    policyPath,
    JSON.stringify({
      version: 1,
      signers: Object.fromEntries(names.map((n) => [n, { fingerprint: fp(keys[n]) }])),
      keys: { files: [keyring], local: false, offline: true },
    }),
  );
  const policy = await loadPolicy(policyPath);
  const policyKeySet = await policyKeys(policy, { env: {}, uid: 0, euid: 0 }, () => {
    throw new Error("an offline policy asked for keyservers");
  });
  return (await checkImage(image, { policy, keys: policyKeySet })).decision;
}

peerTest(
  "differential: wherever the reference's verify fails, check does not allow",
  ["go", REFERENCE_IMAGES],
  async () => {
    await using box = await tempDir("siftrust-differential-");
    const alice = await newKey("alice");
    const bob = await newKey("bob");
    const lab: Lab = {
      dir: box.dir,
      alice,
      bob,
      aliceKey: `${box.dir}/alice.asc`,
      bobKey: `${box.dir}/bob.asc`,
    };
    await Deno.writeTextFile(lab.aliceKey, alice.armor());
    await Deno.writeTextFile(lab.bobKey, bob.armor());
    const disagreements: string[] = [];
    for (const [i, c] of CORPUS.entries()) {
      const image = `${box.dir}/case-${i}.sif`;
      await c.make(lab, image);
      const names = c.keys ?? ["alice", "bob"];
      await writeKeyring(`${box.dir}/ref-${i}.gpg`, names.map((n) => lab[n]));
      const reference = await verifyImage(image, { keyrings: [`${box.dir}/ref-${i}.gpg`] });
      assertEquals(
        reference.ok ? "pass" : "fail",
        c.reference,
        `${c.name}: the reference says ${reference.error || "ok"}`,
      );
      const decision = await decide(box, lab, image, names);
      if (!reference.ok && decision.decision === "allow") {
        disagreements.push(`${c.name}: the reference says "${reference.error}", check allows`);
      }
      if (reference.ok) {
        assertEquals(decision.decision, "allow", `${c.name}: ${JSON.stringify(decision.reasons)}`);
      }
    }
    assertEquals(disagreements, []);
  },
);

peerTest(
  "differential: a claimed fingerprint whose key is at hand is a bad signature, never key-unavailable",
  ["go", REFERENCE_IMAGES],
  async () => {
    await using box = await tempDir("siftrust-differential-");
    const alice = await newKey("alice");
    const bob = await newKey("bob");
    const lab: Lab = {
      dir: box.dir,
      alice,
      bob,
      aliceKey: `${box.dir}/alice.asc`,
      bobKey: `${box.dir}/bob.asc`,
    };
    await Deno.writeTextFile(lab.bobKey, bob.armor());
    const claimed = CORPUS.find((c) => c.keys?.length === 1)!;
    const image = `${box.dir}/claimed.sif`;
    await claimed.make(lab, image);
    const decision = await decide(box, lab, image, ["alice"]);
    assertEquals([decision.decision, decision.keyUnavailable], ["deny", false]);
    assertEquals(decision.signatures.map((s) => [s.authenticity, s.because.kind]), [
      ["bad-signature", "claimed-fingerprint"],
    ]);
    ok(!decision.hints.some((h) => h.kind === "key-unavailable"));
  },
);
