/**
 * Benchmark: `siftrust admit` of a signed 1 GiB image into a library folder must take no more
 * than 1.3× the wall time of `cp` followed by `sync` of the copy (GNU coreutils `sync FILE`:
 * an fsync of that file) on the same image, start-up included. Admit copies the image into a
 * temporary file, reading each chunk once into shared memory and writing it from there while a
 * worker hashes it for the digests its signature needs (policy/admit.ts,
 * core/files/copy_hashed.ts), decides on the copy without reading it again, and syncs and
 * renames it into place. `openssl dgst -sha256` of the image runs in the same rounds: one
 * SHA-256 pass alone, the part of admit's work that `cp` does not do.
 *
 * Everything lives in `bench/data/admit/` (git-ignored): a throw-away Ed25519 key made with
 * openpgp.js and the signed image (both kept for later runs), the policy, and the library
 * folder and the `cp` target (emptied before each run). `SIFTRUST_BENCH_ADMIT_MIB` changes the
 * partition's size (default 1024), e.g. for a quick smoke run.
 *
 * @module
 */

import type * as openpgp from "openpgp";
import { DataType, SifImage } from "../core/sif/mod.ts";
import {
  type BenchResult,
  buildBundle,
  humanSize,
  type Measurement,
  REPO_ROOT,
  type Sample,
  siftrustCommand,
  summarize,
  type Target,
  timeOnce,
} from "./measure.ts";
import { benchKey, makeSignedImage, writeBenchPolicy } from "./fixtures.ts";

/** Where this benchmark keeps its files. */
const DIR = `${REPO_ROOT}bench/data/admit`;
/** siftrust as it ships: the bundle (`deno task bundle`, built before the rounds). */
const ENTRY = "dist/siftrust.js";
/** `admit` may take at most this many times the wall time of `cp` + `sync`. */
const RATIO_LIMIT = 1.3;

function partitionBytes(): number {
  const text = Deno.env.get("SIFTRUST_BENCH_ADMIT_MIB") ?? "1024";
  const mib = Number(text);
  if (!Number.isInteger(mib) || mib < 1) {
    throw new Error(`SIFTRUST_BENCH_ADMIT_MIB must be a positive integer, not "${text}"`);
  }
  return mib * 1024 ** 2;
}

/** The signed image of `bytes`, made (and signed in-process) unless a former run left it. */
async function signedImage(bytes: number, key: openpgp.PrivateKey): Promise<string> {
  const path = `${DIR}/signed-${bytes}.sif`;
  try {
    using image = await SifImage.open(path);
    if (
      image.descriptors.some((d) => d.dataType === DataType.Partition && d.size === bytes) &&
      image.descriptors.some((d) => d.dataType === DataType.Signature)
    ) {
      return path;
    }
  } catch {
    // made below
  }
  await makeSignedImage(path, bytes, 0x2545f491, key);
  return path;
}

/** Empties a folder (creating it when missing). */
async function emptied(folder: string): Promise<string> {
  await Deno.remove(folder, { recursive: true }).catch(() => {});
  await Deno.mkdir(folder, { mode: 0o755 });
  return folder;
}

/** Reads a file through once, untimed, so that every run finds it in the page cache. */
async function warmRead(path: string): Promise<void> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(4 << 20);
  while (await file.read(buffer) !== null) {
    // only the reading matters
  }
}

/** The 1-minute load average (Linux). */
async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
}

