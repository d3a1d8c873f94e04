/**
 * What the benchmarks share: running the CLI under GNU time, summarising the runs, and the
 * shape of a benchmark's result, which `bench/run.ts` prints as a Markdown table.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** GNU time, which reports a process's peak RSS (`%M`, KiB) and wall time (`%e`, s). */
export const GNU_TIME = "/usr/bin/time";

/** One row of a benchmark's table: a command measured over several runs. */
export interface Measurement {
  /** The command, e.g. `sif list`. */
  command: string;
  /** Which image, e.g. `4 GiB squashfs`. */
  image: string;
  /** The image's size in bytes. */
  imageBytes: number;
  /** Measured runs (after one warm-up run). */
  runs: number;
  /** Median wall time, seconds. */
  medianWallSeconds: number;
  /** Largest peak RSS over the runs, MiB. */
  peakRssMiB: number;
  /** How the wall time compares with another row's, e.g. `1.08× openssl` (optional column). */
  relative?: string;
}

/** A goal a benchmark checks, and whether the measurement met it. */
export interface Target {
  /** What is promised, e.g. `sif list of a 4 GiB image peaks under 100 MiB RSS`. */
  goal: string;
  /** What was measured. */
  measured: string;
  /** Whether the goal was met. */
  pass: boolean;
}

/** What one benchmark returns. */
export interface BenchResult {
  /** A heading for its table. */
  title: string;
  /** Lines printed before the table (what was measured, on which files). */
  notes: string[];
  measurements: Measurement[];
  targets: Target[];
}

/** The CLI's permission flags, as `deno task siftrust` (the shipped binary) has them. */
export async function cliPermissions(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const task: string = config.tasks.siftrust;
  return task.split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

/**
 * The program and arguments that run `siftrust ARGS…` as `deno task siftrust` does: from the
 * sources, or from another entry such as the bundle's `dist/siftrust.js` (see
 * {@linkcode buildBundle}), with the same permissions. The bundle runs with `--no-config`, as
 * docs/install.md runs it: it needs nothing of this repository's deno.json, which Deno would
 * otherwise find above `dist/` and read, with its lock file, at every start (some 20 ms).
 */
export async function siftrustCommand(
  args: string[],
  entry = "cli/main.ts",
): Promise<{ program: string; args: string[] }> {
  const config = entry.startsWith("dist/") ? ["--no-config"] : [];
  return {
    program: Deno.execPath(),
    args: ["run", "--quiet", ...config, ...await cliPermissions(), `${REPO_ROOT}${entry}`, ...args],
  };
}

/** `deno task bundle`: dist/siftrust.js and dist/siftrust-full.js from the current sources. */
export async function buildBundle(): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "bundle"],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno task bundle failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** One run of a command: its peak RSS (KiB) and wall time (seconds) as GNU time measured them. */
export interface Sample {
  maxRssKiB: number;
  wallSeconds: number;
  /** The command's stdout, when it was asked for. */
  stdout?: string;
}

/** Options of {@linkcode timeOnce}. */
export interface TimeOptions {
  /** Extra environment variables (added to this process's environment and `NO_COLOR=1`). */
  env?: Record<string, string>;
  /** Keep the command's stdout (default: discarded). */
  captureStdout?: boolean;
  /** The command as error messages show it (default: the program and its arguments). */
  label?: string;
}

/**
 * Runs `program ARGS…` once under GNU time, in the repository root, and returns what GNU time
 * measured; throws when the command exits non-zero.
 */
export async function timeOnce(
  program: string,
  args: string[],
  options: TimeOptions = {},
): Promise<Sample> {
  const report = await Deno.makeTempFile({ prefix: "siftrust-bench-time-" });
  try {
    const command = new Deno.Command(GNU_TIME, {
      args: ["-o", report, "-f", "%M %e", program, ...args],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: options.captureStdout ? "piped" : "null",
      stderr: "piped",
    });
    const output = await command.output();
    const { code, stderr } = output;
    if (code !== 0) {
      throw new Error(
        `${options.label ?? [program, ...args].join(" ")} exited with ${code}: ${
          new TextDecoder().decode(stderr).trim()
        }`,
      );
    }
    // The last line holds the format; an earlier one may say "Command exited with …".
    const line = (await Deno.readTextFile(report)).trim().split("\n").at(-1) ?? "";
    const [rss, wall] = line.split(" ").map(Number);
    if (!Number.isFinite(rss) || !Number.isFinite(wall)) {
      throw new Error(`cannot read GNU time's report "${line}"`);
    }
    return {
      maxRssKiB: rss,
      wallSeconds: wall,
      // Deno throws on reading `stdout` when it was not piped.
      stdout: options.captureStdout ? new TextDecoder().decode(output.stdout) : undefined,
    };
  } finally {
    await Deno.remove(report);
  }
}

/** What a table row says about its command, besides the figures. */
export type Describe = Pick<Measurement, "command" | "image" | "imageBytes" | "relative">;

/** A table row from some runs: their median wall time and their largest peak RSS. */
export function summarize(samples: Sample[], describe: Describe): Measurement {
  return {
    ...describe,
    runs: samples.length,
    medianWallSeconds: median(samples.map((s) => s.wallSeconds)),
    peakRssMiB: Math.max(...samples.map((s) => s.maxRssKiB)) / 1024,
  };
}

/**
 * Runs `siftrust ARGS…` once to warm up, then `runs` times, each as a separate process under
 * GNU time, and summarises the runs.
 */
export async function measureCli(
  args: string[],
  runs: number,
  describe: Describe,
): Promise<Measurement> {
  const command = await siftrustCommand(args);
  const options = { label: `siftrust ${args.join(" ")}` };
  const run = () => timeOnce(command.program, command.args, options);
  await run();
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await run());
  return summarize(samples, describe);
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A size in bytes for people: `4.00 GiB`, `296.2 KiB`. */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A Markdown table of measurements; the `relative` column only when a row has one. */
export function markdownTable(measurements: Measurement[]): string {
  const relative = measurements.some((m) => m.relative !== undefined);
  const header = ["command", "image", "image size", "runs", "median wall (s)", "peak RSS (MiB)"];
  if (relative) header.push("relative wall");
  const rows = measurements.map((m) => [
    `\`${m.command}\``,
    m.image,
    humanSize(m.imageBytes),
    String(m.runs),
    m.medianWallSeconds.toFixed(2),
    m.peakRssMiB.toFixed(1),
    ...(relative ? [m.relative ?? ""] : []),
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const align = header.map((_, i) => i < 2 ? "---" : "---:");
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

/**
 * `bytes` of xorshift32 output from `seed`, in 4 MiB chunks of one reused buffer:
 * incompressible, the same on every run, and never held whole in memory.
 */
export async function* patternData(bytes: number, seed: number): AsyncGenerator<Uint8Array> {
  const words = new Uint32Array((4 << 20) / 4);
  let x = seed;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const chunk = new Uint8Array(words.buffer);
  for (let done = 0; done < bytes; done += chunk.length) {
    yield chunk.subarray(0, Math.min(chunk.length, bytes - done));
  }
}
