/**
 * Hashing workers started by the bundle's entry (./bundle_entry.ts) for a plain `check`
 * (./check_args.ts) that its fast path did not answer: as many as the check will hash images at
 * once, when its first image is a regular file of at least the pool's threshold. Each worker's
 * runtime and node:crypto then load on another CPU while the program loads, and the program's
 * pool adopts them (`HashPool.adopt`, ./main.ts). A wrong guess costs a worker that stops
 * unused. (`verify` and `sign` were measured not to gain from it: they start their worker early
 * enough.) This module loads no `node:` module, as the entry must not.
 *
 * @module
 */

import { POOL_MIN_BYTES } from "../core/integrity/hash_pool.ts";
import { type StartedHashWorker, startHashWorker } from "../core/integrity/hash_worker.ts";
import { plainCheck } from "./check_args.ts";

/**
 * Hashing workers for these arguments (see the module documentation); none when they will not
 * need one soon.
 */
export function hashWorkersAhead(args: readonly string[]): StartedHashWorker[] {
  const plain = plainCheck(args);
  if (plain === undefined) return [];
  const cpus = navigator.hardwareConcurrency || 1;
  const count = Math.min(plain.jobs ?? cpus, cpus, new Set(plain.images).size);
  const workers: StartedHashWorker[] = [];
  try {
    // Only a guess at the work ahead: the check opens the image itself.
    const info = Deno.statSync(plain.images[0]);
    if (!info.isFile || info.size < POOL_MIN_BYTES) return [];
    while (workers.length < count) workers.push(startHashWorker());
  } catch {
    // As many as could start: the pool starts the others when it needs them.
  }
  return workers;
}
