/**
 * Benchmark: `siftrust check --no-cache -j N` over six signed 256 MiB images, for N = 1, 2
 * and 4 from the sources and N = 1 and 2 from the bundle (`deno task bundle`, rebuilt first:
 * the program as shipped), side by side (each round runs them all in turn, so that a change in
 * the machine's load touches all of them alike). On a machine with at least 2 CPUs, the
 * bundle's `-j 2` must be at least 1.7× faster than its `-j 1`: the images are hashed on
 * worker threads (core/integrity/hash_pool.ts), one per CPU, and `-j 1` hashes on one CPU. A
 * scaling table gives each N's speed-up and throughput, beside reading the same files with
 * `cat` (the I/O yardstick: hashing cannot go faster than the files are read). The hashing
 * pool is also timed alone, in this process: one job against two with each worker reading and
 * hashing in turn, and a lone job reading ahead (what a lone image gets when a CPU is free).
 * One image alone is checked from the bundle with `-j 1` and `-j 2` (the head start).
 *
 * Everything lives in `bench/data/parallel-check/` (git-ignored): a throw-away Ed25519 key
 * made with openpgp.js and the signed image (both kept for later runs), and its copies (made
 * for the run, removed after it). `SIFTRUST_BENCH_PARALLEL_IMAGES` and
 * `SIFTRUST_BENCH_PARALLEL_MIB` change the number and size of the images (default 6 and 256),
 * e.g. for a quick smoke run.
 *
 * @module
 */

import type * as openpgp from "openpgp";
import { HashPool } from "../core/integrity/hash_pool.ts";
import { DataType, SifImage } from "../core/sif/mod.ts";
import {
  type BenchResult,
  buildBundle,
  humanSize,
  type Measurement,
  median,
  REPO_ROOT,
  type Sample,
  siftrustCommand,
  summarize,
  type Target,
  timeOnce,
} from "./measure.ts";
import { benchKey, makeSignedImage, writeBenchPolicy } from "./fixtures.ts";

/** Where this benchmark keeps its files. */
const DIR = `${REPO_ROOT}bench/data/parallel-check`;
/** The `-j` values compared from the sources; the first is the yardstick. */
const JOBS = [1, 2, 4];
/** The bundle's entry, and the `-j` values compared from it (the target's). */
const BUNDLE = "dist/siftrust.js";
const BUNDLE_JOBS = [1, 2];
/** `-j 2` must be at least this many times faster than `-j 1` (with 2 CPUs or more). */
const SPEEDUP_TARGET = 1.7;
/** Doubling `-j` gains less than this: the table calls it the point where scaling stops. */
const FLAT = 1.1;

