/**
 * Who signed what, from the signature descriptors alone (no cryptography), as the reference
 * library's `Verifier.AllSignedBy` and `Verifier.AnySignedBy` answer it: the fingerprints
 * recorded in the descriptors of the signatures each verification task examines.
 *
 * These say nothing about whether a signature is valid: run {@linkcode verifyImage} for that.
 *
 * @module
 */

import type { SignatureObject } from "./signatures.ts";
import type { VerifyTask } from "./tasks.ts";

/** The signers one task names: the distinct descriptor fingerprints, sorted. */
export interface TaskSigners {
  /** The verification task. */
  task: VerifyTask;
  /** 40 upper-case hex digits each; a signature without a fingerprint adds none. */
  fingerprints: string[];
}

/** The signature objects a task examines, selected as the reference selects them. */
function examinedBy(task: VerifyTask, signatures: readonly SignatureObject[]): SignatureObject[] {
  return signatures.filter(({ descriptor: d, format }) =>
    task.kind === "object"
      ? !d.linkedIsGroup && d.linkedId === task.object.id
      : d.linkedIsGroup && d.linkedId === task.group && (format === "legacy") === task.legacy
  );
}

/**
 * The fingerprints in the signature descriptors each task examines. A task without
 * signatures names nobody (it is no error here, as in the reference).
 */
export function signersByTask(
  tasks: readonly VerifyTask[],
  signatures: readonly SignatureObject[],
): TaskSigners[] {
  return tasks.map((task) => {
    const found = examinedBy(task, signatures).flatMap((s) =>
      s.fingerprint === undefined ? [] : [s.fingerprint.toUpperCase()]
    );
    return { task, fingerprints: [...new Set(found)].sort() };
  });
}

function countTasks(tasks: readonly VerifyTask[], signatures: readonly SignatureObject[]) {
  const counts = new Map<string, number>();
  for (const { fingerprints } of signersByTask(tasks, signatures)) {
    for (const fingerprint of fingerprints) {
      counts.set(fingerprint, (counts.get(fingerprint) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * The fingerprints that signed every task (the reference's `AllSignedBy`), sorted; empty when
 * there is no task.
 */
export function allSignedBy(
  tasks: readonly VerifyTask[],
  signatures: readonly SignatureObject[],
): string[] {
  const counts = countTasks(tasks, signatures);
  return [...counts].filter(([, n]) => n === tasks.length).map(([fp]) => fp).sort();
}

/** The fingerprints that signed at least one task (the reference's `AnySignedBy`), sorted. */
export function anySignedBy(
  tasks: readonly VerifyTask[],
  signatures: readonly SignatureObject[],
): string[] {
  return [...countTasks(tasks, signatures).keys()].sort();
}
