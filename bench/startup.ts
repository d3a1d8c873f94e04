/**
 * Benchmark: start-up. The median wall time of `siftrust --version` and of
 * `siftrust sif list examples/example.sif` (a small image) must stay under 150 ms, both from
 * the sources (`deno run PERMS cli/main.ts`) and from the bundle (`deno run PERMS
 * dist/siftrust.js`, built first with `deno task bundle`). An empty module run the same way is
 * measured beside them: what Deno's own start-up costs.
 *
 * Each command gets 3 warm-up runs, then at least 15 measured runs, each a new process, with
 * `hyperfine -N` when it is installed, else timed here with `performance.now()` around
 * `Deno.Command`. The peak RSS comes from 3 more runs under GNU time.
 *
 * @module
 */

import {
  type BenchResult,
  GNU_TIME,
  humanSize,
  type Measurement,
  median,
  REPO_ROOT,
  type Target,
  timeOnce,
} from "./measure.ts";

/** Each command's median wall time must stay under this. */
const LIMIT_MS = 150;
/** At least this many measured runs per command. */
const MIN_RUNS = 15;
/** Warm-up runs per command, not measured. */
const WARMUPS = 3;
/** Runs under GNU time for the peak RSS. */
const RSS_RUNS = 3;
/** The small image `sif list` reads. */
const SMALL_IMAGE = "examples/example.sif";

/** A command to time: `deno run --quiet PERMS ENTRY ARGS…`. */
interface Case {
  /** The row's command column. */
  label: string;
  /** The row's image column. */
  image: string;
  imageBytes: number;
  program: string;
  args: string[];
  /** Whether a target applies (not to the empty-module baseline). */
  target: boolean;
}

/** What was measured of one case: wall times in seconds. */
interface Timing {
  times: number[];
}