function positiveFromEnv(name: string, fallback: number): number {
  const text = Deno.env.get(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, not "${text}"`);
  }
  return value;
}

/** Whether `path` is an image with a partition of `bytes` and a signature object. */
async function isSigned(path: string, bytes: number): Promise<boolean> {
  try {
    using image = await SifImage.open(path);
    return image.descriptors.some((d) => d.dataType === DataType.Partition && d.size === bytes) &&
      image.descriptors.some((d) => d.dataType === DataType.Signature);
  } catch {
    return false;
  }
}

/** The signed image of `bytes`, made (and signed in-process) unless a former run left it. */
async function signedImage(bytes: number, key: openpgp.PrivateKey): Promise<string> {
  const path = `${DIR}/signed-${bytes}.sif`;
  if (await isSigned(path, bytes)) return path;
  await makeSignedImage(path, bytes, 0x6d2b79f5, key);
  return path;
}

/** Deno's own cache folder, named to the runs (they get a throw-away XDG_CACHE_HOME). */
async function denoDir(): Promise<string> {
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout)).denoDir;
}

/** The scaling line: per `-j`, its speed-up over `-j 1` and its throughput. */
function scaling(rows: { jobs: number; seconds: number }[], totalBytes: number): string {
  const rate = (seconds: number) => (totalBytes / 1024 ** 2 / seconds).toFixed(0);
  return "scaling: " +
    rows.map(({ jobs, seconds }) =>
      `-j ${jobs} ${(rows[0].seconds / seconds).toFixed(2)}× (${seconds.toFixed(2)} s, ${
        rate(seconds)
      } MiB/s)`
    ).join(", ");
}

/**
 * The pool alone, in this process: the median seconds to hash the partitions of `paths` with
 * `jobs` jobs at a time on a pool of `jobs` workers, reading ahead or not (`runs` rounds).
 */
async function poolSeconds(
  paths: string[],
  jobs: number,
  readAhead: boolean,
  runs: number,
): Promise<number> {
  const images = await Promise.all(paths.map((path) => SifImage.open(path)));
  using pool = new HashPool({ size: jobs, readAhead, idleMs: 10_000 });
  try {
    const times: number[] = [];
    // Round 0 starts the workers, and is not counted.
    for (let round = 0; round <= runs; round++) {
      const queue = [...images];
      const start = performance.now();
      await Promise.all(Array.from({ length: jobs }, async () => {
        for (let image = queue.shift(); image !== undefined; image = queue.shift()) {
          const d = image.descriptors.find((d) => d.dataType === DataType.Partition)!;
          const file = await image.sameFile();
          await pool.hash({
            hashes: ["sha256"],
            ranges: [{ offset: d.offset, size: d.size, sinks: [0] }],
            file,
            read: (offset, into) => image.readInto(offset, into),
          });
        }
      }));
      if (round > 0) times.push((performance.now() - start) / 1000);
    }
    return median(times);
  } finally {
    for (const image of images) image.close();
  }
}

/** Runs the benchmark: one warm-up round, then `runs` rounds of every `-j`. */
export async function parallelCheck(runs: number): Promise<BenchResult> {
  const count = positiveFromEnv("SIFTRUST_BENCH_PARALLEL_IMAGES", 6);
  const bytes = positiveFromEnv("SIFTRUST_BENCH_PARALLEL_MIB", 256) * 1024 ** 2;
  await Deno.mkdir(DIR, { recursive: true });
  const { key, fingerprint } = await benchKey(DIR, "parallel_check");
  const base = await signedImage(bytes, key);
  const policy = await writeBenchPolicy(DIR, fingerprint, "parallel_check");
  const cacheHome = await Deno.makeTempDir({ prefix: "siftrust-bench-cache-" });
  const env = { XDG_CACHE_HOME: cacheHome, DENO_DIR: await denoDir() };
  const copiesDir = `${DIR}/copies`;
  try {
    await Deno.remove(copiesDir, { recursive: true }).catch(() => {});
    await Deno.mkdir(copiesDir);
    const copies: string[] = [];
    for (let i = 0; i < count; i++) {
      copies.push(`${copiesDir}/image-${i}.sif`);
      await Deno.copyFile(base, copies[i]);
    }
    const fileBytes = (await Deno.stat(base)).size;
    const totalBytes = fileBytes * count;

    await buildBundle();
    const cat = () => timeOnce("cat", copies, { label: "cat" });
    const check = async (jobs: number, entry?: string, images = copies) => {
      const command = await siftrustCommand(
        ["check", "--no-cache", "--policy", policy, "-j", String(jobs), ...images],
        entry,
      );
      return await timeOnce(command.program, command.args, {
        env,
        label: `siftrust check -j ${jobs}${entry === undefined ? "" : ` (${entry})`}`,
      });
    };
    const lone = (jobs: number) => check(jobs, BUNDLE, copies.slice(0, 1));
    // Warm-up round: fills the page cache, and Deno's cache of the program.
    await cat();
    for (const jobs of JOBS) await check(jobs);
    for (const jobs of BUNDLE_JOBS) await check(jobs, BUNDLE);
    for (const jobs of BUNDLE_JOBS) await lone(jobs);
    const catSamples: Sample[] = [];
    const samples = new Map<number, Sample[]>(JOBS.map((jobs) => [jobs, []]));
    const bundleSamples = new Map<number, Sample[]>(BUNDLE_JOBS.map((jobs) => [jobs, []]));
    const loneSamples = new Map<number, Sample[]>(BUNDLE_JOBS.map((jobs) => [jobs, []]));
    for (let round = 0; round < runs; round++) {
      catSamples.push(await cat());
      for (const jobs of JOBS) samples.get(jobs)!.push(await check(jobs));
      for (const jobs of BUNDLE_JOBS) bundleSamples.get(jobs)!.push(await check(jobs, BUNDLE));
      for (const jobs of BUNDLE_JOBS) loneSamples.get(jobs)!.push(await lone(jobs));
    }

    // The pool alone: one job against two, each worker reading and hashing in turn (one CPU
    // per job); and a lone job reading ahead on the second CPU (the default for a lone job).
    const inTurn = [
      await poolSeconds(copies, 1, false, runs),
      await poolSeconds(copies, 2, false, runs),
    ];
    const loneJob = await poolSeconds(copies, 1, true, runs);
    const seconds = (list: Sample[]) => median(list.map((s) => s.wallSeconds));
    const rows = JOBS.map((jobs) => ({ jobs, seconds: seconds(samples.get(jobs)!) }));
    const bundleRows = BUNDLE_JOBS.map((jobs) => ({
      jobs,
      seconds: seconds(bundleSamples.get(jobs)!),
    }));
    const label = `${count} × ${humanSize(fileBytes)} signed`;
    const measurements: Measurement[] = [
      summarize(catSamples, {
        command: "cat (read only)",
        image: label,
        imageBytes: totalBytes,
        relative: `${(rows[0].seconds / seconds(catSamples)).toFixed(2)}× faster than -j 1`,
      }),
      ...JOBS.map((jobs, i) =>
        summarize(samples.get(jobs)!, {
          command: `check --no-cache -j ${jobs}`,
          image: label,
          imageBytes: totalBytes,
          relative: i === 0
            ? "yardstick"
            : `${(rows[0].seconds / rows[i].seconds).toFixed(2)}× faster than -j 1`,
        })
      ),
      ...BUNDLE_JOBS.map((jobs, i) =>
        summarize(bundleSamples.get(jobs)!, {
          command: `check --no-cache -j ${jobs} (bundle)`,
          image: label,
          imageBytes: totalBytes,
          relative: i === 0
            ? "yardstick of the bundle"
            : `${
              (bundleRows[0].seconds / bundleRows[i].seconds).toFixed(2)
            }× faster than the bundle's -j 1`,
        })
      ),
      ...BUNDLE_JOBS.map((jobs, i) =>
        summarize(loneSamples.get(jobs)!, {
          command: `check --no-cache -j ${jobs}, one image (bundle)`,
          image: `1 × ${humanSize(fileBytes)} signed`,
          imageBytes: fileBytes,
          relative: i === 0
            ? "yardstick of one image"
            : `${
              (seconds(loneSamples.get(BUNDLE_JOBS[0])!) / seconds(loneSamples.get(jobs)!))
                .toFixed(2)
            }× faster than -j 1 (hashed while the program loads)`,
        })
      ),
    ];
    const cpus = navigator.hardwareConcurrency;
    const flatAt = rows.findIndex((row, i) => i > 0 && rows[i - 1].seconds / row.seconds < FLAT);
    const two = bundleRows.find((row) => row.jobs === 2)!;
    const speedup = bundleRows[0].seconds / two.seconds;
    const sourceSpeedup = rows[0].seconds / rows.find((row) => row.jobs === 2)!.seconds;
    const targets: Target[] = cpus >= 2
      ? [{
        goal: `\`check --no-cache -j 2\` over ${label} images, from the bundle, is at least ` +
          `${SPEEDUP_TARGET}× faster than \`-j 1\``,
        measured: `${speedup.toFixed(2)}× (${bundleRows[0].seconds.toFixed(2)} s against ${
          two.seconds.toFixed(2)
        } s)`,
        pass: speedup >= SPEEDUP_TARGET,
      }]
      : [];
    return {
      title: `\`check --no-cache -j 1/2/4\` of ${label} images`,
      notes: [
        `images: copies of ${base} (one group: a squashfs-type partition of xorshift32 bytes, ` +
        "signed once by a throw-away Ed25519 key); policy: that signer, `keys.files` + " +
        "`offline: true`, `local: false`; copies made for the run and removed after it",
        `\`siftrust check --no-cache --policy P -j N IMAGE…\` (\`deno run\` with the ` +
        "`siftrust` task's permissions, of cli/main.ts and of dist/siftrust.js with " +
        "`--no-config`) under GNU " +
        `time; one warm-up round (page cache warm), then ${runs} rounds, each running \`cat\` ` +
        "and every command in turn",
        ...(cpus >= 2 ? [] : [`only ${cpus} CPU: the -j 2 target is not checked`]),
        scaling(rows, totalBytes),
        "one image alone (the bundle): with `-j 2` its hashing starts from the bundle's entry, " +
        "before the program loads (cli/image_ahead.ts); `-j 1` waits for the program, the " +
        "policy and its keys",
        `from the bundle, -j 2 is ${speedup.toFixed(2)}× faster than -j 1; from the sources ` +
        `${sourceSpeedup.toFixed(2)}×: the sources take longer to load (tens of ms before the ` +
        "first image is hashed, in both), and that start-up does not scale",
        `the hashing pool alone (in-process, ${runs} rounds, medians): reading and hashing in ` +
        `turn, 1 job ${inTurn[0].toFixed(2)} s, 2 jobs ${inTurn[1].toFixed(2)} s (${
          (inTurn[0] / inTurn[1]).toFixed(2)
        }× faster); a lone job reading ahead on the second CPU (the default) ${
          loneJob.toFixed(2)
        } s (one CPU hashes, the other reads), so 2 jobs are ${
          (loneJob / inTurn[1]).toFixed(2)
        }× faster than it. \`-j 1\` reads and hashes in turn, on one CPU`,
        `reading alone (\`cat\`, the I/O yardstick): ${
          (totalBytes / 1024 ** 2 / seconds(catSamples)).toFixed(0)
        } MiB/s; ` +
        (flatAt === -1
          ? `the check still gains from -j ${rows.at(-2)!.jobs} to -j ${rows.at(-1)!.jobs}`
          : `past -j ${rows[flatAt - 1].jobs} the check gains less than ${
            ((FLAT - 1) * 100).toFixed(0)
          }% (${cpus} CPUs: hashing is CPU-bound until every CPU hashes, then bound by the ` +
            "CPUs and the reads)"),
      ],
      measurements,
      targets,
    };
  } finally {
    await Deno.remove(copiesDir, { recursive: true }).catch(() => {});
    await Deno.remove(cacheHome, { recursive: true }).catch(() => {});
  }
}
