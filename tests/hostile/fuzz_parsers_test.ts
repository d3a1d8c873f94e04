/**
 * Seeded fuzz test of the parsers of attacker data beyond the SIF container (which
 * tests/sif/fuzz_test.ts covers): signature objects (clear-signed and DSSE, read and checked
 * as `verify` and `check` do), keyserver answers (served by a local HKP stub on 127.0.0.1)
 * and policy files. Each mutant must be accepted or refused with the parser's own typed
 * error; any other exception is a bug, and so is a mutant that takes longer than CASE_MS or
 * grows the process's RSS by RSS_GROWTH.
 *
 * CI runs CASES mutants per parser (a few seconds). A longer run is one command:
 *
 * ```sh
 * SIFTRUST_FUZZ_CASES=100000 SIFTRUST_FUZZ_SEED=random deno test --allow-all tests/hostile/fuzz_parsers_test.ts
 * ```
 *
 * A failure names the seed and the mutant's number; the same seed and number reproduce it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { analyzeSignatures } from "../../core/integrity/analyze.ts";
import { signImage } from "../../core/integrity/sign.ts";
import { readSignatureObjects } from "../../core/integrity/signatures.ts";
import { KeySet, readKeyringFile } from "../../core/keys/mod.ts";
import { HkpError, lookupKey, searchIndex } from "../../core/keyserver/hkp.ts";
import { checkCount, IndexError, parseIndex } from "../../core/keyserver/mr_index.ts";
import { SifError, SifImage } from "../../core/sif/mod.ts";
import { PolicyError } from "../../policy/mod.ts";
import { parsePolicy } from "../../policy/load.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { writeSignatureImage } from "./images.ts";
import { tempDir } from "../helpers/env.ts";

const CASES = positive("SIFTRUST_FUZZ_CASES", 150);
const SEED = seed(Deno.env.get("SIFTRUST_FUZZ_SEED"));
/** One mutant taking this long counts as a hang. */
const CASE_MS = 5_000;
/** No mutant grows the process's RSS by this much (freed memory is not given back, so growth
 * over many mutants is not a leak). */
const RSS_GROWTH = 256 * 1024 * 1024;

function positive(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

function seed(text: string | undefined): number {
  if (text === undefined || text === "") return 0x5eed_0011;
  if (text === "random") return crypto.getRandomValues(new Uint32Array(1))[0];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`SIFTRUST_FUZZ_SEED must be an integer from 0 to 2^32 - 1, not "${text}"`);
  }
  return value;
}

/** xorshift32, seeded per mutant. */
class Rng {
  #state: number;

