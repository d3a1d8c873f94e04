/**
 * Writing a decision to the audit log (`--audit-log`): a log that cannot be written ends the
 * command with exit 1, so that no decision goes unrecorded.
 *
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import { appendAudit, auditRecord } from "../policy/audit.ts";
import { auditContext } from "../policy/audit_context.ts";
import type { CheckResult } from "../policy/check.ts";
import type { Policy } from "../policy/model.ts";
import { CliError, ExitCode } from "./exit.ts";

/** Appends the record of a check to the log at `path`, with who and where it was made. */
export async function auditCheck(path: string, result: CheckResult, policy: Policy): Promise<void> {
  const context = auditContext((name) => Deno.env.get(name));
  const record = auditRecord(result.decision, policy, result.imageDigest, context);
  try {
    await appendAudit(path, [record]);
  } catch (error) {
    throw new CliError(
      `cannot write the audit log ${path}: ${(error as Error).message}`,
      ExitCode.Failed,
    );
  }
}

/** `--audit-log <file>` (or `$SIFTRUST_AUDIT_LOG`): append one JSON line per decision. */
export function auditLogOption(): Option<"--audit-log <file>", undefined, undefined> {
  return new Option("--audit-log <file>", "append one JSON line per decision to this file").env(
    "SIFTRUST_AUDIT_LOG",
  );
}
