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
 * {@linkcode hashFileAhead} starts earlier still, before the program that opens the image has
 * loaded (`verify` and `sign` from the bundle's entry, cli/image_ahead.ts): a worker opens the
 * file and holds it open, the digests are planned from its first bytes, and the worker hashes
 * it. The image the program then opens gets them only if it is that very file (the same device
 * and inode, while the worker still holds it, so that the inode cannot have been reused) with
 * every object planned at the same offset and of the same size.
 *
 * @module
 */

import type { Descriptor, SifImage } from "../sif/mod.ts";
import { type HashPool, POOL_MIN_BYTES, sharedHashPool } from "./hash_pool.ts";
import {
  type KnownDigests,
  type NeededDigests,
  neededDigests,
  StreamedDigests,
} from "./stream_digests.ts";

/** Digests under way: they end as {@linkcode KnownDigests}, or as undefined. */
export interface DigestsAhead {
  /**
   * The digests; undefined when there was nothing worth hashing ahead, when the work was
   * cancelled, or when it failed (the check then hashes as usual, and reports any error).
   */
  readonly digests: Promise<KnownDigests | undefined>;
  /** Stops the work, if it still runs. */
  cancel(): void;
  /**
   * The objects hashed, when the caller may not know them (a {@linkcode FileDigestsAhead}'s):
   * a user of the digests that needs other objects cancels the work and hashes its own.
   */
  readonly objects?: ReadonlySet<number>;
  /** Follows the hashing: `listener` gets the bytes hashed so far, then each chunk's. */
  follow?(listener: (bytes: number) => void): void;
}

/** Digests of a file computed before it was opened (see {@linkcode hashFileAhead}). */
export interface FileDigestsAhead {
  /** The file's size when the worker opened it. */
  readonly size: number;
  /**
   * The digests for `image`, if it is the file hashed with the objects planned where they were;
   * else undefined, and the work stops. Either way the worker lets go of the file: call it once
   * `image` is open, and only once.
   */
  take(image: SifImage): Promise<DigestsAhead | undefined>;
  /** Stops the work and lets go of the file (when nothing will take the digests). */
  cancel(): void;
}

/** Options of {@linkcode hashFileAhead}. */
export interface FileAheadOptions extends HashAheadOptions {
  /** Which digests, by the descriptors. Default: those a verification needs. */
  select?: (descriptors: readonly Descriptor[]) => NeededDigests;
}

/**
 * The first bytes of a file planned from: enough for the header and a descriptor table of
 * hundreds of descriptors where images have it, at the start. An image whose table does not fit
 * is not hashed ahead.
 */
const HEAD_BYTES = 256 << 10;

/**
 * Has a pool worker open the file at `path`, hold it open, and hash the objects `select` asks
 * for (see the module documentation); resolves once the hashing is under way. Undefined when
 * there is nothing worth hashing ahead (no image, a small one, a file that cannot be opened).
 *
 * @throws HashPoolError when the worker fails or the pool closes
 */
export async function hashFileAhead(
  path: string,
  options: FileAheadOptions = {},
): Promise<FileDigestsAhead | undefined> {
  const held = await (options.pool ?? sharedHashPool()).hold(path, HEAD_BYTES);
  if (held === undefined) return undefined;
  const select = options.select ?? neededDigests;
  const streamed = new StreamedDigests(select);
  const planned = streamed.plan(held.head) ? streamed.objects : [];
  const total = planned.reduce((sum, d) => sum + d.size, 0);
  if (planned.length === 0 || total < (options.minBytes ?? POOL_MIN_BYTES)) {
    held.release();
    return undefined;
  }
  const controller = new AbortController();
  const listeners: ((bytes: number) => void)[] = [];
  let hashed = 0;
  let started!: () => void;
  const underWay = new Promise<void>((resolve) => started = resolve);
  const hashing = held.hash({
    hashes: planned.map(() => "sha256"),
    ranges: planned.map((d, sink) => ({ offset: d.offset, size: d.size, sinks: [sink] }))
      .sort((a, b) => a.offset - b.offset),
    // Only the worker reads: a file it reads short is hashed by the program instead.
    read: () => Promise.reject(new Error("the file was cut short")),
    onStarted: () => started(),
    onHashed: (bytes) => {
      hashed += bytes;
      for (const listener of listeners) listener(bytes);
    },
    signal: controller.signal,
  });
  const digests = hashing.then((hex) => streamed.known(hex, held.size), () => undefined);
  await Promise.race([underWay, digests]);
  const cancel = () => {
    controller.abort();
    held.release();
  };
  return {
    size: held.size,
    take: async (image) => {
      const same = await image.sameFile();
      const matches = same !== undefined && same.dev === held.file.dev &&
        same.ino === held.file.ino &&
        samePlan(planned, streamed.groups, select(image.descriptors), image);
      // The image holds the file open now: the worker may let go of it.
      held.release();
      if (!matches) {
        controller.abort();
        return undefined;
      }
      return {
        digests,
        cancel: () => controller.abort(),
        objects: new Set(planned.map((p) => p.id)),
        follow: (listener) => {
          if (hashed > 0) listener(hashed);
          listeners.push(listener);
        },
      };
    },
    cancel,
  };
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

/**
 * Whether the digests planned from a file's first bytes are those `now` asks of `image`: the
 * same objects at the same offsets and of the same sizes, and the same one-object groups. The
 * descriptors may have changed in between (the file is the user's): then they are not.
 */
function samePlan(
  planned: readonly { id: number; offset: number; size: number }[],
  groups: ReadonlyMap<number, number>,
  now: NeededDigests,
  image: SifImage,
): boolean {
  if (planned.length !== now.objects.size || groups.size !== now.groups.size) return false;
  for (const { id, offset, size } of planned) {
    const d = image.descriptor(id);
    if (!now.objects.has(id) || d?.offset !== offset || d.size !== size) return false;
  }
  return [...groups].every(([group, id]) => now.groups.get(group) === id);
}