/** The CLI's permission flags: those of the `siftrust` task (the shipped binary's). */
async function permissions(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const task: string = config.tasks.siftrust;
  return task.split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

async function output(program: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(program, {
    args,
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** `deno task bundle`: dist/siftrust.js from the current sources. */
async function buildBundle(): Promise<void> {
  const { code, stderr } = await output(Deno.execPath(), ["task", "--quiet", "bundle"]);
  if (code !== 0) {
    throw new Error(`deno task bundle failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/** The hyperfine on PATH, if any. */
async function findHyperfine(): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if ((await Deno.stat(`${dir}/hyperfine`)).isFile) return `${dir}/hyperfine`;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** A word for hyperfine's command line (split like a POSIX shell's with `-N`). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** Times every case with one `hyperfine -N` run. */
async function timeWithHyperfine(hyperfine: string, cases: Case[], runs: number) {
  const report = await Deno.makeTempFile({ prefix: "siftrust-bench-hyperfine-", suffix: ".json" });
  try {
    const { code, stderr } = await output(hyperfine, [
      "-N",
      "--warmup",
      String(WARMUPS),
      "--runs",
      String(runs),
      "--style",
      "none",
      "--export-json",
      report,
      ...cases.map((c) => [c.program, ...c.args].map(shellWord).join(" ")),
    ]);
    if (code !== 0) throw new Error(`hyperfine failed: ${new TextDecoder().decode(stderr).trim()}`);
    const results: { times: number[] }[] = JSON.parse(await Deno.readTextFile(report)).results;
    return results.map((r): Timing => ({ times: r.times }));
  } finally {
    await Deno.remove(report);
  }
}

/** Times a case here: `performance.now()` around each run of `Deno.Command`. */
async function timeHere(c: Case, runs: number): Promise<Timing> {
  const command = new Deno.Command(c.program, {
    args: c.args,
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  });
  const times: number[] = [];
  for (let i = 0; i < WARMUPS + runs; i++) {
    const started = performance.now();
    const { code } = await command.output();
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`${c.label} exited with ${code}`);
    if (i >= WARMUPS) times.push(seconds);
  }
  return { times };
}

/** The largest peak RSS (MiB) of a few runs under GNU time; NaN without GNU time. */
async function peakRss(c: Case): Promise<number> {
  try {
    await Deno.stat(GNU_TIME);
  } catch {
    return NaN;
  }
  let peak = 0;
  for (let i = 0; i < RSS_RUNS; i++) {
    const sample = await timeOnce(c.program, c.args, { label: c.label });
    peak = Math.max(peak, sample.maxRssKiB);
  }
  return peak / 1024;
}

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

/** Runs the start-up benchmark; `runs` is raised to 15 when lower. */
export async function startup(requestedRuns: number): Promise<BenchResult> {
  const runs = Math.max(requestedRuns, MIN_RUNS);
  await buildBundle();
  const perms = await permissions();
  const imageBytes = (await Deno.stat(`${REPO_ROOT}${SMALL_IMAGE}`)).size;
  const empty = await Deno.makeTempFile({ prefix: "siftrust-bench-empty-", suffix: ".js" });
  try {
    const deno = Deno.execPath();
    const cases: Case[] = [{
      label: "deno run (empty module)",
      image: "—",
      imageBytes: 0,
      program: deno,
      args: ["run", "--quiet", ...perms, empty],
      target: false,
    }];
    for (const entry of ["cli/main.ts", "dist/siftrust.js"]) {
      cases.push({
        label: `--version (${entry})`,
        image: "—",
        imageBytes: 0,
        program: deno,
        args: ["run", "--quiet", ...perms, `${REPO_ROOT}${entry}`, "--version"],
        target: true,
      }, {
        label: `sif list (${entry})`,
        image: "example.sif",
        imageBytes,
        program: deno,
        args: ["run", "--quiet", ...perms, `${REPO_ROOT}${entry}`, "sif", "list", SMALL_IMAGE],
        target: true,
      });
    }
    // Each command must work before it is timed.
    for (const c of cases) {
      const { code, stderr } = await output(c.program, c.args);
      if (code !== 0) {
        throw new Error(`${c.label} exited with ${code}: ${new TextDecoder().decode(stderr)}`);
      }
    }
    const hyperfine = await findHyperfine();
    let tool: string;
    let timings: Timing[];
    if (hyperfine !== undefined) {
      const version = new TextDecoder().decode((await output(hyperfine, ["--version"])).stdout);
      tool = `\`hyperfine -N\` (${version.trim()})`;
      timings = await timeWithHyperfine(hyperfine, cases, runs);
    } else {
      tool = "`performance.now()` around `Deno.Command` (hyperfine is not installed)";
      timings = [];
      for (const c of cases) timings.push(await timeHere(c, runs));
    }
    const baseline = median(timings[0].times);
    const measurements: Measurement[] = [];
    const targets: Target[] = [];
    for (const [i, c] of cases.entries()) {
      const times = timings[i].times;
      const wall = median(times);
      measurements.push({
        command: c.label,
        image: c.image,
        imageBytes: c.imageBytes,
        runs: times.length,
        medianWallSeconds: wall,
        peakRssMiB: await peakRss(c),
        relative: i === 0 ? "1.00× empty" : `${(wall / baseline).toFixed(2)}× empty`,
      });
      if (c.target) {
        targets.push({
          goal: `\`siftrust ${c.label}\` starts in < ${LIMIT_MS} ms (median of ${times.length})`,
          measured: `${ms(wall)}; min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}`,
          pass: wall * 1000 < LIMIT_MS,
        });
      }
    }
    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")
      .slice(0, 3).join(" ");
    return {
      title: "Start-up: `siftrust --version` and `siftrust sif list` of a small image",
      notes: [
        `timed with ${tool}: ${WARMUPS} warm-up runs, then ${runs} measured runs per command`,
        `each run a new process: \`deno run --quiet ${perms.join(" ")} ENTRY ARGS…\`, ` +
        "stdout and stderr discarded",
        `ENTRY: cli/main.ts (the sources), or dist/siftrust.js (\`deno task bundle\`, rebuilt ` +
        "before measuring); the empty module is Deno's own start-up with the same flags",
        `the small image: ${SMALL_IMAGE} (${humanSize(imageBytes)})`,
        `peak RSS: the largest of ${RSS_RUNS} more runs under ${GNU_TIME} -f %M`,
        `load average at the end: ${load}`,
      ],
      measurements,
      targets,
    };
  } finally {
    await Deno.remove(empty);
  }
}
