/**
 * `siftrust exec [--policy FILE] -- COMMAND ARGS…`: check an image under the policy, then run
 * the command on that very file. The image (the first argument that is a SIF file) is opened
 * once; the check reads that open file, and the command gets the same open file as fd 3
 * (`/proc/self/fd/3`), so the image cannot be swapped between the check and the run.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { descriptorInfo, isSifFile, SifImage } from "../../core/sif/mod.ts";
import { checkImage } from "../../policy/mod.ts";
import { CliError, decisionExitCode, ExitCode, usageError } from "../exit.ts";
import { log } from "../output.ts";
import { loadPolicyAndKeys, policyOption } from "../policy_loading.ts";
import { decisionLine, explainText } from "../render/check_text.ts";
import { cacheProblemText } from "../render/decision_words.ts";

/** Adds `exec` to the program. */
export function registerExec(program: Command): void {
  program.command("exec")
    .description(
      "check the image a command will run under the policy, then run the command on that same file",
    )
    .argument("<command...>", "the command and its arguments, after --")
    .addOption(policyOption())
    .option("--explain", "show the decision trace before running")
    .option("--no-cache", "check again even when nothing changed")
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust exec -- apptainer run /apps/images/tool.sif --help\n" +
        "  siftrust exec --policy site.yaml -- apptainer exec image.sif python3 script.py",
    )
    .action(async (command, options) => {
      const index = command.findIndex((arg) => isSifFile(arg));
      if (index === -1) {
        throw usageError(
          "no SIF image among the command's arguments: name the image file in the command",
        );
      }
      const { policy, keys } = await loadPolicyAndKeys({
        command: "exec",
        policy: options.policy,
        cache: options.cache,
      });
      // Open once: the check reads this descriptor, and the command gets it as fd 3.
      const { realPath, fd } = await openImage(command[index]);
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
        for (const notice of result.notices) log("warning", cacheProblemText(notice));
        const decision = result.decision;
        if (options.explain || decision.decision !== "allow") {
          Deno.stderr.writeSync(
            new TextEncoder().encode(
              options.explain
                ? explainText(decision, policy)
                : decisionLine(decision, result.cached),
            ),
          );
        }
        const code = decisionExitCode(decision);
        if (decision.decision !== "allow" && code !== 0) {
          throw new CliError(
            `${command[index]} is not trusted by ${policy.path}: not running ${command[0]}`,
            code,
          );
        }
        const args = command.map((arg, i) => i === index ? "/proc/self/fd/3" : arg);
        throw new CliError("", await run(args, fd));
      } finally {
        closeSync(fd);
      }
    });
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

/**
 * Resolves and opens the image once; an image gone or unreadable since it was found is a bad
 * image (exit 3), not a bug.
 */
async function openImage(path: string): Promise<{ realPath: string; fd: number }> {
  try {
    const realPath = await Deno.realPath(path);
    return { realPath, fd: openSync(realPath, "r") };
  } catch (error) {
    throw new CliError(`cannot open ${path}: ${(error as Error).message}`, ExitCode.BadImage);
  }
}
