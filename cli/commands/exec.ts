/**
 * `siftrust exec [--policy FILE] -- COMMAND ARGS…`: check an image under the policy, then run
 * the command on that very file. The image (the first argument that is a SIF file) is opened
 * once; the check reads that open file, and the command gets the same open file as fd 3
 * (`/proc/self/fd/3`), so the image cannot be swapped between the check and the run.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { descriptorInfo, MAGIC, SifImage } from "../../core/sif/mod.ts";
import { checkImage } from "../../policy/mod.ts";
import { CliError, usageError } from "../exit.ts";

import { log } from "../output.ts";
import { decisionLine, explainText } from "../render/check_text.ts";
import { DEFAULT_POLICY, loadPolicyAndKeys } from "./check.ts";

/** Adds `exec` to the program. */
export function registerExec(program: Command): void {
  program.command("exec")
    .description(
      "check the image a command will run under the policy, then run the command on that same file",
    )
    .argument("<command...>", "the command and its arguments, after --")
    .addOption(
      new Option("--policy <file>", "the policy file").default(DEFAULT_POLICY).env(
        "SIFTRUST_POLICY",
      ),
    )
    .option("--explain", "show the decision trace before running")
    .option("--no-cache", "check again even when nothing changed")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust exec -- apptainer run /apps/images/tool.sif --help\n" +
        "  siftrust exec --policy site.yaml -- apptainer exec image.sif python3 script.py",
    )
    .action(async (command, options) => {
      const index = command.findIndex((arg) => isSif(arg));
      if (index === -1) {
        throw usageError(
          "no SIF image among the command's arguments: name the image file in the command",
        );
      }
      const { policy, keys } = await loadPolicyAndKeys(options.policy);
      // Open once: the check reads this descriptor, and the command gets it as fd 3.
      const realPath = await Deno.realPath(command[index]);
      const fd = openSync(realPath, "r");
      try {
        const opened = {
          realPath,
          info: descriptorInfo(fd),
          open: () => SifImage.fromDescriptor(fd, realPath),
        };
        const context = {
          policy,
          keys,
          cacheDir: options.cache ? keys.resolution.locations.decisionCacheDir : undefined,
        };
        const result = await checkImage(realPath, context, undefined, opened);
        for (const notice of result.notices) log("warning", notice);
        const decision = result.decision;
        if (options.explain || decision.decision !== "allow") {
          Deno.stderr.writeSync(
            new TextEncoder().encode(
              options.explain
                ? explainText(decision, policy)
                : decisionLine(decision, policy, result.cached),
            ),
          );
        }
        if (decision.decision !== "allow" && decision.exitCode !== 0) {
          throw new CliError(
            `${command[index]} is not trusted by ${policy.path}: not running ${command[0]}`,
            decision.exitCode,
          );
        }
        const args = command.map((arg, i) => i === index ? "/proc/self/fd/3" : arg);
        throw new CliError("", await run(args, fd));
      } finally {
        closeSync(fd);
      }
    });
}

/** Whether a path names a readable file that starts like a SIF image. */
function isSif(path: string): boolean {
  let fd: number | undefined;
  try {
    if (!Deno.statSync(path).isFile) return false;
    fd = openSync(path, "r");
    const head = new Uint8Array(42);
    readSync(fd, head, 0, 42, 0);
    return MAGIC.every((byte, i) => head[32 + i] === byte);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Runs the command with the image as fd 3; resolves to its exit code (128 + signal if killed). */
function run(args: string[], fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(args[0], args.slice(1), { stdio: ["inherit", "inherit", "inherit", fd] });
    child.on(
      "error",
      // 127 for a command that cannot be found or run, as shells report it.
      (error) => reject(new CliError(`cannot run ${args[0]}: ${error.message}`, 127)),
    );
    child.on(
      "exit",
      (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal))),
    );
  });
}

/** The number of a signal by name (SIGUSR1 → 10), from the OS. */
function signalNumber(signal: string): number {
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}
