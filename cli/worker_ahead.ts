/**
 * Hashing workers started by the bundle's entry (./bundle_entry.ts) for a command that will
 * hash a large image: each worker's runtime and node:crypto then load on another CPU while the
 * program loads, and the program's pool adopts them (`HashPool.adopt`, ./run.ts), which saves
 * `verify` of 1 GiB about 45 ms (bench/RESULTS.md). A plain `check` (./check_args.ts) that its
 * fast path did not answer gets as many as it will hash images at once; `verify` and `sign` get
 * one for their last argument, their image. Only a regular file of at least the pool's
 * threshold counts: a wrong guess costs a worker that stops unused. What a command line will hash
 * is read by ./hashing_plan.ts. This module loads no `node:` module, as the entry must not.
 *
 * @module
 */

import { POOL_MIN_BYTES } from "../core/integrity/hash_pool.ts";
import { type StartedHashWorker, startHashWorker } from "../core/integrity/hash_worker.ts";
import { hashingPlan } from "./hashing_plan.ts";

/**
 * Hashing workers for these arguments (see the module documentation); none when they will not
 * need one soon.
 */
export function hashWorkersAhead(args: readonly string[]): StartedHashWorker[] {
  const plan = hashingPlan(args);
  if (plan === undefined) return [];
  const workers: StartedHashWorker[] = [];
  try {
    // Only a guess at the work ahead: the command opens the image itself.
    const info = Deno.statSync(plan.images[0]);
    if (!info.isFile || info.size < POOL_MIN_BYTES) return [];
    while (workers.length < plan.workers) workers.push(startHashWorker());
  } catch {
    // As many as could start: the pool starts the others when it needs them.
  }
  return workers;
}