/** Runs the benchmark: one checked warm-up round, then `runs` rounds of admit and cp + sync. */
export async function admitSpeed(runs: number): Promise<BenchResult> {
  const loadBefore = await loadAverage();
  await Deno.mkdir(DIR, { recursive: true, mode: 0o755 });
  await Deno.chmod(DIR, 0o755);
  const bytes = partitionBytes();
  const { key, fingerprint } = await benchKey(DIR, "admit");
  const image = await signedImage(bytes, key);
  const policy = await writeBenchPolicy(DIR, fingerprint, "admit_speed");
  const imageBytes = (await Deno.stat(image)).size;
  const library = `${DIR}/library`;
  const plain = `${DIR}/cp-target`;
  await buildBundle();
  const admit = await siftrustCommand(["admit", "--policy", policy, image, library], ENTRY);
  // The third reads and hashes the image once, writing nothing: the floor of what admit must
  // do beyond copying (it hashes what it writes), measured in the same rounds.
  const contenders: { command: string; program: string; args: string[]; folder?: string }[] = [
    { command: "siftrust admit", ...admit, folder: library },
    {
      command: "cp + sync",
      program: "sh",
      args: ["-c", 'cp "$1" "$2/" && sync "$2/${1##*/}"', "sh", image, plain],
      folder: plain,
    },
    { command: "openssl dgst -sha256", program: "openssl", args: ["dgst", "-sha256", image] },
  ];
  const samples: Sample[][] = contenders.map(() => []);
  try {
    await warmRead(image);
    for (let round = 0; round <= runs; round++) {
      for (const [k, c] of contenders.entries()) {
        if (c.folder !== undefined) await emptied(c.folder);
        const sample = await timeOnce(c.program, c.args, {
          captureStdout: round === 0,
          label: c.command,
        });
        const copy = `${c.folder}/${image.slice(image.lastIndexOf("/") + 1)}`;
        if (c.folder !== undefined && (await Deno.stat(copy)).size !== imageBytes) {
          throw new Error(`${c.command} left no complete copy at ${copy}`);
        }
        if (round === 0 && c.command === "siftrust admit" && !sample.stdout?.includes("ALLOW")) {
          throw new Error(`siftrust admit did not allow the image: ${sample.stdout}`);
        }
        if (round > 0) samples[k].push(sample);
      }
    }
  } finally {
    for (const { folder } of contenders) {
      if (folder !== undefined) await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
  }
  const rows: Measurement[] = contenders.map((c, k) =>
    summarize(samples[k], { command: c.command, image: "signed image", imageBytes })
  );
  const yardstick = rows[1].medianWallSeconds;
  for (const row of rows) {
    row.relative = `${(row.medianWallSeconds / yardstick).toFixed(2)}× cp + sync`;
  }
  const ratio = rows[0].medianWallSeconds / yardstick;
  const targets: Target[] = [{
    goal: `\`siftrust admit\` of a ${humanSize(bytes)} image takes ≤ ${RATIO_LIMIT}× \`cp\` + ` +
      "`sync` of the copy",
    measured: `${ratio.toFixed(2)}×: ${rows[0].medianWallSeconds.toFixed(2)} s vs ${
      yardstick.toFixed(2)
    } s`,
    pass: ratio <= RATIO_LIMIT,
  }];
  const raw = contenders.map((c, k) =>
    `${c.command} ${samples[k].map((s) => s.wallSeconds.toFixed(2)).join(" ")}`
  );
  return {
    title: `\`admit\` of a signed ${humanSize(bytes)} image against \`cp\` + \`sync\``,
    notes: [
      `image: ${image} (one group: a squashfs-type partition of xorshift32 bytes, signed by a ` +
      "throw-away Ed25519 key; kept for later runs); policy: that signer, `keys.files` + " +
      "`offline: true`, `local: false`",
      `\`siftrust admit --policy P IMAGE ${library}/\` (the bundle, \`deno run --no-config\` ` +
      "of dist/siftrust.js built from the current sources, with the `siftrust` task's " +
      "permissions; it copies, a worker hashing what the main thread reads and writes, " +
      "decides, fsyncs and renames) against " +
      `\`sh -c 'cp IMAGE ${plain}/ && sync ${plain}/NAME'\` (GNU \`sync FILE\`: fsync of the ` +
      "copy); `openssl dgst -sha256 IMAGE` (one SHA-256 pass, nothing written) shows the " +
      "hashing alone",
      "the image read once beforehand (page cache warm); each target folder emptied before " +
      `each run (untimed); 1 warm-up round (admit's ALLOW checked), then ${runs} rounds of ` +
      "admit, cp + sync and openssl, each run a new process under GNU time; median wall time",
      `1-minute load average ${loadBefore} before, ${await loadAverage()} after`,
      `wall times (s) in run order: ${raw.join("; ")}`,
    ],
    measurements: rows,
    targets,
  };
}
