/**
 * `check`'s head start: when its `-j` lets it use a second CPU, the first image is opened and
 * its hashing starts (policy/open_ahead.ts `openAhead`) before the program's commands, the
 * policy and its keys load, which then run on the first CPU meanwhile. With `-j 1` nothing
 * starts early: that run hashes only once the loading is done, on one CPU. The `check` command
 * takes the image (by its path, as given) and checks it as it was opened; a run that does not
 * (a usage error, a policy problem) drops it.
 *
 * Only the plain command lines of ./check_args.ts get a head start; the others are read by
 * commander alone.
 *
 * @module
 */

import { sharedHashPool } from "../core/integrity/hash_pool.ts";
import type { OpenedImage } from "../policy/check.ts";
import { openAhead } from "../policy/open_ahead.ts";
import { CPUS, plainCheck } from "./check_args.ts";

/** An image opened, and its hashing started, ahead of its check. */
export interface CheckAhead {
  /** The image argument, as given. */
  path: string;
  /** The image, to give to `checkImage` (which then does not close it). */
  opened: OpenedImage;
}

let pending: CheckAhead | undefined;

/**
 * Starts the head start for these arguments when they are a plain `check` whose `-j` (by
 * default the number of CPUs) and the machine allow two CPUs; resolves once the hashing is
 * under way, or at once when there is none. Never fails: an image that cannot be opened is left
 * to the check to report.
 */
export async function startCheckAhead(args: readonly string[]): Promise<void> {
  const plain = plainCheck(args);
  if (plain === undefined || pending !== undefined) return;
  const jobs = plain.jobs ?? CPUS;
  if (Math.min(jobs, CPUS) < 2) return;
  try {
    sharedHashPool().limitCpus(jobs);
    const opened = await openAhead(plain.images[0]);
    if (opened !== undefined) pending = { path: plain.images[0], opened };
  } catch {
    // No head start: the check opens the image itself, and says what is wrong.
  }
}

/** The image started ahead, if any, now the caller's to close. */
export function takeCheckAhead(): CheckAhead | undefined {
  const ahead = pending;
  pending = undefined;
  return ahead;
}

/** Closes the image started ahead, if nobody took it (its hashing stops). */
export function dropCheckAhead(): void {
  takeCheckAhead()?.opened.close();
}
