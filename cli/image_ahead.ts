/**
 * Images are hashed before the program has loaded: the bundle's entry (./bundle_entry.ts), or
 * `main` run from the sources (./run.ts), gives the hashing workers it started
 * (./worker_ahead.ts) the image of a `verify` or a `sign` (the last argument), or the first
 * images of a plain `check` with `-j` of 2 or more, one each (`hashFileAhead`,
 * core/integrity/digests_ahead.ts), with the digests the command will ask for by default. The
 * command then takes them for the image it opens (only when that is the very file, with the same
 * objects where they were planned: `check` through ./check_ahead.ts), and a command asked for
 * other digests (`--group-id`, `--sif-id`) stops the work and hashes its own. The program's pool
 * takes the workers as they finish. The bundle loads the program in about 100 ms: this is how
 * much sooner the hashing starts (bench/RESULTS.md). This module loads no `node:` module, as
 * the entry must not.
 *
 * @module
 */

import {
  type DigestsAhead,
  type FileDigestsAhead,
  hashFileAhead,
} from "../core/integrity/digests_ahead.ts";
import { HashPool } from "../core/integrity/hash_pool.ts";
import type { StartedHashWorker } from "../core/integrity/hash_worker.ts";
import { signedByDefault } from "../core/integrity/stream_digests.ts";
import type { SifImage } from "../core/sif/mod.ts";
import { hashingPlan } from "./hashing_plan.ts";

/** An image being hashed ahead of its command. */
export interface ImageAhead {
  /** The image argument, as given. */
  path: string;
  /** The hashing. */
  digests: FileDigestsAhead;
}

/** What is hashed before the program has loaded: images, and the pool that hashes them. */
export interface HashingAhead {
  /** The images, in the order of the arguments. */
  images: ImageAhead[];
  /**
   * The pool whose workers hash them: a pool of its own (in the bundle its class is the entry's
   * copy, not the program's), which the program's pool takes the workers of as they finish
   * (`HashPool.handOver`).
   */
  pool: HashPool;
}

/**
 * Starts hashing the images of a `verify`, a `sign` or a plain `check` (./check_args.ts, `-j`
 * of 2 or more) on `workers` (./worker_ahead.ts started them for these arguments); none for
 * another command, and no image that is not worth it. The workers not used are given back.
 */
export async function startHashingAhead(
  args: readonly string[],
  workers: StartedHashWorker[],
): Promise<{ ahead?: HashingAhead; workers: StartedHashWorker[] }> {
  const plan = hashingPlan(args);
  if (plan === undefined || !plan.early || workers.length === 0) return { workers };
  const paths = plan.images.slice(0, workers.length);
  const select = plan.command === "sign" ? signedByDefault : undefined;
  const pool = new HashPool({ size: paths.length });
  for (const worker of workers.slice(0, paths.length)) pool.adopt(worker);
  const images = await Promise.all(paths.map(async (path) => {
    try {
      const digests = await hashFileAhead(path, { pool, select });
      return digests === undefined ? undefined : { path, digests };
    } catch {
      // The command hashes the image itself, and says what is wrong with it.
      return undefined;
    }
  }));
  return {
    ahead: { images: images.filter((image) => image !== undefined), pool },
    workers: workers.slice(paths.length),
  };
}

let pending: ImageAhead | undefined;

/** Keeps an image hashed ahead for its command (the program's copy of this module). */
export function keepImageAhead(ahead: ImageAhead): void {
  pending?.digests.cancel();
  pending = ahead;
}

/** Whether an image is being hashed ahead for the command. */
export function imageAheadPending(): boolean {
  return pending !== undefined;
}

/**
 * The digests hashed ahead for `image`, opened from the argument `path`; undefined when there
 * are none for it. Called once the image is open: the hashing worker lets go of the file then.
 */
export async function takeImageAhead(
  path: string,
  image: SifImage,
): Promise<DigestsAhead | undefined> {
  const ahead = pending;
  pending = undefined;
  if (ahead === undefined) return undefined;
  if (ahead.path !== path) {
    ahead.digests.cancel();
    return undefined;
  }
  return await ahead.digests.take(image);
}

/** Stops a hashing no command took (at the end of a run). */
export function dropImageAhead(): void {
  pending?.digests.cancel();
  pending = undefined;
}
