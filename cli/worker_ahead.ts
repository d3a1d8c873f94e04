/**
 * Hashing workers started by the bundle's entry (./bundle_entry.ts) for a `check` its fast path
 * did not answer: each worker's runtime and node:crypto then load on another CPU while the
 * program loads, and the pool adopts them (`HashPool.adopt`, ./check_ahead.ts). Only a plain
 * command line (./check_args.ts) whose first image is a file large enough to be hashed on a
 * worker gets them. This module loads no `node:` module, as the entry must not.
 *
 * @module
 */

import { POOL_MIN_BYTES } from "../core/integrity/hash_pool.ts";
import { type StartedHashWorker, startHashWorker } from "../core/integrity/hash_worker.ts";
import { plainCheck } from "./check_args.ts";

/**
 * Hashing workers for these arguments: as many as the check will hash images at once (its `-j`,
 * by default the number of CPUs, at most the CPUs and the images); none when they will not need
 * one soon.
 */
export function hashWorkersAhead(args: readonly string[]): StartedHashWorker[] {
  const plain = plainCheck(args);
  if (plain === undefined) return [];
  const cpus = navigator.hardwareConcurrency || 1;
  const count = Math.min(plain.jobs ?? cpus, cpus, new Set(plain.images).size);
  const workers: StartedHashWorker[] = [];
  try {
    // Only a guess at the work ahead: the check opens the image itself.
    if (Deno.statSync(plain.images[0]).size < POOL_MIN_BYTES) return [];
    while (workers.length < count) workers.push(startHashWorker());
  } catch {
    // As many as could start: the pool starts the others when it needs them.
  }
  return workers;
}
