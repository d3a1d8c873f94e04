/**
 * `check`'s head start: when its `-j` lets it use a second CPU, its first images are opened
 * and their digests taken from the hashing started before the program loaded (./image_ahead.ts),
 * or, without that, the first image's hashing starts now (policy/open_ahead.ts `openAhead`),
 * before the program's commands, the policy and its keys load, which then run on the first CPU
 * meanwhile. With `-j 1` nothing starts early: that run hashes only once the loading is done, on
 * one CPU. The `check` command takes the images (by their paths, as given) and checks them as
 * they were opened; a run that does not (a usage error, a policy problem) drops them.
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
import type { ImageAhead } from "./image_ahead.ts";

/** An image opened, and its hashing started, ahead of its check. */
export interface CheckAhead {
  /** The image argument, as given. */
  path: string;
  /** The image, to give to `checkImage` (which then does not close it). */
  opened: OpenedImage;
}

let pending: CheckAhead[] = [];
/** Whether workers hashing ahead come to the process's pool as they finish. */
let workersComing = false;

/**
 * Opens the images of a plain `check` hashed ahead (`hashed`), or else its first image and
 * starts hashing it, when its `-j` and the CPUs allow two at once; anything that fails is left
 * to the check, which opens the image itself and says what is wrong.
 */
export async function startCheckAhead(
  args: readonly string[],
  hashed: readonly ImageAhead[] = [],
): Promise<void> {
  const plain = plainCheck(args);
  const jobs = plain?.jobs ?? CPUS;
  if (plain === undefined || pending.length > 0 || Math.min(jobs, CPUS) < 2) {
    for (const image of hashed) image.digests.cancel();
    return;
  }
  sharedHashPool().limitCpus(jobs);
  workersComing = hashed.length > 0;
  const wanted = hashed.length > 0 ? hashed : [{ path: plain.images[0], digests: undefined }];
  const opened = await Promise.all(wanted.map(async ({ path, digests }) => {
    try {
      const image = await openAhead(path, digests);
      return image === undefined ? undefined : { path, opened: image };
    } catch {
      digests?.cancel();
      return undefined;
    }
  }));
  pending = opened.filter((ahead) => ahead !== undefined);
}

/**
 * Whether the process's pool gets workers that hashed ahead, as they finish: the check then
 * starts none of its own ahead of its jobs.
 */
export function hashingWorkersComing(): boolean {
  return workersComing;
}

/** The images opened ahead, once: the `check` command takes them. */
export function takeCheckAhead(): CheckAhead[] {
  const ahead = pending;
  pending = [];
  return ahead;
}

/** Closes images opened ahead that no check took. */
export function dropCheckAhead(): void {
  for (const ahead of takeCheckAhead()) ahead.opened.close();
}
