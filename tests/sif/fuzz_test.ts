/**
 * Seeded fuzz test of the SIF reader and the `sif` commands: corpus images are mutated (byte
 * flips biased toward the header and descriptor table, truncations, extreme values in the
 * integer fields, and combinations of these), then opened, rendered with every `sif` renderer
 * and read object by object (the data checked against the mutant's bytes, the text checked
 * free of control characters). Every mutant must either work or be refused with a one-line
 * SifError of kind "invalid" or "unreadable" that names the file; anything else is a bug, and
 * so is a mutant that takes longer than HANG_MS. A sample of mutants then goes through
 * the real CLI, which must exit 0 or 3 (never 70) and, on 3, print one `ERROR:   ` line.
 *
 * Reproduce a run with `SIFTRUST_FUZZ_SEED=<seed>` (decimal or 0x hex, or `random`) and set
 * its size with `SIFTRUST_FUZZ_RUNS=<count>`. Mutant `i` depends only on the seed, `i` and the
 * list of input images, and a failure names the seed, the mutant and its mutations, and saves
 * the mutant's bytes.
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import { join } from "node:path";
import { headerJson, objectJson } from "../../cli/render/sif_json.ts";
import { headerText, infoText, listText } from "../../cli/render/sif_text.ts";
import { DESCRIPTOR_SIZE, SifError, SifImage } from "../../core/sif/mod.ts";
import { runCli } from "../helpers/cli.ts";
import {
  peerTest,
  REFERENCE_IMAGES,
  SHARED_VECTORS,
  sharedVectorsPresent,
} from "../helpers/peers.ts";
import { tempDir } from "../helpers/env.ts";

const DEFAULT_SEED = 0x51f7_2026;
const DEFAULT_RUNS = 4000;
/** Mutants that go through the CLI: half that the reader accepts, half that it refuses. */
const CLI_SAMPLE = 40;
/** A single mutant taking this long counts as a hang. */
const HANG_MS = 20_000;

const SEED = parseSeed(Deno.env.get("SIFTRUST_FUZZ_SEED"));
const RUNS = parseRuns(Deno.env.get("SIFTRUST_FUZZ_RUNS"));

function parseSeed(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_SEED;
  if (text === "random") return crypto.getRandomValues(new Uint32Array(1))[0];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`SIFTRUST_FUZZ_SEED must be an integer from 0 to 2^32 - 1, not "${text}"`);
  }
  return value;
}

