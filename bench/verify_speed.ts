/**
 * Benchmark: `siftrust verify` of a signed 1 GiB and 4 GiB image, with one and with two
 * signatures on the image's group, must take no more than 1.2× the wall time of
 * `openssl dgst -sha256` on the same file, and peak under 150 MiB RSS. The reference harness
 * (`sifref verify`, Debian's Go library) is measured beside them.
 *
 * The unsigned images (one group: a squashfs-type partition of pseudo-random bytes and a small
 * JSON object) are made once under `bench/data/` and reused. Each run makes two throw-away
 * OpenPGP keys, copies each image, signs the copy with key A (the one-signature case), then
 * with key B in place (the two-signature case), and removes the copy at the end.
 *
 * @module
 */

import { join } from "node:path";
import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
} from "../core/sif/mod.ts";
import { sifrefBinary } from "../tests/helpers/sifref.ts";
import {
  type BenchResult,
  humanSize,
  type Measurement,
  patternData,
  REPO_ROOT,
  type Sample,
  siftrustCommand,
  summarize,
  type Target,
  timeOnce,
} from "./measure.ts";

/** The chunk the partitions are written from, reused for every chunk. */
const CHUNK_BYTES = 4 * 1024 ** 2;
/** siftrust may take at most this many times openssl's wall time. */
const WALL_RATIO_LIMIT = 1.2;
/** siftrust's peak RSS must stay under this. */
const RSS_LIMIT_MIB = 150;
/** The small JSON object beside the partition. */
const JSON_OBJECT = new TextEncoder().encode(
  JSON.stringify({ benchmark: "verify_speed", note: "bench data, never committed" }) + "\n",
);

/** The images measured, smallest first. */
const SIZES = [
  { label: "1 GiB", partitionBytes: 1024 ** 3, name: "verify-1gib" },
  { label: "4 GiB", partitionBytes: 4 * 1024 ** 3, name: "verify-4gib" },
];

/** The two throw-away signing keys and where they are. */
interface Keys {
  /** Holds `gnupg/`, `keys/pgp-secret` (A then B), `pubring.gpg` and an empty `etc/`. */
  dir: string;
  /** Uppercase primary-key fingerprints of A and B. */
  fingerprints: [string, string];
  pubring: string;
  /** The environment siftrust runs with: these keys only, no user or system keyring. */
  env: Record<string, string>;
}

// ------------------------------------------------------------------------------------------
// images

/** Whether `path` is a complete unsigned image: the partition, then the JSON, ending the file. */
async function isComplete(path: string, partitionBytes: number): Promise<boolean> {
  try {
    using image = await SifImage.open(path);
    const [partition, json, ...rest] = image.descriptors;
    return rest.length === 0 && partition !== undefined && json !== undefined &&
      partition.dataType === DataType.Partition && partition.size === partitionBytes &&
      partition.groupId === 1 && json.dataType === DataType.GenericJSON &&
      json.size === JSON_OBJECT.length && json.groupId === 1 &&
      json.offset + json.size === image.fileSize;
  } catch {
    return false;
  }
}

