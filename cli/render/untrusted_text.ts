/**
 * The words for a trust input that an enforcing run refuses (policy/file_trust.ts).
 *
 * @module
 */

import type { TrustProblem } from "../../policy/mod.ts";

/** One line for a trust input an enforcing run refuses. */
export function untrustedText(problem: TrustProblem): string {
  const { input, path, uid } = problem;
  const where = path === input ? "it" : `the folder ${path}`;
  const trusted = problem.owners.length === 1 ? "root" : "root or the user running siftrust";
  const reason = {
    "owner": `it belongs to uid ${uid}, not to ${trusted}`,
    "parent-owner": `${where} belongs to uid ${uid}, not to ${trusted}`,
    "group-writable": "its group can write it",
    "parent-group-writable": `the group of ${where} can write it`,
    "other-writable": "anyone can write it",
    "parent-other-writable": `anyone can write ${where}`,
    "unreadable": `cannot examine ${path}`,
  }[problem.kind];
  return `refusing to trust ${input}: ${reason} (chown root and chmod go-w, or use other files)`;
}
