/**
 * `verify` and `sign` hash their image before the program has loaded: the bundle's entry
 * (./bundle_entry.ts), or {@linkcode main} run from the sources, gives the hashing worker it
 * started (./worker_ahead.ts) the image named by the last argument
 * (`hashFileAhead`, core/integrity/digests_ahead.ts), with the digests the command will ask
 * for by default. The command then takes them for the image it opens (only when that is the
 * very file, with the same objects where they were planned), and a command asked for other
 * digests (`--group-id`, `--sif-id`) stops the work and hashes its own. The bundle loads the
 * program in about 100 ms: this is how much sooner the hashing of a large image starts
 * (bench/RESULTS.md). This module loads no `node:` module, as the entry must not.
 *
 * @module
 */

import { type FileDigestsAhead, hashFileAhead } from "../core/integrity/digests_ahead.ts";
import { HashPool } from "../core/integrity/hash_pool.ts";
import type { StartedHashWorker } from "../core/integrity/hash_worker.ts";
import { signedByDefault } from "../core/integrity/stream_digests.ts";
import type { SifImage } from "../core/sif/mod.ts";
import type { DigestsAhead } from "../core/integrity/digests_ahead.ts";

/** An image being hashed ahead of its command. */
export interface ImageAhead {
  /** The image argument, as given. */
  path: string;
  /** The hashing. */
  digests: FileDigestsAhead;
}

/**
 * Starts hashing the image of a `verify` or `sign` on the first of `workers` (the others are
 * given back); none for another command, or when the image is not worth it.
 */
export async function startImageAhead(
  args: readonly string[],
  workers: StartedHashWorker[],
): Promise<{ ahead?: ImageAhead; workers: StartedHashWorker[] }> {
  const command = args[0];
  if ((command !== "verify" && command !== "sign") || workers.length === 0) return { workers };
  const path = args[args.length - 1];
  // A pool of its own: in the bundle its class is the entry's copy, not the program's.
  const pool = new HashPool({ size: 1 });
  if (!pool.adopt(workers[0])) return { workers: workers.slice(1) };
  try {
    const digests = await hashFileAhead(path, {
      pool,
      select: command === "sign" ? signedByDefault : undefined,
    });
    return {
      ahead: digests === undefined ? undefined : { path, digests },
      workers: workers.slice(1),
    };
  } catch {
    // The command hashes the image itself, and says what is wrong with it.
    return { workers: workers.slice(1) };
  }
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
