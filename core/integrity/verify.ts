/**
 * Verifying an image: select the tasks, check the signatures they examine (one hashing
 * pass), and reach the reference's verdict.
 *
 * @module
 */

import type { SifImage } from "../sif/mod.ts";
import { type AnalyzeOptions, analyzeSignatures, type SignatureCheck } from "./analyze.ts";
import { apptainerOutcome, type VerifyOutcome } from "./outcome.ts";
import { readSignatureObjects } from "./signatures.ts";
import { selectTasks, TaskError, type TaskRequest, type VerifyTask } from "./tasks.ts";

/** Options of {@linkcode verifyImage}: key material, and which tasks to run. */
export interface VerifyOptions extends AnalyzeOptions, TaskRequest {}

/** What a verification found. */
export interface VerifyReport {
  /** The verification tasks run, as the reference selects them. */
  tasks: VerifyTask[];
  /** The signatures the tasks examine, checked. */
  checks: SignatureCheck[];
  /** The reference's verdict. */
  outcome: VerifyOutcome;
}

/**
 * Verifies an image as Apptainer's `verify` does.
 *
 * @example
 * ```ts
 * import { KeySet, readKeyringFile, SifImage, verifyImage } from "../../mod.ts";
 * const keyring = await readKeyringFile("/etc/apptainer/global-pgp-public");
 * const keys = new KeySet(keyring.keys.map(({ key }) => ({ key, source: { kind: "global", location: "" } })));
 * using image = await SifImage.open("image.sif");
 * const report = await verifyImage(image, { keys });
 * console.log(report.outcome.failure?.kind ?? "verified", report.outcome.error ?? "");
 * ```
 */
export async function verifyImage(
  image: SifImage,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  let tasks: VerifyTask[];
  try {
    tasks = selectTasks(image, options);
  } catch (error) {
    if (!(error instanceof TaskError)) throw error;
    return {
      tasks: [],
      checks: [],
      outcome: { events: [], error: `integrity: ${error.message}`, failure: { kind: error.kind } },
    };
  }
  const examined = (await readSignatureObjects(image)).filter(({ descriptor: d }) =>
    tasks.some((task) =>
      task.kind === "group"
        ? d.linkedIsGroup && d.linkedId === task.group
        : !d.linkedIsGroup && d.linkedId === task.object.id
    )
  );
  const checks = await analyzeSignatures(image, examined, options);
  return { tasks, checks, outcome: apptainerOutcome(image, tasks, checks) };
}
