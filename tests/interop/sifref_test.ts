/**
 * Proves the reference harness (`tests/interop/sifref`, driven by `tests/helpers/sifref.ts`)
 * does what the interop tests rely on: it rebuilds corpus images byte for byte, reports what
 * the reference library loads, and signs/verifies like Apptainer.
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import {
  addObject,
  buildImage,
  loadImage,
  sifref,
  signImage,
  verifyImage,
} from "../helpers/sifref.ts";
import { withTempDir } from "../helpers/env.ts";

const SIF_TEST = "/usr/share/gocode/src/github.com/sylabs/sif/test";
const INPUT = `${SIF_TEST}/input`;
/** The corpus signing key (Debian ships only the armored private key; it doubles as keyring). */
const CORPUS_KEY = `${SIF_TEST}/keys/private.asc`;
const CORPUS_FINGERPRINT = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84";
/** Go's zero time.Time as Unix seconds: what deterministic images store. */
const ZERO_TIME = -62135596800;
const DATA_PARTITION = 0x4004;
const DATA_SIGNATURE = 0x4005;

const REF = ["go", REFERENCE_IMAGES];

// node:assert keeps the tests free of new dependencies; std-like names read better.
const assert: (value: unknown, message?: string) => asserts value = ok;
function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}
function assertStringIncludes(actual: string, expected: string): void {
  ok(
    actual.includes(expected),
    `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
  );
}

async function copyCorpus(name: string, dir: string): Promise<string> {
  const path = join(dir, name);
  await Deno.copyFile(join(REFERENCE_IMAGES, name), path);
  return path;
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** A throw-away RSA signing key made by gpg in a private GNUPGHOME. */
interface GpgKey {
  secret: string;
  publicKeyring: string;
  fingerprint: string;
}

async function withGpgKey(dir: string, fn: (key: GpgKey) => Promise<void>): Promise<void> {
  const home = join(dir, "gnupg");
  await Deno.mkdir(home, { mode: 0o700 });
  const env = { GNUPGHOME: home };
  const gpg = ["--batch", "--pinentry-mode", "loopback", "--passphrase", ""];
  try {
    await run("gpg", [...gpg, "--quick-gen-key", "T <t@x>", "rsa2048", "sign", "never"], env);
    const secret = join(dir, "secret.asc");
    const publicKeyring = join(dir, "public.gpg");
    await Deno.writeTextFile(
      secret,
      await run("gpg", [...gpg, "--export-secret-keys", "--armor"], env),
    );
    await run("gpg", ["--batch", "--output", publicKeyring, "--export"], env);
    const colons = await run("gpg", ["--batch", "--with-colons", "--fingerprint"], env);
    const fpr = colons.split("\n").find((line) => line.startsWith("fpr:"));
    assert(fpr, "gpg printed no fingerprint");
    await fn({ secret, publicKeyring, fingerprint: fpr.split(":")[9] });
  } finally {
    // Stop the agent gpg started for this home (and only that one).
    await new Deno.Command("gpgconf", {
      args: ["--kill", "all"],
      env,
      stdout: "null",
      stderr: "null",
    })
      .output().catch(() => {});
  }
}

peerTest("sifref: build reproduces the corpus one-group.sif byte for byte", REF, async () => {
  await withTempDir(async (dir) => {
    // gen_sifs.go: a 4-byte raw system partition (faceFEED) and test/input/root.squashfs as
    // the primary system partition, both arch 386, in group 1, deterministic.
    const raw = join(dir, "raw.bin");
    await Deno.writeFile(raw, new Uint8Array([0xfa, 0xce, 0xfe, 0xed]));
    const out = join(dir, "one-group.sif");
    const built = await buildImage(out, {
      deterministic: true,
      objects: [
        { type: "partition", file: raw, partFs: 4, partType: 1, arch: "386" },
        { type: "partition", file: `${INPUT}/root.squashfs`, partFs: 1, partType: 2, arch: "386" },
      ],
    });
    assertEquals(built.ids, [1, 2]);
    const got = await Deno.readFile(out);
    const want = await Deno.readFile(join(REFERENCE_IMAGES, "one-group.sif"));
    assertEquals(got.length, want.length);
    assert(got.every((b, i) => b === want[i]), "built image differs from one-group.sif");
  });
});

peerTest("sifref: build honours the spec fields (non-deterministic)", REF, async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "fields.sif");
    const before = Math.floor(Date.now() / 1000);
    await buildImage(out, {
      launchScript: "#!/usr/bin/env run-singularity\n",
      descriptorCapacity: 8,
      objects: [
        { type: "deffile", data: "Bootstrap: scratch\n", name: "def", time: 1000 },
        { type: "partition", data: "fs!", partFs: 4, partType: 2, arch: "arm64", group: 2 },
        { type: "genericjson", data: "{}", group: 0, linkGroup: 2, alignment: 64 },
        { type: "sbom", file: `${INPUT}/sbom.cdx.json`, sbomFormat: 1, linkObject: 2 },
        { type: "cryptomessage", data: "x", formatType: 2, messageType: 0x200 },
        { type: "signature", data: "sig", hashType: 3, entity: "00ff".repeat(10) },
      ],
    });
    const img = await loadImage(out);
    const h = img.header;
    assertEquals(h.launchScript, "#!/usr/bin/env run-singularity\n");
    assertEquals(h.arch, "arm64");
    assertEquals([h.descriptorsTotal, h.descriptorsFree, h.descriptorsSize], [8, 2, 8 * 585]);
    assertEquals(h.dataOffset, 4096 + 8 * 585);
    assert(h.id !== "00000000-0000-0000-0000-000000000000");
    assert(h.createdAt >= before && h.createdAt <= before + 60);
    const d = img.descriptors;
    assertEquals(d.map((x) => x.id), [1, 2, 3, 4, 5, 6]);
    assertEquals([d[0].name, d[0].createdAt, d[0].groupId], ["def", 1000, 1]);
    assertEquals(d[1].partition, { fs: 4, partType: 2, arch: "arm64" });
    assertEquals([d[1].groupId, d[1].offset % 4096], [2, 0]);
    assertEquals([d[2].groupId, d[2].linkedId, d[2].linkedIsGroup], [0, 2, true]);
    assertEquals(d[2].offset % 64, 0);
    assertEquals([d[3].sbomFormat, d[3].linkedId, d[3].linkedIsGroup], [1, 2, false]);
    assertEquals(d[4].cryptoMessage, { formatType: 2, messageType: 0x200 });
    assertEquals(d[5].signature, { hash: "SHA-512", entity: "00FF".repeat(10) });
    const sbom = await Deno.readFile(`${INPUT}/sbom.cdx.json`);
    assertEquals(d[0].sha256, createHash("sha256").update("Bootstrap: scratch\n").digest("hex"));
    assertEquals(d[3].sha256, createHash("sha256").update(sbom).digest("hex"));
    assertEquals(d[3].size, sbom.length);
  });
});

peerTest("sifref: load reports the corpus two-groups-signed.sif", REF, async () => {
  const img = await loadImage(join(REFERENCE_IMAGES, "two-groups-signed.sif"));
  assertEquals(img.header, {
    launchScript: "",
    version: "01",
    arch: "386",
    id: "00000000-0000-0000-0000-000000000000",
    createdAt: ZERO_TIME,
    modifiedAt: ZERO_TIME,
    descriptorsFree: 43,
    descriptorsTotal: 48,
    descriptorsOffset: 4096,
    descriptorsSize: 28080,
    dataOffset: 32176,
    dataSize: 272837,
  });
  const d = img.descriptors;
  assertEquals(d.length, 5);
  assertEquals(
    d.map((x) => [x.id, x.groupId, x.linkedId, x.linkedIsGroup, x.dataType, x.offset]),
    [
      [1, 1, 0, false, DATA_PARTITION, 32768],
      [2, 1, 0, false, DATA_PARTITION, 36864],
      [3, 2, 0, false, DATA_PARTITION, 40960],
      [4, 0, 1, true, DATA_SIGNATURE, 303104],
      [5, 0, 2, true, DATA_SIGNATURE, 304158],
    ],
  );
  assertEquals(d.slice(0, 3).map((x) => x.size), [4, 4096, 262144]);
  // The object digests in the corpus metadata documents.
  assertEquals(d[0].sha256, "004dfc8da678c309de28b5386a1e9efd57f536b150c40d29b31506aa0fb17ec2");
  assertEquals(d[1].sha256, "9f9c4e5e131934969b4ac8f495691c70b8c6c8e3f489c2c9ab5f1af82bce0604");
  assertEquals(d[2].sha256, "d2dd40e7ff6b6753d84c1a85061189e61d4de9688d5531537ff96ff09b1f12dc");
  assertEquals(d[0].partition, { fs: 4, partType: 1, arch: "386" });
  assertEquals(d[2].partition, { fs: 2, partType: 1, arch: "amd64" });
  for (const sig of d.slice(3)) {
    assertEquals(sig.signature, { hash: "SHA-256", entity: CORPUS_FINGERPRINT });
    assertEquals(sig.createdAt, ZERO_TIME);
  }
});

peerTest("sifref: verify the corpus one-group-signed.sif with the corpus key", REF, async () => {
  const image = join(REFERENCE_IMAGES, "one-group-signed.sif");
  const v = await verifyImage(image, { keyrings: [CORPUS_KEY] });
  assertEquals(v.ok, true, v.error);
  assertEquals(v.error, "");
  assertEquals(v.results, [
    { signature: 3, objects: [1, 2], fingerprint: CORPUS_FINGERPRINT, error: "" },
  ]);
  assertEquals(v.anySignedBy, [CORPUS_FINGERPRINT]);
  assertEquals(v.allSignedBy, [CORPUS_FINGERPRINT]);

  // Object-level tasks and the legacy modes.
  const obj2 = await verifyImage(image, { keyrings: [CORPUS_KEY], objects: [2] });
  assertEquals([obj2.ok, obj2.results.map((r) => r.objects)], [true, [[2]]]);
  const legacy = await verifyImage(image, { keyrings: [CORPUS_KEY], legacy: true });
  assertEquals(legacy.ok, false);
  assertStringIncludes(legacy.error, "signature not found for object group 1");

  // Both groups of two-groups-signed.sif.
  const two = await verifyImage(join(REFERENCE_IMAGES, "two-groups-signed.sif"), {
    keyrings: [CORPUS_KEY],
  });
  assertEquals(two.ok, true, two.error);
  assertEquals(two.results.map((r) => [r.signature, r.objects]), [[4, [1, 2]], [5, [3]]]);

  // An image without groups fails in NewVerifier: reported, not a harness error.
  const empty = await verifyImage(join(REFERENCE_IMAGES, "empty.sif"), {
    keyrings: [CORPUS_KEY],
  });
  assertEquals([empty.ok, empty.error, empty.results], [false, "integrity: no groups found", []]);
});

peerTest("sifref: sign with a throw-away gpg key, verify, tamper", [...REF, "gpg"], async (t) => {
  await withTempDir(async (dir) => {
    await withGpgKey(dir, async (key) => {
      const image = await copyCorpus("one-group.sif", dir);

      await t.step("sign all groups", async () => {
        const signed = await signImage(image, { key: key.secret, time: 1700000000 });
        assertEquals(signed, { signatures: [3], fingerprint: key.fingerprint });
        const img = await loadImage(image);
        const sig = img.descriptors[2];
        assertEquals([sig.dataType, sig.groupId, sig.linkedId, sig.linkedIsGroup], [
          DATA_SIGNATURE,
          0,
          1,
          true,
        ]);
        assertEquals(sig.signature, { hash: "SHA-256", entity: key.fingerprint });
        assertEquals([sig.createdAt, img.header.modifiedAt], [1700000000, 1700000000]);
      });

      await t.step("verify with the public key", async () => {
        const v = await verifyImage(image, { keyrings: [key.publicKeyring] });
        assertEquals(v.ok, true, v.error);
        assertEquals(v.results, [
          { signature: 3, objects: [1, 2], fingerprint: key.fingerprint, error: "" },
        ]);
        assertEquals(v.anySignedBy, [key.fingerprint]);
      });

      await t.step("verify with an empty or another keyring", async () => {
        const emptyKeyring = join(dir, "empty.gpg");
        await Deno.writeFile(emptyKeyring, new Uint8Array());
        for (const keyring of [emptyKeyring, CORPUS_KEY]) {
          const v = await verifyImage(image, { keyrings: [keyring] });
          assertEquals(v.ok, false);
          assertStringIncludes(v.error, "unknown entity");
          assertEquals(v.results.length, 1);
          assertStringIncludes(v.results[0].error, "unknown entity");
          // AnySignedBy reads the descriptor only: no cryptography involved.
          assertEquals(v.anySignedBy, [key.fingerprint]);
        }
        // Several keyrings are merged.
        const both = await verifyImage(image, { keyrings: [CORPUS_KEY, key.publicKeyring] });
        assertEquals(both.ok, true, both.error);
      });

      await t.step("an object appended after signing is not signed", async () => {
        const extra = join(dir, "extra.bin");
        await Deno.writeTextFile(extra, "appended after signing");
        assertEquals(await addObject(image, extra), { id: 4 });
        const img = await loadImage(image);
        assertEquals(img.descriptors[3].groupId, 1);
        const v = await verifyImage(image, { keyrings: [key.publicKeyring] });
        assertEquals(v.ok, false);
        assertStringIncludes(v.error, "object 4: object not signed");
        // Object 1 alone still verifies.
        const one = await verifyImage(image, { keyrings: [key.publicKeyring], objects: [1] });
        assertEquals([one.ok, one.results.map((r) => r.objects)], [true, [[1]]]);
      });

      await t.step("sign a chosen group with --group and --objects", async () => {
        const two = await copyCorpus("two-groups.sif", dir);
        assertEquals((await signImage(two, { key: key.secret, groups: [2] })).signatures, [4]);
        assertEquals(
          (await signImage(two, { key: key.secret, objects: [[1]], deterministic: true }))
            .signatures,
          [5],
        );
        const g2 = await verifyImage(two, { keyrings: [key.publicKeyring], groups: [2] });
        assertEquals([g2.ok, g2.results.map((r) => [r.signature, r.objects])], [true, [[4, [
          3,
        ]]]]);
        // Signature 5 covers only object 1, so a group-1 task fails on object 2.
        const g1 = await verifyImage(two, { keyrings: [key.publicKeyring], groups: [1] });
        assertEquals(g1.ok, false);
        assertStringIncludes(g1.error, "object 2: object not signed");
        assertEquals((await loadImage(two)).descriptors[4].createdAt, ZERO_TIME);
      });
    });
  });
});

peerTest("sifref: harness errors exit 1 with one error line", REF, async () => {
  const bad = await sifref("verify", join(REFERENCE_IMAGES, "one-group.sif"), "--bogus");
  assertEquals(bad.code, 1);
  assertEquals(bad.stdout, "");
  assert(/^error: .+\n$/.test(bad.stderr), bad.stderr);

  const missing = await sifref("load", "/nonexistent/image.sif");
  assertEquals(missing.code, 1);
  assert(missing.stderr.startsWith("error: "), missing.stderr);

  const notSif = await sifref("load", join(SIF_TEST, "input", "sbom.cdx.json"));
  assertEquals(notSif.code, 1);
  assertStringIncludes(notSif.stderr, "invalid SIF magic");

  const unknownKeyring = await sifref(
    "verify",
    join(REFERENCE_IMAGES, "one-group-signed.sif"),
    "--keyring",
    "/nonexistent/keyring",
  );
  assertEquals(unknownKeyring.code, 1);
});
