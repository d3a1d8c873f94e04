/**
 * One pass over the image data: every object that any signature needs is read once, in
 * file order, and fed to every digest algorithm asked of it at the same time — and to the
 * digest of its group's concatenated data, which legacy group signatures sign.
 *
 * Large work goes to the process's hashing pool (core/integrity/hash_pool.ts): a worker reads
 * the image's very file (the same device and inode, `SifImage.sameFile`) and hashes it on a core
 * of its own, so that several images are read and hashed on several cores at once; when it
 * cannot, the image is read here and only hashed on the worker. Small work is hashed inline.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import type { Descriptor, SifImage } from "../sif/mod.ts";
import { createHasher, type Digest, type DigestAlgorithm, nodeHashName } from "./digest.ts";
import { type HashPool, type HashRange, POOL_MIN_BYTES, sharedHashPool } from "./hash_pool.ts";
import type { DigestsAhead } from "./digests_ahead.ts";
import type { KnownDigests } from "./stream_digests.ts";

/** Reports hashing progress: bytes read so far, and in all. */
export type ProgressCallback = (done: number, total: number) => void;

/** Where {@linkcode DigestPlan.run} hashes. */
export interface HashingOptions {
  /** The pool for large work; `false` hashes inline. Default: the process's shared pool. */
  pool?: HashPool | false;
  /** Work of at least this many bytes goes to the pool. Default {@linkcode POOL_MIN_BYTES}. */
  poolMinBytes?: number;
  /**
   * SHA-256 digests already computed from these very bytes (./stream_digests.ts): when they
   * cover everything asked for, no data is read.
   */
  known?: KnownDigests;
  /**
   * Digests under way already (./digests_ahead.ts): awaited and used when they are of exactly
   * the objects asked for and cover everything; otherwise the work is stopped (or its digests
   * left unused) and the data hashed as usual.
   */
  ahead?: DigestsAhead;
  /**
   * Called once, as soon as the hashing is under way (a worker has the work), or at once when
   * there is nothing to hash or it is hashed here: the caller may then load what it needs
   * meanwhile without delaying the start.
   */
  onStarted?: () => void;
}

/** The digests a verification needs, computed in one pass. */
export class DigestPlan {
  readonly #objects = new Map<number, Set<DigestAlgorithm>>();
  readonly #groups = new Map<number, Set<DigestAlgorithm>>();
  readonly #objectDigests = new Map<string, string>();
  readonly #groupDigests = new Map<string, string>();

