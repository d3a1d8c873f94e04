/**
 * `siftrust exec [--policy FILE] -- RUNTIME SUBCOMMAND … IMAGE …`: check the image that an
 * Apptainer or Singularity command line will start, then run the runtime on that very file.
 * The container argument is found as the runtime parses its command line
 * (policy/exec_plan.ts); the image is opened once, checked through that descriptor, and the
 * runtime gets the same open file as fd 3 (`/proc/self/fd/3`). An image that others than root
 * can rewrite in place is refused, or copied into the policy's `exec.copy-writable` folder
 * and the copy is checked and run.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import { geteuid } from "node:process";
import { type OpenImageFile, openImageOnce, SifError } from "../../core/sif/mod.ts";
import {
  AdmitError,
  type CheckContext,
  type CheckResult,
  CopyFolderError,
  type CopyFolderProblem,
  decideExecImage,
  type ExecChecked,
  type ExecDecision,
  invokingUser,
  planExec,
  type Policy,
} from "../../policy/mod.ts";
import { auditCheck, auditLogOption } from "../audit_log.ts";
import { CliError, decisionExitCode, ExitCode, usageError } from "../exit.ts";
import { displayText, log } from "../output.ts";
import { loadPolicyAndKeys, policyOption } from "../policy_loading.ts";
import { decisionLine, explainText } from "../render/check_text.ts";
import { cacheProblemText } from "../render/decision_words.ts";
import { writersText } from "../render/exec_text.ts";

/** Adds `exec` to the program. */
export function registerExec(program: Command): void {
  program.command("exec")
    .description(
      "check the image an apptainer or singularity command will start, then run it on that file",
    )
    .argument("<command...>", "the runtime's command line, after --")
    .addOption(policyOption())
    .option("--explain", "show the decision trace before running")
    .option("--no-cache", "check again even when nothing changed")
    .addOption(auditLogOption())
    .passThroughOptions()
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust exec -- apptainer run /apps/images/tool.sif --help\n" +
        "  siftrust exec --policy site.yaml -- apptainer exec image.sif python3 script.py",
    )
    .action(async (command, options) => {
      const env = (name: string) => Deno.env.get(name);
      const plan = planExec(command, env);
      if (!plan.ok) {
        throw usageError(`${displayText(plan.detail)}: not running ${displayText(command[0])}`);
      }
      const { policy, keys } = await loadPolicyAndKeys({
        command: "exec",
        policy: options.policy,
        cache: options.cache,
      });
      const context: CheckContext = {
        policy,
        keys,
        cacheDir: options.cache ? keys.resolution.locations.decisionCacheDir : undefined,
      };
      const image = openOrExit(plan.container);
      let decided: ExecChecked | undefined;
      try {
        decided = await decide(image, plan.container, context);
        const { result, run } = decided;
        if (options.auditLog !== undefined) await auditCheck(options.auditLog, result, policy);
        report(result, policy, options.explain ?? false);
        const code = decisionExitCode(result.decision);
        if (result.decision.decision !== "allow" && code !== 0) {
          const why = result.decision.decision === "error"
            ? "cannot be read as a SIF image"
            : `is not trusted by ${policy.path}`;
          throw new CliError(
            `${displayText(plan.container)} ${why}: not running ${displayText(command[0])}`,
            code,
          );
        }
        const args = command.map((arg, i) => i === plan.containerIndex ? "/proc/self/fd/3" : arg);
        throw new CliError("", await runAsInvoker(args, run.fd, plan.container, env));
      } finally {
        image.close();
        if (decided?.copy !== undefined) {
          decided.copy.file.close();
          await decided.copy.copy.discard().catch(() => undefined);
        }
      }
    });
}

/** How `exec` run through sudo starts the runtime as the invoking user (util-linux). */
const SETPRIV = "/usr/bin/setpriv";

/** Decides on the open image (policy/exec_plan.ts); a refusal or an unusable copy folder exits. */
async function decide(
  image: OpenImageFile,
  container: string,
  context: CheckContext,
): Promise<ExecChecked> {
  let decision: ExecDecision;
  try {
    decision = await decideExecImage(image, context, geteuid?.() ?? -1);
  } catch (error) {
    if (error instanceof CopyFolderError) {
      throw new CliError(
        `exec.copy-writable ${error.folder} ${COPY_FOLDER_PROBLEMS[error.kind]}: fix the policy`,
        ExitCode.Usage,
      );
    }
    if (error instanceof AdmitError) {
      throw new CliError(`cannot copy the image for exec: ${error.message}`, ExitCode.Failed);
    }
    throw error;
  }
  if (decision.kind === "checked" && (decision.writers.length === 0 || decision.copy)) {
    return decision;
  }
  const why = `${displayText(container)} can be rewritten while it runs by ${
    writersText(decision.writers)
  }`;
  if (decision.kind === "refused-writable") {
    throw new CliError(
      `${why}: not running it; admit it into a library with "siftrust admit", run a ` +
        "read-only copy that only root can write, or set exec: {copy-writable: DIR} in the policy",
      ExitCode.Failed,
    );
  }
  log("warning", `${why} (warn mode: running it)`);
  return decision;
}

/**
 * Runs the runtime with the image as fd 3. Through sudo it runs as the invoking user, and only
 * if that user can read the image.
 */
async function runAsInvoker(
  args: string[],
  fd: number,
  container: string,
  env: (name: string) => string | undefined,
): Promise<number> {
  const user = invokingUser(env, geteuid?.() ?? -1);
  if (user === undefined) return await runWith(args, fd);
  const asUser = [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--"];
  if (await runWith([...asUser, "/usr/bin/test", "-r", "/proc/self/fd/3"], fd) !== 0) {
    throw new CliError(
      `${displayText(container)}: user ${user.uid} cannot read it: not running it`,
      ExitCode.Failed,
    );
  }
  return await runWith([...asUser, ...args], fd);
}

/** Opens the image once; one that cannot be opened as a regular file is a bad image (exit 3). */
function openOrExit(path: string): OpenImageFile {
  try {
    return openImageOnce(path);
  } catch (error) {
    if (error instanceof SifError) throw new CliError(error.message, ExitCode.BadImage);
    throw error;
  }
}

/** What is wrong with the copy-writable folder, in words. */
const COPY_FOLDER_PROBLEMS: Record<CopyFolderProblem, string> = {
  "not-a-folder": "is not a folder",
  "foreign-owner": "is owned by another user than root",
  "writable-by-others": "can be written by its group or others",
};

/** Shows the decision: always with --explain, else only when it is not an allow. */
function report(result: CheckResult, policy: Policy, explain: boolean): void {
  for (const notice of result.notices) log("warning", cacheProblemText(notice));
  const decision = result.decision;
  if (!explain && decision.decision === "allow") return;
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      explain ? explainText(decision, policy) : decisionLine(decision, result.cached),
    ),
  );
}

/** Runs the command with the image as fd 3; resolves to its exit code (128 + signal if killed). */
function runWith(args: string[], fd: number): Promise<number> {
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
