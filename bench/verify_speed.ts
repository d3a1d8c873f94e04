/**
 * Benchmark: `siftrust sign` and `siftrust verify` (the bundle) of a 1 GiB image, with one and with two
 * signatures on the image's group, must each take no more than 1.1× the wall time of
 * `openssl dgst -sha256` on the same file (start-up included), and peak under 150 MiB RSS. The
 * reference harness (`sifref verify`, Debian's Go library) is measured beside them.
 *
 * The unsigned image (one group: a squashfs-type partition of pseudo-random bytes and a small
 * JSON object) is made once under `bench/data/` and reused. The run makes two throw-away
 * OpenPGP keys; each round copies the image (untimed, flushed), then times, in turn: signing
 * the copy with key A (the one-signature case), `openssl`, `verify`, `sifref verify`; signing it
 * with key B in place (the two-signature case), `openssl`, `verify`, `sifref verify`. The copy
 * is removed at the end. `SIFTRUST_BENCH_VERIFY_MIB` changes the partition's size (default
 * 1024), e.g. for a quick smoke run.
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
  buildBundle,
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
/**
 * siftrust as it ships: the bundle (`deno task bundle`, built before the rounds), whose entry
 * starts hashing the image before the program has loaded (cli/image_ahead.ts).
 */
const ENTRY = "dist/siftrust.js";
/** siftrust may take at most this many times openssl's wall time. */
const WALL_RATIO_LIMIT = 1.1;
/** siftrust's peak RSS must stay under this. */
const RSS_LIMIT_MIB = 150;
/** The small JSON object beside the partition. */
const JSON_OBJECT = new TextEncoder().encode(
  JSON.stringify({ benchmark: "verify_speed", note: "bench data, never committed" }) + "\n",
);

/** The image measured: 1 GiB, unless `SIFTRUST_BENCH_VERIFY_MIB` says otherwise. */
function imageSize(): { label: string; partitionBytes: number; name: string } {
  const text = Deno.env.get("SIFTRUST_BENCH_VERIFY_MIB") ?? "1024";
  const mib = Number(text);
  if (!Number.isInteger(mib) || mib < 1) {
    throw new Error(`SIFTRUST_BENCH_VERIFY_MIB must be a positive integer, not "${text}"`);
  }
  const partitionBytes = mib * 1024 ** 2;
  const name = mib === 1024 ? "verify-1gib" : `verify-${mib}mib`;
  return { label: humanSize(partitionBytes), partitionBytes, name };
}

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

/** A command measured in every round, and how to check its output. */
interface Contender {
  command: string;
  program: string;
  args: string[];
  env?: Record<string, string>;
  check(stdout: string): void;
}

/** The commands measured on the image once it carries the signatures of `signers`. */
async function readers(image: string, keys: Keys, signers: string[]): Promise<Contender[]> {
  const siftrust = await siftrustCommand(["verify", "--keyring", keys.pubring, image], ENTRY);
  const sameSigners = (shown: string[]) => shown.sort().join() === [...signers].sort().join();
  return [
    {
      command: "openssl dgst -sha256",
      program: "openssl",
      args: ["dgst", "-sha256", image],
      check(stdout) {
        if (!/= [0-9a-f]{64}\s*$/.test(stdout)) throw new Error(`openssl printed "${stdout}"`);
      },
    },
    {
      command: "siftrust verify",
      ...siftrust,
      env: keys.env,
      check(stdout) {
        const shown = [...stdout.matchAll(/Fingerprint: ([0-9A-Fa-f]+)/g)]
          .map((m) => m[1].toUpperCase());
        if (!sameSigners(shown)) {
          throw new Error(`siftrust verify reported signers [${shown}], not [${signers}]`);
        }
      },
    },
    {
      command: "sifref verify",
      program: await sifrefBinary(),
      args: ["verify", image, `--keyring=${keys.pubring}`],
      check(stdout) {
        const report = JSON.parse(stdout) as { ok: boolean; results: { fingerprint: string }[] };
        if (!report.ok || !sameSigners(report.results.map((r) => r.fingerprint.toUpperCase()))) {
          throw new Error(`sifref verify failed: ${stdout.trim()}`);
        }
      },
    },
  ];
}

/** One case: signing with one more key, then reading the image with that many signatures. */
interface SignCase {
  label: string;
  signArgs: string[];
  signers: string[];
}

