/**
 * Benchmark: `siftrust check -j 4 --policy P` over 100 signed 64 MiB images, the first time
 * (every image hashed and its signature checked; its peak RSS must stay under 300 MiB) and
 * again from the verify-once cache; and the cached re-check of one signed 4 GiB image, whose
 * median over at least 10 runs must stay under 50 ms.
 *
 * That target is about the check itself: the work `check` does for an image it has decided
 * before (stat the image and the key files, hash the cache key, read the entry). It is measured
 * in this process, timing `checkImage` with a warm cache. The CLI's wall time is measured and
 * reported beside it: it adds Deno's start-up and the loading of the program's modules, which
 * no cache can remove.
 *
 * Everything lives in `bench/data/check-speed/` (git-ignored): a throw-away Ed25519 key made
 * with openpgp.js, the signed 64 MiB image (made once), its 100 copies (made for the run and
 * removed after it), and the signed 4 GiB image (a copy of the verify benchmark's unsigned
 * `bench/data/verify-4gib.sif` when there is one, else made here), kept for later runs.
 *
 * @module
 */

import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
  signatureInfo,
  toHex,
} from "../core/sif/mod.ts";
import { signImage } from "../core/integrity/mod.ts";
import { KeySet } from "../core/keys/mod.ts";
import { cacheDir, checkImage, loadPolicy, policyKeys } from "../policy/mod.ts";
import {
  type BenchResult,
  humanSize,
  type Measurement,
  median,
  patternData,
  REPO_ROOT,
  type Sample,
  siftrustCommand,
  summarize,
  type Target,
  timeOnce,
} from "./measure.ts";
import { wrapKey } from "../core/keys/pgp_key.ts";
import { type BenchKey, benchKey, writeBenchPolicy } from "./fixtures.ts";

/** Where this benchmark keeps its files. */
const DIR = `${REPO_ROOT}bench/data/check-speed`;
/** How many images the many-images case checks. */
const COPIES = 100;
/** `check -j` over the copies: four images hashed at once. */
const JOBS = 4;
/** `check -j 4` over the copies must peak under this RSS. */
const RSS_LIMIT_MIB = 300;
/** The size of each of them (the partition; the file is 32 KiB more). */
const SMALL_BYTES = 64 * 1024 ** 2;
/** The size of the big image's partition. */
const BIG_BYTES = 4 * 1024 ** 3;
/** The verify benchmark's unsigned 4 GiB image, copied when present. */
const VERIFY_BASE = `${REPO_ROOT}bench/data/verify-4gib.sif`;
/** The cached re-check of the 4 GiB image must take less than this (median, in-process). */
const CACHED_LIMIT_MS = 50;
/** At least this many runs for the cached re-checks of the 4 GiB image. */
const MIN_CACHED_RUNS = 10;
/** The chunk partitions are written from. */
const CHUNK_BYTES = 4 * 1024 ** 2;

// ------------------------------------------------------------------------------------------
// files

/** Whether `path` is an image with a partition of `bytes`, signed by `fingerprint`. */
async function isSignedImage(path: string, bytes: number, fingerprint: string): Promise<boolean> {
  try {
    using image = await SifImage.open(path);
    const partition = image.descriptors.find((d) => d.dataType === DataType.Partition);
    return partition?.size === bytes && image.descriptors.some((d) => {
      if (d.dataType !== DataType.Signature) return false;
      const entity = signatureInfo(d).entity;
      return entity !== undefined && toHex(entity).toUpperCase() === fingerprint;
    });
  } catch {
    return false;
  }
}

