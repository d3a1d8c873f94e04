/**
 * `siftrust completions bash|zsh|fish`: the scripts parse, complete subcommands and options
 * the way a shell would ask for them, and name every top-level command that `siftrust --help`
 * lists; an unknown shell is a usage error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { peerTest } from "../helpers/peers.ts";
import { tempDir, testEnv } from "../helpers/env.ts";

/** A throw-away HOME, caches and key folders for the CLI. */
async function withEnv(fn: (env: Record<string, string>, dir: string) => Promise<void>) {
  await using box = await testEnv("siftrust-completions-", { folders: true });
  await fn(box.env, box.dir);
}

const context = (result: CliResult) =>
  `exit ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr}`;

/** The scripts of the three shells and the top-level commands of `--help`, made once. */
interface Scripts {
  bash: string;
  zsh: string;
  fish: string;
  /** Each top-level command of `siftrust --help`: its name, then its aliases. */
  commands: string[][];
}

let made: Promise<Scripts> | undefined;

/** The top-level commands in `siftrust --help` (`key|keys` → [key, keys]), without `help`. */
function helpCommands(help: string): string[][] {
  const section = help.split(/^Commands:\n/m)[1] ?? "";
  return section.split("\n")
    .map((line) => /^ {2}([a-z][a-z0-9|-]*)/.exec(line)?.[1])
    .filter((names): names is string => names !== undefined && names !== "help")
    .map((names) => names.split("|"));
}

function scripts(): Promise<Scripts> {
  made ??= withScripts();
  return made;
}

async function withScripts(): Promise<Scripts> {
  let result: Scripts | undefined;
  await withEnv(async (env) => {
    const [help, bash, zsh, fish] = await Promise.all([
      runCli(["--help"], { env }),
      runCli(["completions", "bash"], { env }),
      runCli(["completions", "zsh"], { env }),
      runCli(["completions", "fish"], { env }),
    ]);
    for (const run of [help, bash, zsh, fish]) {
      assert.equal(run.code, 0, context(run));
      assert.equal(run.stderr, "", context(run));
    }
    const commands = helpCommands(help.stdout);
    assert.ok(commands.length >= 10, `too few commands in --help:\n${help.stdout}`);
    result = { bash: bash.stdout, zsh: zsh.stdout, fish: fish.stdout, commands };
  });
  return result!;
}

/**
 * What `_siftrust` puts in COMPREPLY for the command line `words` (the last word being
 * completed), sourced in a bash subprocess run in an empty folder, so that file names do not
 * mix in.
 */