  constructor(seed: number, index: number) {
    this.#state = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) |
      1;
  }

  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x;
    return x >>> 0;
  }

  below(n: number): number {
    return this.next() % Math.max(n, 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** Pieces that parsers treat specially, spliced into mutants. */
const TOKENS = [
  "\n",
  "\r\n",
  " ",
  "\t",
  "-",
  "- ",
  ":",
  "=",
  "==",
  '"',
  "\\",
  "{",
  "}",
  "[",
  "]",
  "\0",
  "\u2028",
  "\uFFFD",
  "-----BEGIN PGP SIGNED MESSAGE-----\n",
  "-----BEGIN PGP SIGNATURE-----\n",
  "-----END PGP SIGNATURE-----\n",
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
  "-----END PGP PUBLIC KEY BLOCK-----\n",
  "Hash: SHA256\n",
  '"payload":',
  '"payloadType":"application/vnd.sylabs.sif-metadata+json"',
  '"signatures":[{"sig":""}]',
  "&a ",
  "*a",
  "[z-a]",
  "2027-02-30",
  "info:1:99\n",
  "pub:",
  "uid:%zz",
];

/** A mutant of `text`: a few edits of random kinds, some of them large. */
function mutate(text: string, rng: Rng): string {
  let out = text;
  const edits = 1 + rng.below(4);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(out.length + 1);
    switch (rng.below(8)) {
      case 0: // change one character
        out = out.slice(0, at) + String.fromCharCode(rng.below(128)) + out.slice(at + 1);
        break;
      case 1: // delete a run
        out = out.slice(0, at) + out.slice(at + 1 + rng.below(64));
        break;
      case 2: // insert a token
        out = out.slice(0, at) + rng.pick(TOKENS) + out.slice(at);
        break;
      case 3: // repeat a token many times (blanks, brackets, markers…)
        out = out.slice(0, at) + rng.pick(TOKENS).repeat(1 + rng.below(1 << 14)) + out.slice(at);
        break;
      case 4: // truncate
        out = out.slice(0, at);
        break;
      case 5: { // duplicate a slice
        const length = rng.below(256);
        out = out.slice(0, at) + out.slice(at, at + length).repeat(2) + out.slice(at + length);
        break;
      }
      case 6: // swap two lines
      {
        const lines = out.split("\n");
        const [i, j] = [rng.below(lines.length), rng.below(lines.length)];
        [lines[i], lines[j]] = [lines[j], lines[i]];
        out = lines.join("\n");
        break;
      }
      default: // a long line of blanks before a line break
        out = out.slice(0, at) + " ".repeat(rng.below(1 << 16)) + "x\n" + out.slice(at);
    }
  }
  return out;
}

/**
 * Runs every mutant of one parser, with the time and memory bounds; mutants are cut to
 * `maxLength` characters.
 */
async function fuzz(
  name: string,
  seeds: string[],
  check: (mutant: string, index: number) => Promise<void>,
  maxLength = Infinity,
): Promise<void> {
  for (let index = 0; index < CASES; index++) {
    const rng = new Rng(SEED, index);
    const mutant = mutate(rng.pick(seeds), rng).slice(0, maxLength);
    const rssBefore = Deno.memoryUsage().rss;
    const start = performance.now();
    try {
      await check(mutant, index);
    } catch (error) {
      throw new Error(
        `${name}: mutant ${index} of seed ${SEED} (${mutant.length} chars) failed: ${error}`,
        { cause: error },
      );
    }
    const ms = performance.now() - start;
    assert.ok(ms < CASE_MS, `${name}: mutant ${index} of seed ${SEED} took ${ms.toFixed(0)} ms`);
    const growth = Deno.memoryUsage().rss - rssBefore;
    assert.ok(
      growth < RSS_GROWTH,
      `${name}: mutant ${index} of seed ${SEED} grew RSS by ${growth}`,
    );
  }
}

/** Rethrows anything but the expected error types. */
function expectOnly(error: unknown, ...types: (new (...args: never[]) => Error)[]): void {
  if (!types.some((type) => error instanceof type)) throw error;
}

// ---------------------------------------------------------------------------------------------
// Signature objects

const encoder = new TextEncoder();

async function exampleSignature(): Promise<string> {
  using image = await SifImage.open(`${REPO_ROOT}examples/example-signed.sif`);
  const signatures = await readSignatureObjects(image);
  return new TextDecoder().decode(signatures[0].data);
}

async function dsseSignature(path: string, key: KeyObject): Promise<string> {
  await writeSignatureImage(path, []);
  using image = await SifImage.open(path, { write: true });
  const [descriptor] = await signImage(image, { kind: "dsse", key });
  return new TextDecoder().decode(await image.objectData(descriptor));
}

Deno.test("fuzz: mutated clear-signed and DSSE signature objects are checked, never crash", async () => {
  await using temp = await tempDir("siftrust-fuzz-sig-");
  const dir = temp.dir;
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const keyFile = `${REPO_ROOT}examples/example-key.pub.asc`;
  const keys = new KeySet(
    (await readKeyringFile(keyFile)).keys.map(({ key }) => ({
      key,
      source: { kind: "file" as const, location: keyFile },
    })),
  );
  const seeds = [await exampleSignature(), await dsseSignature(`${dir}/seed.sif`, privateKey)];
  await fuzz("signature object", seeds, async (mutant, index) => {
    const path = `${dir}/mutant-${index % 4}.sif`;
    await writeSignatureImage(path, [encoder.encode(mutant)]);
    using image = await SifImage.open(path);
    let signatures;
    try {
      signatures = await readSignatureObjects(image);
    } catch (error) {
      expectOnly(error, SifError);
      return;
    }
    const checks = await analyzeSignatures(image, signatures, {
      keys,
      dsseKeys: [publicKey],
    });
    assert.equal(checks.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Keyserver answers

Deno.test("fuzz: mutated keyserver answers from a local HKP stub are read or refused", async () => {
  const armored = await Deno.readTextFile(`${REPO_ROOT}examples/example-key.pub.asc`);
  const index = [
    "info:1:1",
    "pub:98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A:22:256:1700000000::",
    "uid:siftrust%20example%20key:1700000000::",
    "",
  ].join("\n");
  const seeds = [armored, `<html><body><pre>\n${armored}</pre></body></html>`, index];
  let answer = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(answer),
  );
  try {
    const keyserver = { uri: `http://127.0.0.1:${server.addr.port}`, insecure: false };
    await fuzz("keyserver answer", seeds, async (mutant) => {
      answer = mutant;
      try {
        const keyring = await lookupKey(keyserver, "3E41C34BB55B761A");
        assert.ok(keyring.keys.length >= 0);
      } catch (error) {
        expectOnly(error, HkpError);
      }
      try {
        checkCount(parseIndex(await searchIndex(keyserver, "example")));
      } catch (error) {
        expectOnly(error, HkpError, IndexError);
      }
    });
  } finally {
    await server.shutdown();
  }
});

// ---------------------------------------------------------------------------------------------
// Policy files (written by the site, not by attackers: mutants are cut to a large policy's size,
// as the YAML parser takes about 0.1 ms per syntax error)

const POLICY_MAX_LENGTH = 64 * 1024;

Deno.test("fuzz: mutated policy files load or are refused with file:line:col", async () => {
  const seeds = [
    await Deno.readTextFile(`${REPO_ROOT}examples/site.yaml`),
    [
      "version: 1",
      "signers:",
      "  a: &signer {fingerprint: 12045c8c0b1004d058de4beda20c27ee7ff7ba84, expires: 2027-02-28}",
      "rules:",
      "  - name: r",
      "    paths: [/scratch/**, '/apps/[a-c]?/*.sif']",
      "    require: {signed-by: {threshold: 1, of: [a]}, groups: [1], legacy: false}",
      "",
    ].join("\n"),
  ];
  await fuzz("policy", seeds, (mutant) => {
    try {
      parsePolicy(mutant, "/etc/siftrust/policy.yaml");
    } catch (error) {
      expectOnly(error, PolicyError);
      for (const problem of (error as PolicyError).problems) {
        assert.match(problem, /^\/etc\/siftrust\/policy\.yaml:\d+:\d+: ./);
      }
    }
    return Promise.resolve();
  }, POLICY_MAX_LENGTH);
});