  /** Asks for the digest of an object's data. */
  needObject(id: number, algorithm: DigestAlgorithm): void {
    add(this.#objects, id, algorithm);
  }

  /** Asks for the digest of a group's objects' data, concatenated in descriptor order. */
  needGroup(groupId: number, algorithm: DigestAlgorithm): void {
    add(this.#groups, groupId, algorithm);
  }

  /**
   * Reads what is needed and computes every digest asked for: on the pool when the work is
   * large enough, else inline; the digests are the same either way.
   *
   * @throws SifError when the image cannot be read, HashPoolError when a hashing worker fails
   */
  async run(
    image: SifImage,
    onProgress?: ProgressCallback,
    options: HashingOptions = {},
  ): Promise<void> {
    let startedOnce = false;
    const onStarted = () => {
      if (!startedOnce) options.onStarted?.();
      startedOnce = true;
    };
    if (options.known !== undefined && this.#useKnown(options.known)) {
      onStarted();
      return;
    }
    const work = image.descriptors.filter((d) =>
      this.#objects.has(d.id) || this.#groups.has(d.groupId)
    );
    const total = work.reduce((sum, d) => sum + d.size, 0);
    if (
      options.ahead !== undefined &&
      await this.#useAhead(options.ahead, total, onProgress, onStarted)
    ) {
      return;
    }
    if (options.pool !== false && total >= (options.poolMinBytes ?? POOL_MIN_BYTES)) {
      const pool = options.pool ?? sharedHashPool();
      await this.#runPooled(pool, image, work, total, onProgress, onStarted);
    } else {
      onStarted();
      await this.#runInline(image, work, total, onProgress);
    }
  }

  /**
   * {@linkcode DigestPlan.run}, and `meanwhile` called as soon as the hashing is under way (to
   * load keys while the data is hashed); returns what `meanwhile` gives once both are done. A
   * failure of `meanwhile` is thrown before one of the hashing.
   */
  async runWhile<T>(
    image: SifImage,
    onProgress: ProgressCallback | undefined,
    options: HashingOptions,
    meanwhile: () => Promise<T>,
  ): Promise<T> {
    let started!: () => void;
    const underWay = new Promise<void>((resolve) => started = resolve);
    const hashing = this.run(image, onProgress, { ...options, onStarted: started });
    hashing.catch(() => undefined);
    await Promise.race([underWay, hashing]);
    const result = await meanwhile();
    await hashing;
    return result;
  }

  /**
   * Waits for digests under way and takes them when they are of exactly the objects asked for
   * and cover everything; else stops them. Whether it took them.
   */
  async #useAhead(
    ahead: DigestsAhead,
    total: number,
    onProgress: ProgressCallback | undefined,
    onStarted: () => void,
  ): Promise<boolean> {
    const asked = [...this.#objects.keys()];
    if (
      ahead.objects !== undefined &&
      (asked.length !== ahead.objects.size || !asked.every((id) => ahead.objects!.has(id)))
    ) {
      ahead.cancel();
      return false;
    }
    onStarted();
    let done = 0;
    onProgress?.(0, total);
    ahead.follow?.((bytes) => {
      done += bytes;
      onProgress?.(Math.min(done, total), total);
    });
    const known = await ahead.digests;
    return known !== undefined && this.#useKnown(known);
  }

  /** Takes every digest asked for from `known`, if it has them all (else takes none). */
  #useKnown(known: KnownDigests): boolean {
    const covered = (asked: Map<number, Set<DigestAlgorithm>>, have: ReadonlyMap<number, string>) =>
      [...asked].every(([id, algorithms]) =>
        have.has(id) && [...algorithms].every((a) => a === "sha256")
      );
    if (!covered(this.#objects, known.objects) || !covered(this.#groups, known.groups)) {
      return false;
    }
    for (const id of this.#objects.keys()) {
      this.#objectDigests.set(key(id, "sha256"), known.objects.get(id)!);
    }
    for (const id of this.#groups.keys()) {
      this.#groupDigests.set(key(id, "sha256"), known.groups.get(id)!);
    }
    return true;
  }

  async #runInline(
    image: SifImage,
    work: Descriptor[],
    total: number,
    onProgress?: ProgressCallback,
  ): Promise<void> {
    const groupHashers = new Map<number, Map<DigestAlgorithm, Hash>>();
    for (const [groupId, algorithms] of this.#groups) {
      groupHashers.set(groupId, hashers(algorithms));
    }
    let done = 0;
    onProgress?.(0, total);
    for (const d of work) {
      const own = hashers(this.#objects.get(d.id));
      const targets = [...own.values(), ...(groupHashers.get(d.groupId)?.values() ?? [])];
      for await (const chunk of image.objectChunks(d)) {
        for (const hasher of targets) hasher.update(chunk);
        done += chunk.length;
        onProgress?.(done, total);
      }
      for (const [algorithm, hasher] of own) {
        this.#objectDigests.set(key(d.id, algorithm), hasher.digest("hex"));
      }
    }
    for (const [groupId, byAlgorithm] of groupHashers) {
      for (const [algorithm, hasher] of byAlgorithm) {
        this.#groupDigests.set(key(groupId, algorithm), hasher.digest("hex"));
      }
    }
  }

  /** The same pass on a worker: one range per object, feeding its own and its group's hashes. */
  async #runPooled(
    pool: HashPool,
    image: SifImage,
    work: Descriptor[],
    total: number,
    onProgress: ProgressCallback | undefined,
    onStarted: (() => void) | undefined,
  ): Promise<void> {
    const hashes: string[] = [];
    const results: { digests: Map<string, string>; key: string }[] = [];
    const sink = (digests: Map<string, string>, id: number, algorithm: DigestAlgorithm) => {
      hashes.push(nodeHashName(algorithm));
      results.push({ digests, key: key(id, algorithm) });
      return hashes.length - 1;
    };
    const groupSinks = new Map<number, number[]>();
    for (const [groupId, algorithms] of this.#groups) {
      groupSinks.set(groupId, [...algorithms].map((a) => sink(this.#groupDigests, groupId, a)));
    }
    const ranges: HashRange[] = work.map((d) => ({
      offset: d.offset,
      size: d.size,
      sinks: [
        ...[...this.#objects.get(d.id) ?? []].map((a) => sink(this.#objectDigests, d.id, a)),
        ...groupSinks.get(d.groupId) ?? [],
      ],
    }));
    let done = 0;
    onProgress?.(0, total);
    const hex = await pool.hash({
      hashes,
      ranges,
      file: await image.sameFile(),
      read: (offset, into) => image.readInto(offset, into),
      onStarted,
      onHashed: (bytes) => {
        done += bytes;
        onProgress?.(done, total);
      },
    });
    results.forEach(({ digests, key }, i) => digests.set(key, hex[i]));
  }

  /** The hex digest of an object's data; throws if it was not asked for. */
  objectDigest(id: number, algorithm: DigestAlgorithm): string {
    return lookup(this.#objectDigests, id, algorithm);
  }

  /** Whether an object's data has this digest; throws if it was not asked for. */
  objectMatches(d: Descriptor, digest: Digest): boolean {
    return lookup(this.#objectDigests, d.id, digest.algorithm) === digest.hex;
  }

  /** Whether a group's concatenated data has this digest; throws if it was not asked for. */
  groupMatches(groupId: number, digest: Digest): boolean {
    return lookup(this.#groupDigests, groupId, digest.algorithm) === digest.hex;
  }
}

function add(map: Map<number, Set<DigestAlgorithm>>, id: number, algorithm: DigestAlgorithm) {
  const set = map.get(id) ?? new Set();
  set.add(algorithm);
  map.set(id, set);
}

function hashers(algorithms: Set<DigestAlgorithm> | undefined): Map<DigestAlgorithm, Hash> {
  return new Map([...(algorithms ?? [])].map((algorithm) => [algorithm, createHasher(algorithm)]));
}

const key = (id: number, algorithm: DigestAlgorithm) => `${id}/${algorithm}`;

function lookup(map: Map<string, string>, id: number, algorithm: DigestAlgorithm): string {
  const value = map.get(key(id, algorithm));
  if (value === undefined) throw new Error(`digest ${key(id, algorithm)} was not planned`);
  return value;
}
