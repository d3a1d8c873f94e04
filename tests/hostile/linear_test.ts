/**
 * Linear time on attacker data: for every parser of image, keyserver and policy input,
 * doubling the input at most about doubles the time (a regular expression that backtracks
 * would quadruple it, or worse), up to megabytes. And a 16 MiB clear-signed body of blanks,
 * signed by a known key, is decided in under a second.
 *
 * @module
 */

import assert from "node:assert/strict";
import { findClearsigned } from "../../core/integrity/clearsign.ts";
import { isDsseEnvelope, readEnvelopePayload } from "../../core/integrity/dsse.ts";
import { decodeMetadata } from "../../core/integrity/metadata.ts";
import { analyzeSignatures } from "../../core/integrity/analyze.ts";
import { readSignatureObjects } from "../../core/integrity/signatures.ts";
import { armoredKeyBlocks, keyBlocksOfAnswer } from "../../core/keyserver/armor_scan.ts";
import { verifyClearsigned } from "../../core/integrity/pgp.ts";
import { parseKeyring } from "../../core/keys/keyring.ts";
import { parseIndex } from "../../core/keyserver/mr_index.ts";
import { KeySet, readKeyringFile } from "../../core/keys/mod.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { compileGlob } from "../../policy/glob.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { blanksSignature, writeSignatureImage } from "./images.ts";
import { tempDir } from "../helpers/env.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
/** Input sizes: each twice the one before. */
const SIZES = [256 * KIB, 512 * KIB, 1 * MIB, 2 * MIB, 4 * MIB];
/** Below this, the largest input's time is noise, and linear enough whatever the ratios. */
const NOISE_MS = 30;

/** The least time of three runs, in milliseconds. */
function fastest(run: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/**
 * Asserts that `parse(make(n))` takes about linear time in n. The growth exponent from the
 * smallest input to the largest (sixteen times larger) is log(t_large / t_small) / log(16): 1
 * for linear, 2 for quadratic; it must stay under 1.6. Each size is timed after a warm-up run
 * as the fastest of three runs; a loaded machine can still slow one size down, so a failing
 * measurement is taken again, up to three times. A quadratic parser fails every attempt.
 */
function assertLinear(
  make: (size: number) => string,
  parse: (input: string) => unknown,
  sizes: number[] = SIZES,
): void {
  const inputs = sizes.map(make);
  parse(inputs[0]);
  const attempts: number[][] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const times = inputs.map((input) => fastest(() => parse(input)));
    if (times.at(-1)! < NOISE_MS) return;
    const exponent = Math.log(times.at(-1)! / Math.max(times[0], 0.5)) /
      Math.log(sizes.at(-1)! / sizes[0]);
    if (exponent < 1.6) return;
    attempts.push(times);
  }
  assert.fail(
    `times grow faster than n: ${
      attempts.map((times) => times.map((t) => t.toFixed(1)).join(", ")).join(" ms; ")
    } ms`,
  );
}

const CLEARSIGN_HEAD = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
const SIG_END = "-----END PGP SIGNATURE-----\n";
const SIGNATURE = `-----BEGIN PGP SIGNATURE-----\n\nAAAA\n${SIG_END}`;
const encoder = new TextEncoder();

Deno.test("clear-signed text: a line of blanks, then a character, is read in linear time", () => {
  assertLinear((n) => `${CLEARSIGN_HEAD}${" ".repeat(n)}x\n${SIGNATURE}`, findClearsigned);
});

Deno.test("clear-signed text: a line of blanks and tabs to its end is read in linear time", () => {
  assertLinear((n) => `${CLEARSIGN_HEAD}${" \t".repeat(n / 2)}\n${SIGNATURE}`, findClearsigned);
});

Deno.test("clear-signed text: blank lines, dash-escaped lines, no signature: linear", () => {
  assertLinear((n) => `${CLEARSIGN_HEAD}${"- \r\n".repeat(n / 4)}`, findClearsigned);
  assertLinear(
    (n) => `x\n${"-----BEGIN PGP SIGNED MESSAGE-----\n".repeat(n / 35)}`,
    findClearsigned,
  );
  assertLinear(
    (n) => `-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${" ".repeat(n)}`,
    findClearsigned,
  );
});

Deno.test("key answers: BEGIN lines without END are scanned in linear time", () => {
  const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n";
  assertLinear((n) => begin.repeat(n / begin.length), armoredKeyBlocks);
  const block = `${begin}\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n<br>`;
  assertLinear((n) => block.repeat(n / block.length), armoredKeyBlocks);
});

Deno.test("key answers: the blocks found are the complete ones, in order", () => {
  const begin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
  const end = "-----END PGP PUBLIC KEY BLOCK-----";
  assert.deepEqual(
    armoredKeyBlocks(`<pre>${begin}\n\na\n${end}</pre>${begin}\nComment: x\n\nb\n${end}${begin}c`),
    [`${begin}\n\na\n${end}`, `${begin}\n\nb\n${end}`],
  );
  // A header line that is not `Key: value`: go-crypto skips the block, and so does the scan.
  assert.deepEqual(armoredKeyBlocks(`${begin}\nbad header\n\nb\n${end}`), []);
  assert.deepEqual(armoredKeyBlocks(`${end}${begin}`), []);
});