async function complete(script: string, words: string[]): Promise<string[]> {
  await using temp = await tempDir("siftrust-complete-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/siftrust.bash`, script);
  const quoted = words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(" ");
  const program = [
    `source ${dir}/siftrust.bash`,
    `COMP_WORDS=(${quoted})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE="\${COMP_WORDS[*]}"`,
    `COMP_POINT=\${#COMP_LINE}`,
    "_siftrust",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", program],
    cwd: `${dir}`,
    env: { LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `bash failed on ${words.join(" ")}: ${err}`);
  assert.equal(err, "", `bash complained on ${words.join(" ")}`);
  return new TextDecoder().decode(stdout).split("\n").filter((w) => w !== "")
    .filter((w) => w !== "siftrust.bash");
}

/** Asserts that completing `words` offers exactly `expected` (in any order). */
async function assertCompletes(script: string, words: string[], expected: string[]) {
  const got = await complete(script, words);
  assert.deepEqual(
    [...got].sort(),
    [...expected].sort(),
    `completing "${words.join(" ")}" offered ${JSON.stringify(got)}`,
  );
}

Deno.test("completions bash: passes bash -n", async () => {
  const { bash } = await scripts();
  await using temp = await tempDir("siftrust-completions-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/siftrust.bash`, bash);
  const { code, stderr } = await new Deno.Command("bash", {
    args: ["-n", `${dir}/siftrust.bash`],
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(bash, /^complete .*-F _siftrust siftrust$/m);
});

Deno.test("completions bash: completes top-level commands, subcommands and options", async () => {
  const { bash } = await scripts();
  await assertCompletes(bash, ["siftrust", "si"], ["sif", "siftool", "sign"]);
  await assertCompletes(bash, ["siftrust", "key", "p"], ["pull", "push"]);
  await assertCompletes(bash, ["siftrust", "verify", "--k"], ["--keyring", "--key"]);
  await assertCompletes(bash, ["siftrust", "check", "--ex"], ["--explain"]);
  // Options before the subcommand, and after a subcommand's argument, do not lose the place.
  await assertCompletes(bash, ["siftrust", "sif", "list", "--"], ["--json", "--help"]);
  await assertCompletes(bash, ["siftrust", "--version", "ver"], ["verify"]);
});

Deno.test("completions bash: the aliases complete like their commands (keys, siftool)", async () => {
  const { bash } = await scripts();
  await assertCompletes(bash, ["siftrust", "keys", "p"], ["pull", "push"]);
  assert.deepEqual(
    (await complete(bash, ["siftrust", "siftool", ""])).sort(),
    (await complete(bash, ["siftrust", "sif", ""])).sort(),
  );
});

Deno.test("completions zsh: loads bashcompinit first, then the bash script", async () => {
  const { bash, zsh } = await scripts();
  const [first, ...rest] = zsh.split("\n");
  assert.match(first, /bashcompinit/);
  assert.match(first, /^autoload -U \+X bashcompinit && bashcompinit$/);
  assert.equal(rest.join("\n"), bash);
});

Deno.test("completions fish: a complete -c siftrust line for every top-level command", async () => {
  const { fish, commands } = await scripts();
  const lines = fish.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  for (const line of lines) assert.match(line, /^complete -c siftrust /, line);
  const offered = lines.filter((line) => line.includes("__fish_use_subcommand"))
    .map((line) => /-a '([^']+)'/.exec(line)?.[1])
    .filter((name) => name !== undefined);
  for (const names of commands) {
    for (const name of names) {
      assert.ok(offered.includes(name), `fish does not offer "${name}" as a command`);
    }
  }
  // Subcommands and options are there too.
  assert.match(fish, /^complete -c siftrust -n '[^']*key[^']*' -f -a 'pull'$/m);
  assert.match(fish, /^complete -c siftrust -n '[^']*verify[^']*' -l keyring$/m);
});

peerTest("completions fish: passes fish -n", ["fish"], async () => {
  {
    const { fish } = await scripts();
    await using temp = await tempDir("siftrust-completions-");
    const dir = temp.dir;
    await Deno.writeTextFile(`${dir}/siftrust.fish`, fish);
    const { code, stderr } = await new Deno.Command("fish", {
      args: ["-n", `${dir}/siftrust.fish`],
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
  }
});

Deno.test("completions: every top-level command of --help appears in each script", async () => {
  const { bash, zsh, fish, commands } = await scripts();
  // bash (and zsh): the words offered at the top level.
  const topLevel = /^ {4}""\) words_for="([^"]*)"/m.exec(bash)?.[1]?.split(" ") ?? [];
  assert.ok(topLevel.length > 0, "the bash script has no top-level word list");
  for (const [shell, script] of [["bash", bash], ["zsh", zsh], ["fish", fish]]) {
    for (const names of commands) {
      for (const name of names) {
        assert.ok(
          new RegExp(`\\b${name}\\b`).test(script),
          `the ${shell} script does not mention "${name}"`,
        );
      }
    }
  }
  for (const names of commands) {
    for (const name of names) {
      assert.ok(topLevel.includes(name), `bash does not offer "${name}" at the top level`);
    }
  }
  await assertCompletes(
    bash,
    ["siftrust", ""],
    [...commands.flat(), "-V", "--version", "--help"],
  );
});

Deno.test("completions: an unknown shell is a usage error (exit 2, one ERROR line)", async () => {
  await withEnv(async (env) => {
    const result = await runCli(["completions", "tcsh"], { env });
    assert.equal(result.code, 2, context(result));
    assert.equal(result.stdout, "", context(result));
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, context(result));
    assert.match(lines[0], /^ERROR: +.*tcsh/, context(result));
  });
});