function parseRuns(text: string | undefined): number {
  if (text === undefined || text === "") return DEFAULT_RUNS;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`SIFTRUST_FUZZ_RUNS must be a positive integer, not "${text}"`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// A small deterministic PRNG: xorshift32, seeded per mutant through an integer hash.

class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0 || 0x9e3779b9;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** An integer in [0, n); 0 when n ≤ 0. */
  below(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** Mixes a seed and an index into the seed of one mutant (a murmur3-style finaliser). */
function streamSeed(seed: number, stream: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

interface Input {
  name: string;
  bytes: Uint8Array;
  descriptorsOffset: number;
  dataOffset: number;
  /** Slots of the used descriptors. */
  usedSlots: number[];
  /** Object IDs of the used descriptors. */
  ids: number[];
  /** End offsets of the objects, for truncations that cut an object short. */
  objectEnds: number[];
}

async function sifFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sif")) names.push(join(dir, entry.name));
  }
  return names.sort();
}

async function loadInputs(): Promise<Input[]> {
  const paths = await sifFiles(REFERENCE_IMAGES);
  if (sharedVectorsPresent()) paths.push(...await sifFiles(SHARED_VECTORS));
  const inputs: Input[] = [];
  for (const path of paths) {
    using image = await SifImage.open(path);
    const bytes = await Deno.readFile(path);
    const name = path.startsWith(SHARED_VECTORS)
      ? `sif-head/${path.slice(SHARED_VECTORS.length)}`
      : path.slice(REFERENCE_IMAGES.length + 1);
    inputs.push({
      name,
      bytes,
      descriptorsOffset: image.header.descriptorsOffset,
      dataOffset: Math.min(image.header.dataOffset, bytes.length),
      usedSlots: image.descriptors.map((d) => d.slot),
      ids: image.descriptors.map((d) => d.id),
      objectEnds: image.descriptors.map((d) => d.offset + d.size),
    });
  }
  ok(inputs.length > 0, `no .sif files in ${REFERENCE_IMAGES}`);
  return inputs;
}

// ---------------------------------------------------------------------------------------------
// Mutations. Each applies to a working copy and returns a description precise enough to redo
// it by hand.

interface Mutant {
  index: number;
  input: Input;
  bytes: Uint8Array;
  description: string;
}

const HEADER_INT64: readonly [string, number][] = [
  ["createdAt", 64],
  ["modifiedAt", 72],
  ["descriptorsFree", 80],
  ["descriptorsTotal", 88],
  ["descriptorsOffset", 96],
  ["descriptorsSize", 104],
  ["dataOffset", 112],
  ["dataSize", 120],
];

const DESCRIPTOR_INT64: readonly [string, number][] = [
  ["offset", 17],
  ["size", 25],
  ["sizeWithPadding", 33],
  ["createdAt", 41],
  ["modifiedAt", 49],
  ["uid", 57],
  ["gid", 65],
];

const DESCRIPTOR_INT32: readonly [string, number][] = [
  ["dataType", 0],
  ["id", 5],
  ["groupId", 9],
  ["linkedId", 13],
  ["extra[0]", 201],
  ["extra[4]", 205],
];

/** A byte position, half of the time within the header and descriptor table. */
function position(rng: Rng, length: number, input: Input): number {
  if (rng.chance(0.5)) {
    const prefix = Math.min(input.dataOffset, length);
    let at: number;
    switch (rng.below(4)) {
      case 0: // the header
        at = rng.below(128);
        break;
      case 1: // the header's integer fields
        at = rng.between(64, 127);
        break;
      case 2: // a used descriptor record
        at = input.usedSlots.length === 0
          ? rng.below(prefix)
          : input.descriptorsOffset + rng.pick(input.usedSlots) * DESCRIPTOR_SIZE +
            rng.below(DESCRIPTOR_SIZE);
        break;
      default:
        at = rng.below(prefix);
    }
    if (at < length) return at;
  }
  return rng.below(length);
}

function flipBytes(rng: Rng, bytes: Uint8Array, input: Input): string {
  const count = rng.between(1, 8);
  const flips: string[] = [];
  for (let i = 0; i < count && bytes.length > 0; i++) {
    const at = position(rng, bytes.length, input);
    const mask = rng.between(1, 255);
    bytes[at] ^= mask;
    flips.push(`${at}^0x${mask.toString(16)}`);
  }
  return `flip(${flips.join(" ")})`;
}

function truncate(rng: Rng, bytes: Uint8Array, input: Input): [Uint8Array, string] {
  let length: number;
  switch (rng.below(5)) {
    case 0: // within the header, or empty
      length = rng.chance(0.1) ? 0 : rng.below(129);
      break;
    case 1: // within the header and descriptor table
      length = rng.below(input.dataOffset + 1);
      break;
    case 2: // just short of the end of an object (or of the file)
      length = (input.objectEnds.length === 0 ? bytes.length : rng.pick(input.objectEnds)) -
        rng.between(1, 4);
      break;
    default:
      length = rng.below(bytes.length + 1);
  }
  length = Math.max(0, Math.min(length, bytes.length));
  return [bytes.subarray(0, length), `truncate(${length})`];
}

/** An extreme or borderline value for an int64 field that currently holds `current`. */
function extremeInt64(rng: Rng, current: bigint, fileSize: number): [bigint, string] {
  const size = BigInt(fileSize);
  const choices: [bigint, string][] = [
    [0n, "0"],
    [-1n, "-1"],
    [1n << 62n, "2^62"],
    [(1n << 63n) - 1n, "2^63-1"],
    [-(1n << 63n), "-2^63"],
    [(1n << 53n) - 1n, "2^53-1"],
    [1n << 53n, "2^53"],
    [-(1n << 53n) + 1n, "-(2^53-1)"],
    [size - 1n, `size-1=${size - 1n}`],
    [size, `size=${size}`],
    [size + 1n, `size+1=${size + 1n}`],
    [current - 1n, `was-1=${current - 1n}`],
    [current + 1n, `was+1=${current + 1n}`],
  ];
  if (rng.chance(0.1)) {
    const value = BigInt(rng.below(fileSize + 1));
    return [value, String(value)];
  }
  return rng.pick(choices);
}

function setInt64(rng: Rng, bytes: Uint8Array, input: Input): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let field: string;
  let at: number;
  if (input.usedSlots.length === 0 || rng.chance(0.5)) {
    const [name, offset] = rng.pick(HEADER_INT64);
    [field, at] = [`header.${name}`, offset];
  } else {
    const slot = rng.pick(input.usedSlots);
    const [name, offset] = rng.pick(DESCRIPTOR_INT64);
    [field, at] = [
      `slot${slot}.${name}`,
      input.descriptorsOffset + slot * DESCRIPTOR_SIZE + offset,
    ];
  }
  if (at + 8 > bytes.length) return `int64(${field}: cut off)`;
  const [value, shown] = extremeInt64(rng, view.getBigInt64(at, true), bytes.length);
  view.setBigInt64(at, BigInt.asIntN(64, value), true);
  return `int64(${field}@${at}=${shown})`;
}

