/**
 * Hashing an image ahead of its check: the SHA-256 digests its signatures will ask for, planned
 * from its descriptors alone (./stream_digests.ts `neededDigests`), computed on the hashing pool
 * while the caller does other work (`check` loads its program, policy and keys meanwhile). The
 * check then takes them as known digests (`AnalyzeOptions.knownDigests`) and reads nothing
 * again; a check that finds it needs no hashing after all (a cached decision, a rule that
 * decides by path) cancels the work, and its worker is free within a chunk.
 *
 * The digests are of the very image given, whose descriptors were read once: the check must
 * use that same {@linkcode SifImage} (its descriptors), not read the table again.
 *
 * @module
 */

import type { SifImage } from "../sif/mod.ts";
import { type HashPool, POOL_MIN_BYTES, sharedHashPool } from "./hash_pool.ts";
import { type KnownDigests, neededDigests } from "./stream_digests.ts";

/** Digests under way: they end as {@linkcode KnownDigests}, or as undefined. */
export interface DigestsAhead {
  /**
   * The digests; undefined when there was nothing worth hashing ahead, when the work was
   * cancelled, or when it failed (the check then hashes as usual, and reports any error).
   */
  readonly digests: Promise<KnownDigests | undefined>;
  /** Stops the work, if it still runs. */
  cancel(): void;
}

/** Options of {@linkcode hashAhead}. */
export interface HashAheadOptions {
  /** The pool that hashes. Default: the process's shared pool. */
  pool?: HashPool;
  /** Work under this many bytes is not hashed ahead. Default: the pool's threshold (8 MiB). */
  minBytes?: number;
}

/**
 * Starts hashing what the signatures of `image` will need, on the pool; resolves once a worker
 * has the work (or there is none), so that the caller knows the hashing is under way.
 */
export async function hashAhead(
  image: SifImage,
  options: HashAheadOptions = {},
): Promise<DigestsAhead> {
  const needed = neededDigests(image.descriptors);
  const objects = image.descriptors.filter((d) => needed.objects.has(d.id));
  const total = objects.reduce((sum, d) => sum + d.size, 0);
  if (objects.length === 0 || total < (options.minBytes ?? POOL_MIN_BYTES)) {
    return { digests: Promise.resolve(undefined), cancel: () => {} };
  }
  const controller = new AbortController();
  let started!: () => void;
  const underWay = new Promise<void>((resolve) => started = resolve);
  const hashing = (options.pool ?? sharedHashPool()).hash({
    hashes: objects.map(() => "sha256"),
    ranges: objects.map((d, i) => ({ offset: d.offset, size: d.size, sinks: [i] })),
    file: await image.sameFile(),
    read: (offset, into) => image.readInto(offset, into),
    onStarted: () => started(),
    signal: controller.signal,
  });
  const digests = hashing.then((hex): KnownDigests => {
    const byObject = new Map(objects.map((d, i) => [d.id, hex[i]]));
    const groups = new Map<number, string>();
    for (const [group, id] of needed.groups) {
      const digest = byObject.get(id);
      if (digest !== undefined) groups.set(group, digest);
    }
    return { objects: byObject, groups };
  }, () => undefined);
  await Promise.race([underWay, digests]);
  return { digests, cancel: () => controller.abort() };
}
