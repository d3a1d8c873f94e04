/**
 * What ships: the bundle (`deno task bundle` → dist/siftrust.js, the entry, and
 * dist/siftrust-full.js, the program it loads) runs with exactly the shipped permissions and
 * needs nothing from Deno's cache; `deno task compile` either builds this machine's binary or
 * fails with one line that says what to do (DENORT_BIN); the shipped permissions are those of
 * the `siftrust` task, never `-A`; `--version` names the real Deno and the pinned openpgp.js;
 * every command's help has examples.
 *
 * @module
 */

import assert from "node:assert/strict";
import { shippedPermissions } from "../../build/compile.ts";
import { CLI_ENTRY, type CliResult, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { existsSync, REPO_ROOT } from "../helpers/peers.ts";
import { tempDir, testEnv } from "../helpers/env.ts";
import { buildBundle, BUNDLE_FILES, bundleCommands } from "../helpers/bundle.ts";

const DENO_JSON = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
const BUNDLE = `${REPO_ROOT}dist/siftrust.js`;
const VERSION_LINE = /^siftrust (\S+) \(deno (\S+), openpgp\.js (\S+)\)$/;

/** Whether this run tests the bundle itself (`deno task test`'s second pass). */
const TESTING_THE_BUNDLE = CLI_ENTRY.endsWith("dist/siftrust.js");

/** A throw-away HOME, caches and key folders for the CLI. */
async function withEnv(fn: (env: Record<string, string>, dir: string) => Promise<void>) {
  await using box = await testEnv("siftrust-build-", { folders: true });
  await fn(box.env, box.dir);
}

const decoder = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program in the repository root and collects its output. */
async function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

const context = (result: Run | CliResult) =>
  `exit ${result.code}\nstdout: ${result.stdout.slice(0, 3000)}\nstderr: ${result.stderr}`;

/** The `--allow-…` flags of the `siftrust` task, which must be `deno run FLAGS… cli/main.ts`. */
function taskPermissions(): string[] {
  const words: string[] = DENO_JSON.tasks.siftrust.trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"], DENO_JSON.tasks.siftrust);
  assert.equal(words.at(-1), "cli/main.ts", DENO_JSON.tasks.siftrust);
  return words.slice(2, -1);
}

/** The openpgp.js version pinned in deno.json's imports. */
function pinnedOpenpgp(): string {
  const spec: string = DENO_JSON.imports.openpgp;
  const match = /^npm:openpgp@(\d+\.\d+\.\d+)$/.exec(spec);
  assert.ok(match, `openpgp is not pinned to an exact version: "${spec}"`);
  return match[1];
}

/** Asserts a `--version` line names siftrust's, this Deno's and the pinned openpgp.js's versions. */
function assertVersionLine(stdout: string, what: string): void {
  const match = VERSION_LINE.exec(stdout.trimEnd());
  assert.ok(match, `${what}: unexpected --version output ${JSON.stringify(stdout)}`);
  assert.equal(stdout, `${match[0]}\n`, `${what}: --version prints one line`);
  assert.equal(match[1], DENO_JSON.version, `${what}: siftrust version`);
  assert.equal(match[2], Deno.version.deno, `${what}: deno version`);
  assert.equal(match[3], pinnedOpenpgp(), `${what}: openpgp.js version`);
}

Deno.test("shippedPermissions(): the siftrust task's flags, never -A or --allow-all", () => {
  const flags = shippedPermissions();
  assert.ok(flags.length > 0);
  for (const flag of flags) {
    assert.match(flag, /^--allow-[a-z]+(=\S+)?$/, flag);
    assert.notEqual(flag, "-A");
    assert.ok(!flag.startsWith("--allow-all"), flag);
  }
  // The whole task: nothing but permission flags between `deno run` and the entry point.
  assert.deepEqual(flags, taskPermissions());
  assert.deepEqual(flags, PERMISSIONS);
  assert.ok(!/(^|\s)(-A|--allow-all)(\s|=|$)/.test(DENO_JSON.tasks.siftrust));
  // The binary is built with them: compile.ts hands shippedPermissions() to `deno compile`.
  const compile = Deno.readTextFileSync(`${REPO_ROOT}build/compile.ts`);
  assert.match(compile, /"compile",\s*\.\.\.shippedPermissions\(\)/);
});

Deno.test("deno task bundle: dist/siftrust.js runs with exactly the shipped permissions", async () => {
  // In `deno task test`'s second pass the other test files run dist/siftrust.js at the same
  // time, and `deno bundle` truncates its output before writing it: there, the same bundle
  // commands write to a folder of their own instead.
  await using temp = await tempDir("siftrust-bundle-");
  const dir = temp.dir;
  let bundle = BUNDLE;
  // Two files: the program, then the entry (the fast path), which loads it from its folder.
  const task: string = DENO_JSON.tasks.bundle;
  const outputs = (await bundleCommands("dist")).map((args) => args.slice(-3).join(" "));
  assert.deepEqual(outputs, [
    "--output dist/siftrust-full.js cli/full_entry.ts",
    "--output dist/siftrust.js cli/bundle_entry.ts",
  ], task);
  if (TESTING_THE_BUNDLE) {
    bundle = await buildBundle(dir);
  } else {
    const started = Date.now();
    const built = await run(Deno.execPath(), ["task", "--quiet", "bundle"]);
    assert.equal(built.code, 0, context(built));
    for (const file of [BUNDLE, `${REPO_ROOT}dist/${BUNDLE_FILES.program}`]) {
      assert.ok(
        (await Deno.stat(file)).mtime!.getTime() >= started - 2000,
        `deno task bundle did not write ${file}`,
      );
    }
  }
  // Nothing from Deno's cache: an empty DENO_DIR and --cached-only (no download either).
  const emptyCache = `${dir}/deno-dir`;
  await Deno.mkdir(emptyCache);
  await withEnv(async (env) => {
    const runBundle = (args: string[]) =>
      run(Deno.execPath(), [
        "run",
        "--quiet",
        "--cached-only",
        "--no-prompt",
        ...PERMISSIONS,
        bundle,
        ...args,
      ], { ...env, DENO_DIR: emptyCache });
    const version = await runBundle(["--version"]);
    assert.equal(version.code, 0, context(version));
    assertVersionLine(version.stdout, "the bundle");

    const list = await runBundle(["sif", "list", "examples/example.sif"]);
    assert.equal(list.code, 0, context(list));
    assert.equal(list.stderr, "", context(list));
    assert.match(list.stdout, /Def\.FILE/, context(list));
    // The same listing as the sources give.
    const fromSources = await run(Deno.execPath(), [
      "run",
      "--quiet",
      ...PERMISSIONS,
      "cli/main.ts",
      "sif",
      "list",
      "examples/example.sif",
    ], { ...env, DENO_DIR });
    assert.equal(fromSources.code, 0, context(fromSources));
    assert.equal(list.stdout, fromSources.stdout);
  });
});

Deno.test("run from the sources with an --allow-read that leaves them out: exit 2 and one line", async () => {
  // The sources' entry loads the commands at run time, which Deno reads under --allow-read.
  await using temp = await tempDir("siftrust-sources-");
  const narrow = PERMISSIONS.map((flag) =>
    flag === "--allow-read" ? `--allow-read=${temp.dir},${REPO_ROOT}cli` : flag
  );
  const result = await run(Deno.execPath(), [
    "run",
    "--quiet",
    ...narrow,
    "cli/main.ts",
    "sif",
    "list",
    "examples/example.sif",
  ], { DENO_DIR });
  assert.equal(result.code, 2, context(result));
  assert.equal(result.stdout, "", context(result));
  assert.match(
    result.stderr,
    /^ERROR: {3}cannot load siftrust's commands from \S+: run from the sources, Deno's --allow-read must include them\n$/,
  );
});

Deno.test("deno task compile: builds this machine's binary, or fails in one line naming DENORT_BIN", async () => {
  const target = Deno.build.target;
  const binary = `${REPO_ROOT}dist/siftrust`;
  const before = existsSync(binary) ? (await Deno.stat(binary)).mtime?.getTime() : undefined;
  const result = await run(Deno.execPath(), ["task", "--quiet", "compile"], {
    SIFTRUST_TARGETS: target,
  });
  if (result.code === 0) {
    // Built: dist/siftrust is new and runs.
    assert.ok(existsSync(binary), `compile succeeded without dist/siftrust\n${context(result)}`);
    assert.notEqual((await Deno.stat(binary)).mtime?.getTime(), before, "dist/siftrust is old");
    await withEnv(async (env) => {
      const version = await run(binary, ["--version"], env);
      assert.equal(version.code, 0, context(version));
      assertVersionLine(version.stdout, "dist/siftrust");
    });
  } else {
    // No internet (this machine): exactly one line, saying what to do.
    assert.equal(result.code, 1, context(result));
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `more than one line:\n${context(result)}`);
    assert.match(lines[0], /^ERROR: +/, context(result));
    assert.ok(lines[0].includes("DENORT_BIN"), context(result));
    assert.ok(lines[0].includes(target), context(result));
    assert.ok(!result.stderr.includes("\x1b["), "colour codes with NO_COLOR set");
  }
});

