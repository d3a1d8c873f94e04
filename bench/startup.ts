/**
 * Benchmark: start-up. The median wall time of `siftrust --version` and of
 * `siftrust sif list examples/example.sif` (a small image) must stay under 150 ms, both from
 * the sources (`deno run PERMS cli/main.ts`) and from the bundle (`deno run PERMS
 * dist/siftrust.js`, built first with `deno task bundle`: the entry, cli/bundle_entry.ts, which
 * loads the program, dist/siftrust-full.js, when the fast path does not answer); `--version`
 * from the bundle under 100 ms. A cached `siftrust check --policy P IMAGE` (the fast path,
 * cli/fast_check.ts) must take at most 3× an empty module run the same way, which is measured
 * beside them: what Deno's own start-up costs.
 *
 * Each command gets 3 warm-up runs, then at least 15 measured runs, each a new process, with
 * `hyperfine -N` when it is installed, else timed here with `performance.now()` around
 * `Deno.Command`. The peak RSS comes from 3 more runs under GNU time.
 *
 * @module
 */

import {
  type BenchResult,
  buildBundle,
  cliPermissions,
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
/** `--version` from the bundle must start in less than this. */
const BUNDLE_VERSION_LIMIT_MS = 100;
/** A cached `check` may take at most this many times the empty module's wall time. */
const CACHED_CHECK_LIMIT = 3;
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
  /** Its target: a wall-time limit (ms), or a limit relative to the empty module; none. */
  target?: { ms: number } | { timesEmpty: number };
}

/** What was measured of one case: wall times in seconds. */
interface Timing {
  times: number[];
}

/** The environment of every timed command (see {@linkcode checkLab}). */
let runEnv: Record<string, string> = { NO_COLOR: "1" };