/** Writes an unsigned image: a squashfs-type partition of `bytes`, in group 1. */
async function makeUnsigned(path: string, bytes: number): Promise<void> {
  const image = await createImage(path, {
    deterministic: true,
    objects: [
      {
        dataType: DataType.Partition,
        data: patternData(bytes, 0x2545f491),
        name: "bench-rootfs.squashfs",
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
    ],
  });
  image.close();
}

/** Whether the verify benchmark's unsigned 4 GiB image is there, complete and unsigned. */
async function verifyBaseUsable(): Promise<boolean> {
  try {
    using image = await SifImage.open(VERIFY_BASE);
    const partition = image.descriptors.find((d) => d.dataType === DataType.Partition);
    return partition?.size === BIG_BYTES &&
      !image.descriptors.some((d) => d.dataType === DataType.Signature);
  } catch {
    return false;
  }
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}

/**
 * Makes the signed image at `path` unless a valid one is there. Returns how it was made, for
 * the notes.
 */
async function ensureSigned(
  path: string,
  bytes: number,
  key: BenchKey,
  copyFrom?: string,
): Promise<string> {
  if (await isSignedImage(path, bytes, key.fingerprint)) return `${path} (kept from a former run)`;
  await Deno.remove(path).catch(() => {});
  const partial = `${path}.tmp`;
  const started = performance.now();
  console.log(`creating ${path} (${humanSize(bytes)} partition)…`);
  if (copyFrom !== undefined) await Deno.copyFile(copyFrom, partial);
  else await makeUnsigned(partial, bytes);
  const made = seconds(started);
  const signStarted = performance.now();
  {
    using image = await SifImage.open(partial, { write: true });
    await signImage(image, { kind: "pgp", key: wrapKey(key.key) });
  }
  await Deno.rename(partial, path);
  const how = copyFrom === undefined ? `made in ${made} s` : `copied from ${copyFrom} in ${made} s`;
  return `${path}: ${how}, signed in ${seconds(signStarted)} s (in-process \`signImage\`)`;
}

// ------------------------------------------------------------------------------------------
// measuring

/**
 * Deno's own cache folder. It must be named to the runs: Deno would otherwise place it under
 * the `XDG_CACHE_HOME` given to siftrust, and fetch and compile the program's modules again.
 */
async function denoDir(): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

/** Where a run keeps its decisions, and Deno its own cache. */
interface RunCaches {
  /** siftrust's `XDG_CACHE_HOME`. */
  home: string;
  /** Deno's cache folder. */
  denoDir: string;
}

/** Runs `siftrust ARGS…` under GNU time; `fresh` empties the decision cache first. */
async function timeCheck(args: string[], caches: RunCaches, fresh: boolean): Promise<Sample> {
  if (fresh) {
    await Deno.remove(caches.home, { recursive: true }).catch(() => {});
    // Root's runs trust a cache only below a folder of their own (/tmp is anyone's).
    await Deno.mkdir(caches.home, { mode: 0o700 });
  }
  const command = await siftrustCommand(args);
  return await timeOnce(command.program, command.args, {
    // Root's runs keep their caches in SIFTRUST_CACHEDIR (else the system's), users' in XDG's.
    env: {
      XDG_CACHE_HOME: caches.home,
      SIFTRUST_CACHEDIR: `${caches.home}/siftrust`,
      DENO_DIR: caches.denoDir,
    },
    label: `siftrust ${args.slice(0, 4).join(" ")} …`,
  });
}

/** Reads files through once, untimed, so that every run finds them in the page cache. */
async function warmRead(paths: string[]): Promise<void> {
  const buffer = new Uint8Array(CHUNK_BYTES);
  for (const path of paths) {
    using file = await Deno.open(path);
    while (await file.read(buffer) !== null) {
      // only the reading matters
    }
  }
}

/** Median milliseconds of `runs` calls of `fn`, after one untimed call. */
async function timeInProcess(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return times;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/** Runs the benchmark: `runs` measured runs per case (at least 10 for the cached 4 GiB one). */
export async function checkSpeed(runs: number): Promise<BenchResult> {
  await Deno.mkdir(DIR, { recursive: true });
  const key = await benchKey(DIR, "check_speed");
  const small = `${DIR}/signed-64mib.sif`;
  const big = `${DIR}/signed-4gib.sif`;
  const setup = [
    await ensureSigned(small, SMALL_BYTES, key),
    await ensureSigned(big, BIG_BYTES, key, await verifyBaseUsable() ? VERIFY_BASE : undefined),
  ];
  const policy = await writeBenchPolicy(DIR, key.fingerprint, "check_speed");
  const cacheHome = await Deno.makeTempDir({ prefix: "siftrust-bench-cache-" });
  const caches: RunCaches = { home: cacheHome, denoDir: await denoDir() };
  const copiesDir = `${DIR}/copies`;
  const measurements: Measurement[] = [];
  const targets: Target[] = [];
  try {
    await Deno.remove(copiesDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(copiesDir);
    const started = performance.now();
    const copies: string[] = [];
    for (let i = 0; i < COPIES; i++) {
      const copy = `${copiesDir}/image-${String(i).padStart(3, "0")}.sif`;
      await Deno.copyFile(small, copy);
      copies.push(copy);
    }
    setup.push(`${COPIES} copies of ${small} made in ${seconds(started)} s, removed after`);
    const copyBytes = (await Deno.stat(small)).size;
    await warmRead(copies);

    // 100 images: the first check (cache emptied before each run), then the cached re-check.
    const many = ["check", "-j", String(JOBS), "--policy", policy, ...copies];
    const label = `${COPIES} × ${humanSize(copyBytes)} signed`;
    await timeCheck(many, caches, true); // warm-up
    const cold: Sample[] = [];
    for (let i = 0; i < runs; i++) cold.push(await timeCheck(many, caches, true));
    const warm: Sample[] = [];
    for (let i = 0; i < runs; i++) warm.push(await timeCheck(many, caches, false));
    measurements.push(
      summarize(cold, { command: "check (first time)", image: label, imageBytes: copyBytes }),
      summarize(warm, { command: "check (cached)", image: label, imageBytes: copyBytes }),
    );
    const perImage = (summarize(warm, { command: "", image: "", imageBytes: 0 })
      .medianWallSeconds * 1000) / COPIES;

    // One 4 GiB image: decided once (cache filled), then re-checked from the cache.
    await warmRead([big]);
    const bigBytes = (await Deno.stat(big)).size;
    const one = ["check", "--policy", policy, big];
    const first: Sample[] = [await timeCheck(one, caches, true)];
    const cachedRuns = Math.max(runs, MIN_CACHED_RUNS);
    await timeCheck(one, caches, false); // warm-up
    const cached: Sample[] = [];
    for (let i = 0; i < cachedRuns; i++) cached.push(await timeCheck(one, caches, false));
    measurements.push(
      summarize(first, {
        command: "check (first time)",
        image: "4 GiB signed",
        imageBytes: bigBytes,
      }),
      summarize(cached, { command: "check (cached)", image: "4 GiB signed", imageBytes: bigBytes }),
    );

    // In-process: the same cache, the same policy.
    const env = (name: string) => name === "XDG_CACHE_HOME" ? cacheHome : Deno.env.get(name);
    const run = { env: { ...Deno.env.toObject(), XDG_CACHE_HOME: cacheHome }, uid: 0, euid: 0 };
    const loaded = await loadPolicy(policy);
    const keys = await policyKeys(loaded, run, () => new KeySet([]));
    const context = { policy: loaded, keys, cacheDir: cacheDir(env) };
    const probe = await checkImage(big, context);
    if (!probe.cached || probe.decision.decision !== "allow") {
      throw new Error(
        `the in-process re-check of ${big} was not an allow from the cache: ${
          JSON.stringify({ cached: probe.cached, decision: probe.decision.decision })
        }`,
      );
    }
    const checkTimes = await timeInProcess(cachedRuns, () => checkImage(big, context));
    const pipelineTimes = await timeInProcess(cachedRuns, async () => {
      const p = await loadPolicy(policy);
      const k = await policyKeys(p, run, () => new KeySet([]));
      return await checkImage(big, { policy: p, keys: k, cacheDir: cacheDir(env) });
    });
    const checkMs = median(checkTimes);
    const pipelineMs = median(pipelineTimes);
    const cliMs = median(cached.map((s) => s.wallSeconds)) * 1000;

    const coldRss = Math.max(...cold.map((s) => s.maxRssKiB)) / 1024;
    targets.push({
      goal: `\`check -j ${JOBS}\` over ${COPIES} signed images (first time) peaks under ` +
        `${RSS_LIMIT_MIB} MiB RSS`,
      measured: `${coldRss.toFixed(1)} MiB (largest of ${runs} runs)`,
      pass: coldRss < RSS_LIMIT_MIB,
    });
    targets.push({
      goal: `cached re-check of the 4 GiB signed image (\`checkImage\` in-process, median of ` +
        `${cachedRuns}) takes < ${CACHED_LIMIT_MS} ms`,
      measured: `${ms(checkMs)} (min ${ms(Math.min(...checkTimes))}, max ${
        ms(Math.max(...checkTimes))
      }); with loading the policy and its keys ${ms(pipelineMs)}; CLI wall time ${
        ms(cliMs)
      } (Deno start-up included, not part of the target)`,
      pass: checkMs < CACHED_LIMIT_MS,
    });
    return {
      title: "`check` of 100 signed 64 MiB images and of a signed 4 GiB image, first and cached",
      notes: [
        "images: one group, a squashfs-type partition of xorshift32 bytes, signed once by a " +
        "throw-away Ed25519 key (openpgp.js); policy: that signer, `keys.files` + `offline: true`, " +
        "`local: false`",
        ...setup,
        `\`siftrust check -j ${JOBS} --policy P IMAGE…\` for the ${COPIES} images, ` +
        "`siftrust check --policy P IMAGE` for the 4 GiB one (`deno run` with the `siftrust` task's " +
        "permissions), each run a new process under GNU time; all files read once beforehand " +
        "(page cache warm); `XDG_CACHE_HOME` and `SIFTRUST_CACHEDIR` in a fresh temporary folder, `DENO_DIR` pinned to " +
        "Deno's own cache (else Deno would move its cache there and fetch the modules again)",
        `first time: the decision cache emptied before each run (1 warm-up + ${runs} runs); ` +
        `cached: the cache kept (${runs} runs; ${cachedRuns} for the 4 GiB image, after 1 ` +
        "warm-up); the 4 GiB first-time row is a single run",
        `cached re-check of ${COPIES} images: ${
          perImage.toFixed(1)
        } ms per image (CLI median / ${COPIES})`,
        `in-process, same cache and policy: \`checkImage\` median ${ms(checkMs)} over ` +
        `${cachedRuns} runs; \`loadPolicy\` + \`policyKeys\` + \`checkImage\` median ${
          ms(pipelineMs)
        }`,
      ],
      measurements,
      targets,
    };
  } finally {
    await Deno.remove(copiesDir, { recursive: true }).catch(() => {});
    await Deno.remove(cacheHome, { recursive: true }).catch(() => {});
  }
}