/** Like {@linkcode assertLinear}, for asynchronous parsers, with smaller sizes. */
async function assertLinearAsync(
  make: (size: number) => string,
  parse: (input: string) => Promise<unknown>,
): Promise<void> {
  const times: number[] = [];
  for (const size of SIZES.map((size) => size / 2)) {
    const input = make(size);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      await parse(input);
      best = Math.min(best, performance.now() - start);
    }
    times.push(best);
  }
  if (times.at(-1)! < NOISE_MS) return;
  const ratios = times.slice(1).map((time, i) => time / Math.max(times[i], 0.5));
  const mean = ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;
  assert.ok(mean < 3, `times ${times.map((t) => t.toFixed(1)).join(", ")} ms grow faster than n`);
}

Deno.test("armor headers: many header lines in a signature or a key are read in linear time", async () => {
  const none = new KeySet([]);
  const signed = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n";
  await assertLinearAsync(
    (n) => `${signed}-----BEGIN PGP SIGNATURE-----\n${"A: b\n".repeat(n / 5)}\nAAAA\n${SIG_END}`,
    async (text) => await verifyClearsigned(findClearsigned(text)!, none),
  );
  const key = (await Deno.readTextFile(`${REPO_ROOT}examples/example-key.pub.asc`)).split("\n");
  await assertLinearAsync(
    (n) => [key[0], ...Array(Math.floor(n / 5)).fill("A: b"), ...key.slice(1)].join("\n"),
    async (text) => {
      const keyring = await parseKeyring(encoder.encode(keyBlocksOfAnswer(encoder.encode(text))));
      assert.equal(keyring.keys.length, 1);
    },
  );
});

Deno.test("DSSE: a large payload is detected and decoded in linear time", () => {
  const envelope = (payload: string) =>
    new TextEncoder().encode(JSON.stringify({
      payloadType: "application/vnd.sylabs.sif-metadata+json",
      payload,
      signatures: [{ keyid: "", sig: "AAAA" }],
    }));
  assertLinear((n) => "QUFB".repeat(n / 4), (payload) => {
    const bytes = envelope(payload);
    assert.ok(isDsseEnvelope(bytes));
    assert.equal(readEnvelopePayload(bytes).length, payload.length / 4 * 3);
  });
  // Not base64 at its very end: the whole text is scanned, then refused.
  assertLinear((n) => `${"QUFB".repeat(n / 4)}*===`, (payload) => {
    assert.throws(() => readEnvelopePayload(envelope(payload)));
  });
});

Deno.test("DSSE: a 15 MB payload is decoded, not a stack overflow", () => {
  const payload = "QUFB".repeat(15_000_000 / 4);
  const bytes = new TextEncoder().encode(JSON.stringify({
    payloadType: "application/vnd.sylabs.sif-metadata+json",
    payload,
  }));
  assert.equal(readEnvelopePayload(bytes).length, 11_250_000);
  assert.throws(
    () => readEnvelopePayload(new TextEncoder().encode(JSON.stringify({ payload: `${payload}=` }))),
    { name: "DsseError" },
  );
});

Deno.test("DSSE: deep nesting and escaped quotes are skipped in linear time", () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  assertLinear((n) => `{"a":${"[".repeat(n)}`, (text) => isDsseEnvelope(encode(text)));
  assertLinear((n) => `{"a":"${'\\"'.repeat(n / 2)}`, (text) => isDsseEnvelope(encode(text)));
});

Deno.test("metadata JSON: a long object list is decoded in linear time", () => {
  const digest = `sha256:${"0".repeat(64)}`;
  const entry = JSON.stringify({ relativeId: 0, descriptorDigest: digest, objectDigest: digest });
  assertLinear(
    (n) =>
      `{"header":{"digest":"${digest}"},"objects":[${
        Array(Math.floor(n / entry.length)).fill(entry).join(",")
      }]}`,
    decodeMetadata,
  );
});

Deno.test("keyserver index answers: many lines, or one line of blanks, in linear time", () => {
  const line = "pub:8232570480B868E1473AEEB03DBCBA1EE9D661E5:1:4096:1645657939::\nuid:a%20b:1::\n";
  assertLinear((n) => `info:1:${n}\n${line.repeat(n / line.length)}`, parseIndex);
  assertLinear((n) => `info:1:1\npub:${" ".repeat(n)}x:`, parseIndex);
});

Deno.test("path patterns: matching takes time linear in the path", () => {
  const pattern = compileGlob("/**/*a*a*a*a*a*b/**/x?y");
  const sizes = SIZES.map((size) => size / 16);
  assertLinear((n) => `/${"a".repeat(n)}`, (path) => pattern.test(path), sizes);
  assertLinear((n) => "/a".repeat(n / 2), (path) => pattern.test(path), sizes);
});

Deno.test("a 16 MiB clear-signed body of blanks by a known key is decided in under a second", async () => {
  await using temp = await tempDir("siftrust-blanks-");
  const dir = temp.dir;
  const path = `${dir}/blanks.sif`;
  await writeSignatureImage(path, [await blanksSignature(16 * MIB)]);
  const keyFile = `${REPO_ROOT}examples/example-key.pub.asc`;
  const keyring = await readKeyringFile(keyFile);
  const keys = new KeySet(
    keyring.keys.map(({ key }) => ({ key, source: { kind: "file", location: keyFile } })),
  );
  using image = await SifImage.open(path);
  // The best of two runs: one run on a loaded machine can be slowed by others.
  let elapsed = Infinity;
  for (let run = 0; run < 2; run++) {
    const start = performance.now();
    const [check] = await analyzeSignatures(image, await readSignatureObjects(image), { keys });
    elapsed = Math.min(elapsed, performance.now() - start);
    assert.equal(check.signature.format, "pgp");
    assert.equal(check.signature.data.length, 16 * MIB);
    assert.equal(check.authenticity, "bad-signature"); // the signature is over other text
    assert.equal(check.signer?.fingerprint, "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A");
  }
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
});
