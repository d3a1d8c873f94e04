/**
 * `check`'s cached fast path on the command line (policy/fast_check.ts): for the plain forms
 * `check [--policy FILE] [-j N] IMAGE…` whose every image the cache holds, the same output and
 * exit code as the full path, without loading commander, the policy parser or OpenPGP.
 * Anything else is left to the full path. `SIFTRUST_DEBUG_FASTPATH=1` adds a line on stderr
 * when the fast path answered (for tests and benchmarks).
 *
 * @module
 */

import { fastCheck, type FastCheckAnswer, processUserIds } from "../policy/fast_check.ts";
import { plainCheck } from "./check_args.ts";
import { decisionExitCode } from "./exit.ts";
import { log, print } from "./output.ts";
import { decisionLine, summaryLine } from "./render/check_text.ts";

/**
 * The fast path's answer for these arguments, or undefined: then run the full path. It prints
 * nothing; {@linkcode printFastCheck} does.
 */
export async function tryFastCheck(args: string[]): Promise<FastCheckAnswer | undefined> {
  const plain = plainCheck(args);
  // --json, --explain, --no-cache and --audit-log: the full path.
  if (plain === undefined || plain.flags.size > 0) return undefined;
  const env = Deno.env.toObject();
  // An audit record, and the progress line of several images on a terminal: the full path.
  if (env.SIFTRUST_AUDIT_LOG !== undefined) return undefined;
  if (new Set(plain.images).size > 1 && Deno.stderr.isTerminal()) return undefined;
  const ids = await processUserIds();
  return await fastCheck({ policyFile: plain.policyFile, images: plain.images, env, ...ids });
}

/** Prints the answer as `check` does, and returns the exit code. */
export function printFastCheck(answer: FastCheckAnswer): number {
  for (const warning of answer.warnings) log("warning", warning);
  for (const check of answer.checks) print(decisionLine(check.decision, true));
  const decisions = answer.checks.map((c) => c.decision);
  if (decisions.length > 1) {
    print(summaryLine(decisions));
  }
  if (Deno.env.get("SIFTRUST_DEBUG_FASTPATH") === "1") {
    log("info", `fast path: ${decisions.length} cached decisions`);
  }
  return Math.max(0, ...decisions.map(decisionExitCode));
}