/** Makes the unsigned image unless a complete one is there; returns its path. */
async function ensureImage(name: string, partitionBytes: number): Promise<string> {
  const path = `${REPO_ROOT}bench/data/${name}.sif`;
  if (await isComplete(path, partitionBytes)) return path;
  await Deno.mkdir(`${REPO_ROOT}bench/data`, { recursive: true });
  await Deno.remove(path).catch(() => {});
  const partial = `${path}.tmp`;
  console.log(`creating ${path} (${humanSize(partitionBytes)} partition)…`);
  const started = performance.now();
  const image = await createImage(partial, {
    deterministic: true,
    objects: [
      {
        dataType: DataType.Partition,
        data: patternData(partitionBytes, 0x9e3779b9),
        name: "bench-rootfs.squashfs",
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
      { dataType: DataType.GenericJSON, data: JSON_OBJECT, name: "bench.json" },
    ],
  });
  image.close();
  await Deno.rename(partial, path);
  console.log(`created in ${seconds(started)} s`);
  return path;
}

/** Copies `source` to `target` and flushes the copy, so that no write-back runs meanwhile. */
async function copyDurably(source: string, target: string): Promise<void> {
  await Deno.copyFile(source, target);
  using file = await Deno.open(target, { read: true, write: true });
  await file.syncData();
}

/** Reads a file through once, untimed, so that every command finds it in the page cache. */
async function warmRead(path: string): Promise<void> {
  using file = await Deno.open(path);
  const buffer = new Uint8Array(CHUNK_BYTES);
  while (await file.read(buffer) !== null) {
    // only the reading matters
  }
}

// ------------------------------------------------------------------------------------------
// keys

/** Runs a helper program (not measured); throws when it fails; returns its stdout. */
async function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Uint8Array> {
  const out = await new Deno.Command(program, {
    args,
    env,
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `${program} ${args.join(" ")} exited with ${out.code}: ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  return out.stdout;
}

/** Makes two RSA 2048 signing keys in a throw-away GnuPG home and writes the keyrings. */
async function makeKeys(): Promise<Keys> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-bench-keys-" });
  const gnupg = join(dir, "gnupg");
  const keysDir = join(dir, "keys");
  await Deno.mkdir(gnupg, { mode: 0o700 });
  await Deno.mkdir(keysDir, { mode: 0o700 });
  await Deno.mkdir(join(dir, "etc"));
  const gpgEnv = { GNUPGHOME: gnupg };
  const gpg = (...args: string[]) =>
    run("gpg", ["--batch", "--pinentry-mode", "loopback", "--passphrase", "", ...args], gpgEnv);
  try {
    const fingerprints: string[] = [];
    for (const who of ["Bench A <a@bench.invalid>", "Bench B <b@bench.invalid>"]) {
      await gpg("--quick-gen-key", who, "rsa2048", "sign", "never");
      const listing = new TextDecoder().decode(
        await gpg("--with-colons", "--fingerprint", "--list-keys", who),
      );
      const fpr = listing.split("\n").find((line) => line.startsWith("fpr:"))?.split(":")[9];
      if (fpr === undefined) throw new Error(`gpg listed no fingerprint for ${who}`);
      fingerprints.push(fpr.toUpperCase());
    }
    // Exported one at a time, so that A is key 0 and B key 1 of the secret keyring.
    const secrets = [];
    for (const fpr of fingerprints) secrets.push(await gpg("--export-secret-keys", fpr));
    await Deno.writeFile(join(keysDir, "pgp-secret"), concat(secrets), { mode: 0o600 });
    const pubring = join(dir, "pubring.gpg");
    await Deno.writeFile(pubring, await gpg("--export", ...fingerprints));
    return {
      dir,
      fingerprints: [fingerprints[0], fingerprints[1]],
      pubring,
      env: {
        APPTAINER_KEYSDIR: keysDir,
        SIFTRUST_SYSCONFDIR: join(dir, "etc"),
        SIFTRUST_PASSPHRASE: "",
      },
    };
  } catch (error) {
    await removeKeys(dir);
    throw error;
  } finally {
    await run("gpgconf", ["--kill", "all"], gpgEnv).catch(() => {});
  }
}

async function removeKeys(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// measuring

/** A command measured in every case, and how to check its warm-up run's output. */
interface Contender {
  command: string;
  program: string;
  args: string[];
  env?: Record<string, string>;
  check(stdout: string): void;
}

/** The three commands for one signed image carrying the signatures of `signers`. */
async function contenders(image: string, keys: Keys, signers: string[]): Promise<Contender[]> {
  const siftrust = await siftrustCommand(["verify", "--keyring", keys.pubring, image]);
  return [
    {
      command: "siftrust verify",
      ...siftrust,
      env: keys.env,
      check(stdout) {
        const shown = [...stdout.matchAll(/Fingerprint: ([0-9A-Fa-f]+)/g)]
          .map((m) => m[1].toUpperCase());
        if (shown.sort().join() !== [...signers].sort().join()) {
          throw new Error(`siftrust verify reported signers [${shown}], not [${signers}]`);
        }
      },
    },
    {
      command: "openssl dgst -sha256",
      program: "openssl",
      args: ["dgst", "-sha256", image],
      check(stdout) {
        if (!/= [0-9a-f]{64}\s*$/.test(stdout)) throw new Error(`openssl printed "${stdout}"`);
      },
    },
    {
      command: "sifref verify",
      program: await sifrefBinary(),
      args: ["verify", image, `--keyring=${keys.pubring}`],
      check(stdout) {
        const report = JSON.parse(stdout) as {
          ok: boolean;
          error: string;
          results: { fingerprint: string }[];
        };
        const shown = report.results.map((r) => r.fingerprint.toUpperCase());
        if (!report.ok || shown.sort().join() !== [...signers].sort().join()) {
          throw new Error(`sifref verify failed: ${stdout.trim()}`);
        }
      },
    },
  ];
}

/**
 * Measures the contenders on one image: an untimed read of the file, one checked warm-up run
 * of each, then `runs` rounds in which each runs once (interleaved, so that drift in the
 * machine's speed affects all alike).
 */
async function measureCase(
  image: string,
  label: string,
  keys: Keys,
  signers: string[],
  runs: number,
): Promise<{ rows: Measurement[]; raw: string }> {
  await warmRead(image);
  const all = await contenders(image, keys, signers);
  const options = (c: Contender, captureStdout: boolean) => ({
    env: c.env,
    captureStdout,
    label: c.command,
  });
  for (const c of all) {
    const warmUp = await timeOnce(c.program, c.args, options(c, true));
    c.check(warmUp.stdout ?? "");
  }
  const samples: Sample[][] = all.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of all.entries()) {
      samples[k].push(await timeOnce(c.program, c.args, options(c, false)));
    }
  }
  const imageBytes = (await Deno.stat(image)).size;
  const rows = all.map((c, k) =>
    summarize(samples[k], { command: c.command, image: label, imageBytes })
  );
  const openssl = rows[1].medianWallSeconds;
  for (const row of rows) row.relative = `${(row.medianWallSeconds / openssl).toFixed(2)}× openssl`;
  const raw = all.map((c, k) =>
    `${c.command.split(" ")[0]} ${samples[k].map((s) => s.wallSeconds.toFixed(2)).join(" ")}`
  );
  return { rows, raw: `${label}, wall times (s) in run order: ${raw.join("; ")}` };
}

/** The 1-minute load average (Linux), to tell whether something else was running. */
async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ")[0];
  } catch {
    return "unknown";
  }
}

function seconds(started: number): string {
  return ((performance.now() - started) / 1000).toFixed(1);
}

/** Runs the benchmark: `runs` measured runs per command and case. */
export async function verifySpeed(runs: number): Promise<BenchResult> {
  const loadBefore = await loadAverage();
  const images = [];
  for (const size of SIZES) {
    images.push({ ...size, base: await ensureImage(size.name, size.partitionBytes) });
  }
  await sifrefBinary();
  const keys = await makeKeys();
  const measurements: Measurement[] = [];
  const targets: Target[] = [];
  const setup: string[] = [];
  const rawTimes: string[] = [];
  const sign = async (image: string, extra: string[]) => {
    const command = await siftrustCommand(["sign", ...extra, image]);
    await run(command.program, command.args, { NO_COLOR: "1", ...keys.env });
  };
  try {
    for (const size of images) {
      const signed = `${REPO_ROOT}bench/data/${size.name}-signed.sif`;
      try {
        let started = performance.now();
        await copyDurably(size.base, signed);
        const copied = seconds(started);
        const cases: [string, string[], string[]][] = [
          ["1 signature", ["--keyidx", "0"], [keys.fingerprints[0]]],
          ["2 signatures", ["--keyidx", "1"], keys.fingerprints],
        ];
        const signedIn: string[] = [];
        for (const [signatures, signArgs, signers] of cases) {
          started = performance.now();
          await sign(signed, signArgs);
          signedIn.push(seconds(started));
          const label = `${size.label}, ${signatures}`;
          const { rows, raw } = await measureCase(signed, label, keys, signers, runs);
          measurements.push(...rows);
          rawTimes.push(raw);
          const [siftrust, openssl] = rows;
          const ratio = siftrust.medianWallSeconds / openssl.medianWallSeconds;
          targets.push({
            goal: `\`siftrust verify\` (${label}) takes ≤ ${WALL_RATIO_LIMIT}× ` +
              "`openssl dgst -sha256`'s wall time",
            measured: `${ratio.toFixed(2)}×: ${siftrust.medianWallSeconds.toFixed(2)} s vs ` +
              `${openssl.medianWallSeconds.toFixed(2)} s`,
            pass: ratio <= WALL_RATIO_LIMIT,
          });
          targets.push({
            goal: `\`siftrust verify\` (${label}) peaks under ${RSS_LIMIT_MIB} MiB RSS`,
            measured: `${siftrust.peakRssMiB.toFixed(1)} MiB`,
            pass: siftrust.peakRssMiB < RSS_LIMIT_MIB,
          });
        }
        setup.push(
          `${size.label}: ${size.base} (kept) copied to ${signed} in ${copied} s (with fsync), ` +
            `signed with key A in ${signedIn[0]} s, then with key B in ${signedIn[1]} s ` +
            "(`siftrust sign`, Deno start-up and hashing included); the copy is removed after",
        );
      } finally {
        await Deno.remove(signed).catch(() => {});
      }
    }
  } finally {
    await removeKeys(keys.dir);
  }
  const loadAfter = await loadAverage();
  return {
    title: "Wall time and memory of `verify` on signed 1 GiB and 4 GiB images",
    notes: [
      "images: one group of a squashfs-type primary partition (xorshift32 bytes) and a " +
      `${JSON_OBJECT.length}-byte JSON object; signatures by two throw-away RSA 2048 keys ` +
      "(A with `--keyidx 0`, then B with `--keyidx 1`), both on group 1",
      ...setup,
      "`siftrust verify --keyring pubring.gpg IMAGE` (`deno run` with the `siftrust` task's " +
      "permissions; no user or system keyring), `openssl dgst -sha256 IMAGE`, " +
      "`sifref verify IMAGE --keyring=pubring.gpg` (the Go reference harness)",
      `each case: an untimed read of the file, one warm-up run of each command (its output ` +
      `checked: every signer verified), then ${runs} rounds of one run of each, interleaved; ` +
      "each run a new process under GNU time (`/usr/bin/time -f '%M %e'`); median wall time, " +
      "largest peak RSS",
      `1-minute load average ${loadBefore} before, ${loadAfter} after (figures from a busy ` +
      "machine are not comparable)",
      ...rawTimes,
    ],
    measurements,
    targets,
  };
}