async function output(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Deno.CommandOutput> {
  return await new Deno.Command(program, {
    args,
    cwd: REPO_ROOT,
    env: { ...runEnv, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
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
    env: runEnv,
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
    const sample = await timeOnce(c.program, c.args, { label: c.label, env: runEnv });
    peak = Math.max(peak, sample.maxRssKiB);
  }
  return peak / 1024;
}

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

/**
 * A folder for the cached `check`: the example image signed by the demo key, a policy that
 * trusts that key from a keyring beside it (`offline: true`), and an environment whose caches
 * are inside the folder. The check is run twice (decided and kept, then kept again) before
 * anything is timed.
 */
async function checkLab(): Promise<{ dir: string; env: Record<string, string>; args: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-bench-fast-" });
  await Deno.copyFile(`${REPO_ROOT}examples/example-signed.sif`, `${dir}/image.sif`);
  await Deno.copyFile(`${REPO_ROOT}examples/example-key.pub.asc`, `${dir}/keyring.asc`);
  const site = await Deno.readTextFile(`${REPO_ROOT}examples/site.yaml`);
  const fingerprint = site.match(/^\s*fingerprint: "([0-9A-F ]+)"/m)?.[1].replaceAll(" ", "");
  if (fingerprint === undefined) throw new Error("examples/site.yaml names no fingerprint");
  await Deno.writeTextFile(
    `${dir}/policy.yaml`,
    JSON.stringify({
      version: 1,
      signers: { demo: { fingerprint } },
      keys: { files: ["keyring.asc"], local: false, offline: true },
    }) + "\n",
  );
  const env = {
    NO_COLOR: "1",
    HOME: `${dir}/home`,
    XDG_CACHE_HOME: `${dir}/cache`,
    SIFTRUST_CACHEDIR: `${dir}/cache/siftrust`,
    SIFTRUST_SYSCONFDIR: `${dir}/etc`,
  };
  // The cache keeps nothing about an image changed in the current second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  return { dir, env, args: ["check", "--policy", `${dir}/policy.yaml`, `${dir}/image.sif`] };
}

/** Fails unless the cached check of `entry` is answered by the fast path. */
async function assertFastPath(perms: string[], entry: string, args: string[]): Promise<void> {
  const run = ["run", "--quiet", ...perms, entry, ...args];
  for (let i = 0; i < 2; i++) await output(Deno.execPath(), run);
  const { code, stdout, stderr } = await output(Deno.execPath(), run, {
    SIFTRUST_DEBUG_FASTPATH: "1",
  });
  const text = new TextDecoder().decode(stderr);
  if (
    code !== 0 || !new TextDecoder().decode(stdout).startsWith("ALLOW") || !/fast path:/.test(text)
  ) {
    throw new Error(
      `the cached check (${entry}) did not take the fast path (exit ${code}): ${text}`,
    );
  }
}

function targetGoal(c: Case, runs: number): string {
  const what = `\`siftrust ${c.label}\``;
  if (c.target === undefined) return what;
  return "ms" in c.target
    ? `${what} starts in < ${c.target.ms} ms (median of ${runs})`
    : `${what} takes ≤ ${c.target.timesEmpty}× an empty \`deno run\` (medians of ${runs})`;
}

/** Runs the start-up benchmark; `runs` is raised to 15 when lower. */
export async function startup(requestedRuns: number): Promise<BenchResult> {
  const runs = Math.max(requestedRuns, MIN_RUNS);
  await buildBundle();
  const perms = await cliPermissions();
  const imageBytes = (await Deno.stat(`${REPO_ROOT}${SMALL_IMAGE}`)).size;
  const empty = await Deno.makeTempFile({ prefix: "siftrust-bench-empty-", suffix: ".js" });
  const lab = await checkLab();
  runEnv = lab.env;
  try {
    const deno = Deno.execPath();
    const checkBytes = (await Deno.stat(`${lab.dir}/image.sif`)).size;
    const cases: Case[] = [{
      label: "deno run (empty module)",
      image: "—",
      imageBytes: 0,
      program: deno,
      args: ["run", "--quiet", ...perms, empty],
    }];
    const entries = [
      { name: "cli/main.ts", path: `${REPO_ROOT}cli/main.ts` },
      { name: "dist/siftrust.js", path: `${REPO_ROOT}dist/siftrust.js` },
    ];
    for (const entry of entries) {
      await assertFastPath(perms, entry.path, lab.args);
      // The bundle as docs/install.md runs it (this repository's deno.json is not its config).
      const flags = entry.name.startsWith("dist/") ? ["--no-config", ...perms] : perms;
      cases.push({
        label: `--version (${entry.name})`,
        image: "—",
        imageBytes: 0,
        program: deno,
        args: ["run", "--quiet", ...flags, entry.path, "--version"],
        target: { ms: entry.name === "dist/siftrust.js" ? BUNDLE_VERSION_LIMIT_MS : LIMIT_MS },
      }, {
        label: `sif list (${entry.name})`,
        image: "example.sif",
        imageBytes,
        program: deno,
        args: ["run", "--quiet", ...flags, entry.path, "sif", "list", SMALL_IMAGE],
        target: { ms: LIMIT_MS },
      }, {
        label: `check, cached (${entry.name})`,
        image: "example-signed.sif",
        imageBytes: checkBytes,
        program: deno,
        args: ["run", "--quiet", ...flags, entry.path, ...lab.args],
        target: { timesEmpty: CACHED_CHECK_LIMIT },
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
      if (c.target !== undefined) {
        const spread = `min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}`;
        targets.push(
          "ms" in c.target
            ? {
              goal: targetGoal(c, times.length),
              measured: `${ms(wall)}; ${spread}`,
              pass: wall * 1000 < c.target.ms,
            }
            : {
              goal: targetGoal(c, times.length),
              measured: `${(wall / baseline).toFixed(2)}×: ${ms(wall)} vs ${
                ms(baseline)
              }; ${spread}`,
              pass: wall / baseline <= c.target.timesEmpty,
            },
        );
      }
    }
    const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")
      .slice(0, 3).join(" ");
    return {
      title: "Start-up: `--version`, `sif list` of a small image, and a cached `check`",
      notes: [
        `timed with ${tool}: ${WARMUPS} warm-up runs, then ${runs} measured runs per command`,
        `each run a new process: \`deno run --quiet ${perms.join(" ")} ENTRY ARGS…\`, ` +
        "stdout and stderr discarded",
        "ENTRY: cli/main.ts (the sources), or dist/siftrust.js (`deno task bundle`, rebuilt " +
        "before measuring: the entry, which loads dist/siftrust-full.js beside it when the fast " +
        "path does not answer; run with `--no-config`, as docs/install.md does); the empty " +
        "module is Deno's own start-up with the same flags",
        `the small image: ${SMALL_IMAGE} (${humanSize(imageBytes)})`,
        "cached check: `check --policy P IMAGE` of examples/example-signed.sif under a policy " +
        "trusting the demo key (keyring beside it, `offline: true`), decided twice before timing " +
        "(caches in a temporary folder: `SIFTRUST_CACHEDIR`, `XDG_CACHE_HOME`); before timing, " +
        "each entry's run is confirmed to take the fast path (`SIFTRUST_DEBUG_FASTPATH=1`)",
        `peak RSS: the largest of ${RSS_RUNS} more runs under ${GNU_TIME} -f %M`,
        `load average at the end: ${load}`,
      ],
      measurements,
      targets,
    };
  } finally {
    runEnv = { NO_COLOR: "1" };
    await Deno.remove(empty);
    await Deno.remove(lab.dir, { recursive: true });
  }
}