Deno.test("--version names this Deno and the pinned openpgp.js", async () => {
  await withEnv(async (env) => {
    for (const flag of ["--version", "-V"]) {
      const result = await runCli([flag], { env });
      assert.equal(result.code, 0, context(result));
      assert.equal(result.stderr, "", context(result));
      assertVersionLine(result.stdout, `siftrust ${flag}`);
    }
  });
  // deno.lock resolves openpgp to the pinned version.
  const lock = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.lock`));
  const pinned = pinnedOpenpgp();
  assert.equal(lock.specifiers?.[`npm:openpgp@${pinned}`], pinned, "deno.lock's openpgp");
});

/** The commands a help text lists (`key|keys` → key), without `help`. */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:\n/m)[1] ?? "";
  return section.split("\n")
    .map((line) => /^ {2}([a-z][a-z0-9-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== "help");
}

/** The lines of a help text's "Example(s):" section, if it has one. */
function examples(help: string): string[] | undefined {
  const section = /^Examples?:\n((?: {2}.*(?:\n|$))+)/m.exec(help);
  return section?.[1].split("\n").filter((line) => line.trim() !== "");
}

/** Runs `fn` over `items`, two at a time (the machine has 2 cores). */
async function pool<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

/** `siftrust --help`, `siftrust CMD --help` for each command, and its subcommands', made once. */
let helps: Promise<Map<string, string>> | undefined;

function allHelp(): Promise<Map<string, string>> {
  helps ??= (async () => {
    const texts = new Map<string, string>();
    await withEnv(async (env) => {
      const helpOf = async (words: string[]) => {
        const result = await runCli([...words, "--help"], { env });
        assert.equal(result.code, 0, `siftrust ${words.join(" ")} --help: ${context(result)}`);
        texts.set(words.join(" "), result.stdout);
        return result.stdout;
      };
      const top = listedCommands(await helpOf([]));
      assert.ok(top.length >= 10, `too few commands in siftrust --help: ${top}`);
      const subs = await pool(top, async (command) => {
        return listedCommands(await helpOf([command])).map((sub) => [command, sub]);
      });
      await pool(subs.flat(), helpOf);
    });
    return texts;
  })();
  return helps;
}

/** The commands (of `words.length` words) whose help has no example of themselves. */
function withoutExamples(texts: Map<string, string>, depth: number): string[] {
  return [...texts].filter(([words]) => words.split(" ").length === depth && words !== "")
    .filter(([words, help]) => {
      const lines = examples(help);
      const [command] = words.split(" ");
      return lines === undefined || !lines.some((line) => line.includes(`siftrust ${command}`));
    })
    .map(([words]) => words)
    .sort();
}

const shown = (words: string) => `siftrust ${words} --help`;

Deno.test("--help: every top-level command has an Example section", async () => {
  const texts = await allHelp();
  const missing = withoutExamples(texts, 1);
  assert.deepEqual(missing, [], `no "Examples:" in ${missing.map(shown).join(", ")}`);
});

Deno.test("--help: every subcommand has an Example section", async () => {
  const texts = await allHelp();
  assert.ok([...texts.keys()].some((words) => words.split(" ").length === 2), "no subcommands");
  const missing = withoutExamples(texts, 2);
  assert.deepEqual(missing, [], `no "Examples:" in ${missing.map(shown).join(", ")}`);
});
