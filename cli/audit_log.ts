/**
 * Writing a decision to the audit log (`--audit-log`), with who and where it was made: the
 * real user (cli/identity.ts), the host and the Slurm job.
 *
 * @module
 */

import { appendAudit, auditRecord, type CheckResult, type Policy } from "../policy/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { currentHost, currentUser } from "./identity.ts";

/** Appends the record of a check to the log at `path`; a log that cannot be written exits 1. */
export async function auditCheck(path: string, result: CheckResult, policy: Policy): Promise<void> {
  const { user, uid } = currentUser();
  const record = auditRecord(result.decision, policy, result.imageDigest, {
    user,
    uid,
    host: currentHost(),
    slurmJobId: Deno.env.get("SLURM_JOB_ID") ?? null,
  });
  try {
    await appendAudit(path, [record]);
  } catch (error) {
    throw new CliError(
      `cannot write the audit log ${path}: ${(error as Error).message}`,
      ExitCode.Failed,
    );
  }
}
