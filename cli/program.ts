/**
 * The `siftrust` command tree. Each command lives in its own module, loaded only when that
 * command runs (all of them only for the top-level help), so that start-up does not pay
 * for OpenPGP, YAML or the policy engine when a command does not use them.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { log } from "./output.ts";
import { VERSION_LINE, versionOnly } from "./version.ts";

type Register = (program: Command) => void;

/** The top-level commands: their names (and aliases), and how to load them. */
const COMMANDS: [string[], () => Promise<Register>][] = [
  [["admit"], async () => (await import("./commands/admit.ts")).registerAdmit],
  [["check"], async () => (await import("./commands/check.ts")).registerCheck],
  [["completions"], async () => (await import("./commands/completions.ts")).registerCompletions],
  [["deffile"], async () => (await import("./commands/deffile.ts")).registerDeffile],
  [["exec"], async () => (await import("./commands/exec.ts")).registerExec],
  [["key", "keys"], async () => {
    const [{ registerKey }, { registerKeyFiles }, { registerKeyRemote }] = await Promise.all([
      import("./commands/key.ts"),
      import("./commands/key_files.ts"),
      import("./commands/key_remote.ts"),
    ]);
    return (program) => {
      const key = registerKey(program);
      registerKeyFiles(key);
      registerKeyRemote(key);
    };
  }],
  [["keyserver"], async () => (await import("./commands/keyserver.ts")).registerKeyserver],
  [["policy"], async () => (await import("./commands/policy.ts")).registerPolicy],
  [["registry"], async () => (await import("./commands/registry.ts")).registerRegistry],
  [["remote"], async () => (await import("./commands/remote.ts")).registerRemote],
  [["sif", "siftool"], async () => (await import("./commands/sif.ts")).registerSif],
  [["sign"], async () => (await import("./commands/sign.ts")).registerSign],
  [["verify"], async () => (await import("./commands/verify.ts")).registerVerify],
];

/**
 * Builds the command tree for these arguments: only the command they name is loaded; all are
 * when they name none (help, or a mistake to report); none for `--version`.
 */
export async function buildProgram(args: string[] = []): Promise<Command> {
  const program = new Command("siftrust")
    .description(
      "Decide whether to trust Singularity/Apptainer (SIF) container images: inspect, sign and " +
        "verify them byte-compatibly with Apptainer.",
    )
    .version(VERSION_LINE, "-V, --version")
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({
      outputError: (text) => {
        log("error", text.trim().replace(/^error: /, ""));
        log("info", "(add --help for usage)");
      },
    });
  const name = args.find((arg) => !arg.startsWith("-"));
  const named = COMMANDS.find(([names]) => names.includes(name ?? ""));
  const wanted = named !== undefined ? [named] : versionOnly(args) ? [] : COMMANDS;
  for (const register of await Promise.all(wanted.map(([, load]) => load()))) register(program);
  // `completions` describes the whole tree, so it needs every command.
  if (named?.[0][0] === "completions") {
    for (const [, load] of COMMANDS.filter((c) => c !== named)) (await load())(program);
  }
  return program;
}