function setInt32(rng: Rng, bytes: Uint8Array, input: Input): string {
  if (input.usedSlots.length === 0) return flipBytes(rng, bytes, input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slot = rng.pick(input.usedSlots);
  const record = input.descriptorsOffset + slot * DESCRIPTOR_SIZE;
  if (rng.chance(0.15)) {
    // the Used flag of any slot, used or not
    const target = rng.chance(0.5) ? slot : rng.below(Math.max(1, input.usedSlots.length + 4));
    const at = input.descriptorsOffset + target * DESCRIPTOR_SIZE + 4;
    if (at >= bytes.length) return `used(slot${target}: cut off)`;
    const value = rng.pick([0, 1, 0xff]);
    bytes[at] = value;
    return `used(slot${target}@${at}=${value})`;
  }
  const [name, offset] = rng.pick(DESCRIPTOR_INT32);
  const at = record + offset;
  if (at + 4 > bytes.length) return `int32(slot${slot}.${name}: cut off)`;
  const value = rng.pick([
    0,
    1,
    0xffffffff,
    0x7fffffff,
    0x80000000,
    0xf0000000,
    0x0fffffff,
    rng.pick(input.ids),
    0x4000 + rng.below(16),
    rng.next(),
  ]);
  view.setUint32(at, value, true);
  return `int32(slot${slot}.${name}@${at}=0x${value.toString(16)})`;
}

type Operation = (rng: Rng, bytes: Uint8Array, input: Input) => [Uint8Array, string];

const OPERATIONS: Record<string, Operation> = {
  flip: (rng, bytes, input) => [bytes, flipBytes(rng, bytes, input)],
  truncate,
  int64: (rng, bytes, input) => [bytes, setInt64(rng, bytes, input)],
  int32: (rng, bytes, input) => [bytes, setInt32(rng, bytes, input)],
};

/** Mutant `index` of stream `stream` (0: the in-process run, 1: the CLI sample). */
function mutant(inputs: Input[], stream: number, index: number): Mutant {
  const rng = new Rng(streamSeed(SEED, stream, index));
  const input = inputs[index % inputs.length];
  let bytes: Uint8Array = input.bytes.slice();
  const roll = rng.below(100);
  const kinds = roll < 30
    ? ["flip"]
    : roll < 45
    ? ["truncate"]
    : roll < 70
    ? ["int64"]
    : roll < 80
    ? ["int32"]
    : Array.from({ length: rng.between(2, 4) }, () => rng.pick(Object.keys(OPERATIONS)));
  const steps: string[] = [];
  for (const kind of kinds) {
    let step: string;
    [bytes, step] = OPERATIONS[kind](rng, bytes, input);
    steps.push(step);
  }
  return { index, input, bytes, description: `${input.name}: ${steps.join(" + ")}` };
}

// ---------------------------------------------------------------------------------------------
// Running one mutant.

type Outcome =
  | { accepted: true; ids: number[] }
  | { accepted: false; error: SifError };

/**
 * Opens the image at `path` (holding `bytes`), renders it as `sif list|header|info` do, text
 * and JSON, and reads every object in chunks, checking the data against `bytes`.
 */
async function exercise(path: string, bytes: Uint8Array): Promise<Outcome> {
  try {
    using image = await SifImage.open(path);
    const descriptors = image.descriptors;
    terminalSafe("sif list", listText(descriptors));
    JSON.stringify({ image: path, objects: descriptors.map(objectJson) });
    terminalSafe("sif header", headerText(image.header));
    JSON.stringify({ image: path, header: headerJson(image.header) });
    for (const d of descriptors) {
      terminalSafe(`sif info ${d.id}`, infoText(d));
      JSON.stringify({ image: path, object: objectJson(d) });
      ok(image.descriptor(d.id) === d, `descriptor(${d.id}) does not find object ${d.id}`);
    }
    for (const d of descriptors) {
      let done = 0;
      for await (const chunk of image.objectChunks(d)) {
        const expected = bytes.subarray(d.offset + done, d.offset + done + chunk.length);
        ok(
          chunk.length === expected.length && chunk.every((byte, i) => byte === expected[i]),
          `object ${d.id}: bytes ${d.offset + done}+${chunk.length} differ from the file`,
        );
        done += chunk.length;
      }
      ok(done === d.size, `object ${d.id}: read ${done} bytes, its size is ${d.size}`);
    }
    return { accepted: true, ids: descriptors.map((d) => d.id) };
  } catch (error) {
    if (error instanceof SifError && (error.kind === "invalid" || error.kind === "unreadable")) {
      ok(!error.message.includes("\n"), `SifError message is not one line: ${error.message}`);
      ok(error.message.includes(path), `SifError message does not name the file: ${error.message}`);
      return { accepted: false, error };
    }
    throw error;
  }
}

/** The text renderers escape what an image supplies: no control characters but newlines. */
function terminalSafe(what: string, text: string): void {
  // deno-lint-ignore no-control-regex
  const control = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/.exec(text);
  ok(control === null, `${what} prints control character ${JSON.stringify(control?.[0])}`);
}

/** Runs `operation`, failing with `what()` if it takes longer than `ms`. */
async function withinTime<T>(ms: number, what: () => string, operation: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: no result after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function reproduce(m: Mutant, stream: number): string {
  return `seed ${SEED} (0x${SEED.toString(16)}), ${
    stream === 0 ? "mutant" : "CLI mutant"
  } #${m.index}: ${m.description}\n  reproduce: SIFTRUST_FUZZ_SEED=${SEED} SIFTRUST_FUZZ_RUNS=${RUNS} ` +
    `deno test --allow-all tests/sif/fuzz_test.ts`;
}

/** Keeps a failing mutant's bytes beyond the test, and says where. */
async function saveFailure(m: Mutant, stream: number): Promise<string> {
  const dir = join(Deno.env.get("TMPDIR") ?? "/tmp", "siftrust-fuzz-failures");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, `seed-${SEED}-stream-${stream}-mutant-${m.index}.sif`);
  await Deno.writeFile(path, m.bytes);
  return path;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.stack ?? `${error.name}: ${error.message}` : String(error);
}

// ---------------------------------------------------------------------------------------------
// The tests.

peerTest(
  `sif reader: ${RUNS} seeded mutants end in success or SifError (seed ${SEED})`,
  [REFERENCE_IMAGES],
  async () => {
    const inputs = await loadInputs();
    const dir = await Deno.makeTempDir({ prefix: "siftrust-fuzz-" });
    const path = join(dir, "mutant.sif");
    const started = performance.now();
    const failures: string[] = [];
    let failed = 0;
    let accepted = 0;
    let rejected = 0;
    const reasons = new Map<string, number>();
    try {
      for (let index = 0; index < RUNS; index++) {
        const m = mutant(inputs, 0, index);
        try {
          await Deno.writeFile(path, m.bytes);
          const outcome = await withinTime(HANG_MS, () => m.description, exercise(path, m.bytes));
          if (outcome.accepted) {
            accepted++;
          } else {
            rejected++;
            const reason = outcome.error.message.slice(path.length + 2).replace(/[0-9]+/g, "N");
            reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          }
        } catch (error) {
          failed++;
          if (failures.length < 10) {
            const saved = await saveFailure(m, 0);
            failures.push(`${reproduce(m, 0)}\n  bytes: ${saved}\n  ${describeError(error)}`);
          }
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: seed ${SEED}, ${RUNS} mutants of ${inputs.length} images in ${seconds} s: ` +
        `${accepted} accepted, ${rejected} refused, ${failed} failed`,
    );
    const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8);
    for (const [reason, count] of top) console.log(`  ${String(count).padStart(5)} × ${reason}`);
    ok(
      failed === 0,
      `${failed} of ${RUNS} mutants ended in something other than success or SifError ` +
        `(first ${failures.length} below)\n\n${failures.join("\n\n")}`,
    );
    // A reader that accepted, or refused, (nearly) everything would be broken too. (A run of
    // fewer than 100 mutants is too small to say.)
    const some = RUNS >= 100 ? Math.ceil(RUNS / 100) : 0;
    ok(accepted >= some, `only ${accepted} of ${RUNS} mutants were accepted (seed ${SEED})`);
    ok(rejected >= some, `only ${rejected} of ${RUNS} mutants were refused (seed ${SEED})`);
    const rss = Deno.memoryUsage().rss;
    ok(rss < 1024 ** 3, `the test process grew to ${Math.round(rss / 1024 ** 2)} MiB`);
  },
);

peerTest(
  `sif CLI: ${CLI_SAMPLE} mutants exit 0 or 3 with one ERROR line (seed ${SEED})`,
  [REFERENCE_IMAGES],
  async () => {
    const inputs = await loadInputs();
    await using temp = await tempDir("siftrust-fuzz-cli-");
    const dir = temp.dir;
    // Pick mutants from a stream of their own, half of them accepted by the reader, half
    // refused, so that both exit paths of the CLI are exercised.
    const scratch = join(dir, "scratch.sif");
    const chosen: { m: Mutant; outcome: Outcome }[] = [];
    const wanted = { accepted: CLI_SAMPLE / 2, refused: CLI_SAMPLE / 2 };
    for (
      let index = 0;
      index < 50 * CLI_SAMPLE && wanted.accepted + wanted.refused > 0;
      index++
    ) {
      const m = mutant(inputs, 1, index);
      await Deno.writeFile(scratch, m.bytes);
      let outcome: Outcome;
      try {
        outcome = await withinTime(HANG_MS, () => m.description, exercise(scratch, m.bytes));
      } catch {
        continue; // the in-process test reports these
      }
      const bucket = outcome.accepted ? "accepted" : "refused";
      if (wanted[bucket] > 0) {
        wanted[bucket]--;
        chosen.push({ m, outcome });
      }
    }
    ok(
      wanted.accepted === 0 && wanted.refused === 0,
      `could not choose ${CLI_SAMPLE / 2} accepted and ${CLI_SAMPLE / 2} refused mutants`,
    );

    const problems: string[] = [];
    let runs = 0;
    const check = async ({ m, outcome }: { m: Mutant; outcome: Outcome }, slot: number) => {
      const path = join(dir, `cli-${slot}.sif`);
      await Deno.writeFile(path, m.bytes);
      const json = m.index % 2 === 0 ? [] : ["--json"];
      const commands = [["sif", "list", ...json, path], ["sif", "header", ...json, path]];
      // `info` of an object the image has (an image that has none gets `list` and `header`
      // only: asking it for an object is a usage error, exit 2).
      const id = outcome.accepted ? outcome.ids[0] : 1;
      if (id !== undefined) commands.push(["sif", "info", ...json, String(id), path]);
      for (const args of commands) {
        runs++;
        const result = await runCli(args);
        const shown = `siftrust ${args.join(" ")} → exit ${result.code}`;
        const fault = cliFault(result, path, outcome.accepted);
        if (fault !== undefined) {
          const saved = await saveFailure(m, 1);
          problems.push(
            `${shown}: ${fault}\n  ${reproduce(m, 1)}\n  bytes: ${saved}\n  stderr: ${
              JSON.stringify(result.stderr)
            }`,
          );
        }
      }
    };
    // Two CLI processes at a time (the machine has 2 cores), each with its own file.
    let next = 0;
    await Promise.all([0, 1].map(async (slot) => {
      while (next < chosen.length) await check(chosen[next++], slot);
    }));
    console.log(`fuzz CLI: ${chosen.length} mutants, ${runs} CLI runs`);
    deepStrictEqual(problems, [], problems.join("\n\n"));
  },
);

/** What is wrong with a CLI run on a mutant, or undefined when nothing is. */
function cliFault(
  result: { code: number; stdout: string; stderr: string },
  path: string,
  accepted: boolean,
): string | undefined {
  if (result.code === 70) return "internal error (exit 70)";
  if (result.code !== 0 && result.code !== 3) return `unexpected exit code ${result.code}`;
  if (result.stderr.split("\n").some((line) => line.startsWith("    at "))) {
    return "stack trace on stderr";
  }
  if (result.code === 0) {
    if (!accepted) return "the CLI accepted an image that SifImage.open refused";
    if (result.stderr !== "") return "exit 0 with output on stderr";
    if (result.stdout === "") return "exit 0 with nothing on stdout";
    return undefined;
  }
  if (accepted) return "the CLI refused an image that SifImage.open accepted";
  const lines = result.stderr.replace(/\n$/, "").split("\n");
  if (lines.length !== 1) return `${lines.length} lines on stderr, expected 1`;
  if (!lines[0].startsWith("ERROR:   ")) return "stderr does not start with `ERROR:   `";
  if (!lines[0].includes(path)) return "the error does not name the image";
  if (result.stdout !== "") return "exit 3 with output on stdout";
  return undefined;
}