/** The rows of one case over all rounds, with ratios against openssl. */
function caseRows(label: string, imageBytes: number, samples: Map<string, Sample[]>) {
  const rows = [...samples].map(([command, runs]) =>
    summarize(runs, { command, image: label, imageBytes })
  );
  const openssl = rows.find((r) => r.command.startsWith("openssl"))!.medianWallSeconds;
  for (const row of rows) row.relative = `${(row.medianWallSeconds / openssl).toFixed(2)}× openssl`;
  return { rows, openssl };
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

/** Runs the benchmark: `runs` rounds (plus one warm-up round, its outputs checked). */
export async function verifySpeed(runs: number): Promise<BenchResult> {
  const loadBefore = await loadAverage();
  const size = imageSize();
  const base = await ensureImage(size.name, size.partitionBytes);
  await sifrefBinary();
  const keys = await makeKeys();
  const signed = `${REPO_ROOT}bench/data/${size.name}-signed.sif`;
  const cases: SignCase[] = [
    {
      label: `${size.label}, 1 signature`,
      signArgs: ["--keyidx", "0"],
      signers: [keys.fingerprints[0]],
    },
    {
      label: `${size.label}, 2 signatures`,
      signArgs: ["--keyidx", "1"],
      signers: keys.fingerprints,
    },
  ];
  await buildBundle();
  const samples = cases.map(() => new Map<string, Sample[]>());
  const copyTimes: string[] = [];
  const rawTimes: string[] = [];
  try {
    for (let round = 0; round <= runs; round++) {
      const started = performance.now();
      await copyDurably(base, signed);
      await warmRead(signed);
      copyTimes.push(seconds(started));
      for (const [k, c] of cases.entries()) {
        // After `sifref verify`, the next reader of the file pays more system time on this
        // machine (bench/RESULTS.md): the second signing starts as the first, after a read.
        if (k > 0) await warmRead(signed);
        const sign = await siftrustCommand(["sign", ...c.signArgs, signed], ENTRY);
        const signing: Contender = {
          command: "siftrust sign",
          ...sign,
          env: { ...keys.env, SIFTRUST_PASSPHRASE: "" },
          check: () => {},
        };
        for (const contender of [signing, ...await readers(signed, keys, c.signers)]) {
          const sample = await timeOnce(contender.program, contender.args, {
            env: contender.env,
            captureStdout: round === 0,
            label: contender.command,
          });
          if (round === 0) {
            contender.check(sample.stdout ?? "");
            continue;
          }
          const list = samples[k].get(contender.command) ?? [];
          list.push(sample);
          samples[k].set(contender.command, list);
        }
      }
    }
  } finally {
    await Deno.remove(signed).catch(() => {});
    await removeKeys(keys.dir);
  }
  const imageBytes = (await Deno.stat(base)).size;
  const measurements: Measurement[] = [];
  const targets: Target[] = [];
  for (const [k, c] of cases.entries()) {
    const { rows, openssl } = caseRows(c.label, imageBytes, samples[k]);
    measurements.push(...rows);
    rawTimes.push(
      `${c.label}, wall times (s) in run order: ${
        [...samples[k]].map(([command, list]) =>
          `${command.split(" ").slice(0, 2).join(" ")} ${
            list.map((x) => x.wallSeconds.toFixed(2)).join(" ")
          }`
        ).join("; ")
      }`,
    );
    for (const command of ["siftrust sign", "siftrust verify"]) {
      const row = rows.find((r) => r.command === command)!;
      const ratio = row.medianWallSeconds / openssl;
      targets.push({
        goal: `\`${command}\` (${c.label}) takes ≤ ${WALL_RATIO_LIMIT}× ` +
          "`openssl dgst -sha256`'s wall time",
        measured: `${ratio.toFixed(2)}×: ${row.medianWallSeconds.toFixed(2)} s vs ` +
          `${openssl.toFixed(2)} s`,
        pass: ratio <= WALL_RATIO_LIMIT,
      });
      targets.push({
        goal: `\`${command}\` (${c.label}) peaks under ${RSS_LIMIT_MIB} MiB RSS`,
        measured: `${row.peakRssMiB.toFixed(1)} MiB`,
        pass: row.peakRssMiB < RSS_LIMIT_MIB,
      });
    }
  }
  const loadAfter = await loadAverage();
  return {
    title: `Wall time and memory of \`sign\` and \`verify\` of a ${size.label} image`,
    notes: [
      "image: one group of a squashfs-type primary partition (xorshift32 bytes) and a " +
      `${JSON_OBJECT.length}-byte JSON object; signatures by two throw-away RSA 2048 keys ` +
      "(A with `--keyidx 0`, then B with `--keyidx 1`), both on group 1",
      `each round: ${base} (kept) copied to ${signed} (with fsync; ${
        copyTimes.join(", ")
      } s) and read once (untimed); then \`siftrust sign --keyidx 0\`, \`openssl\`, ` +
      "`siftrust verify`, `sifref verify`; then the image read once more (untimed), and " +
      "`siftrust sign --keyidx 1` (the second signature, in place), `openssl`, " +
      "`siftrust verify`, `sifref verify`",
      "`siftrust sign|verify` run from the bundle (`deno run` of `dist/siftrust.js`, built from the " +
      "current sources first) with the `siftrust` task's permissions (no " +
      "user or system keyring; verify with `--keyring pubring.gpg`), `openssl dgst -sha256 " +
      "IMAGE`, `sifref verify IMAGE --keyring=pubring.gpg` (the Go reference harness)",
      `1 warm-up round (outputs checked: every signer verified), then ${runs} measured ` +
      "rounds; each run a new process under GNU time (`/usr/bin/time -f '%M %e'`); median " +
      "wall time, largest peak RSS",
      `1-minute load average ${loadBefore} before, ${loadAfter} after (figures from a busy ` +
      "machine are not comparable)",
      ...rawTimes,
    ],
    measurements,
    targets,
  };
}
