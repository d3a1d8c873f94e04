/**
 * SHA-256 hashing beside a copy, on other cores. The copier reads each chunk once into a ring
 * of shared memory (a `SharedArrayBuffer`), writes it out, and hands it to the lanes: each lane
 * is a worker of its own that hashes, straight from the shared chunk, the parts of it that its
 * digests ("sinks") need. Two lanes hash the same bytes at the same time without a copy, and
 * a slot of the ring is filled again only once every lane that was given it is done with it.
 *
 * The hashing pool (core/integrity/hash_pool.ts) hands each chunk to one worker, so two
 * digests of the same bytes would run one after the other on one core, or need the bytes read
 * twice; a copy needs both at once, hence this small module.
 *
 * The program ships as one bundled file, so the worker's code is `hashLaneMain` below,
 * turned into source text and started from a Blob URL: it uses nothing from this module's
 * scope and gets node:crypto's `createHash` as an argument.
 *
 * @module
 */

import type { Hash } from "node:crypto";

/** Bytes `start`–`end` (exclusive) of a chunk, to feed the lane's digest number `sink`. */
export interface HashSegment {
  /** The lane's digest the bytes feed. */
  sink: number;
  /** The first byte, counted from the chunk's start. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** A hashing lane failed (its worker could not start, or stopped). */
export class HashLaneError extends Error {
  /** A lane error, its message saying what happened. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HashLaneError";
  }
}

/** A slot of the ring: fill `bytes`, then give it to the lanes with {@linkcode HashLanes.feed}. */
export interface RingSlot {
  /** The slot's number. */
  readonly index: number;
  /** The slot's shared memory, `chunkSize` bytes. */
  readonly bytes: Uint8Array;
}

/** How {@linkcode HashLanes} is sized. */
export interface HashLanesOptions {
  /** The bytes of a slot. */
  chunkSize: number;
  /** The slots of the ring: how far the copier may run ahead of the slowest lane. */
  slots: number;
}

/** Main thread → lane. */
type ToLane =
  | { type: "init"; ring: SharedArrayBuffer; chunkSize: number }
  | { type: "hash"; slot: number; segments: HashSegment[] }
  | { type: "end"; sinks: number };

/** Lane → main thread. */
type FromLane =
  | { type: "done"; slot: number }
  | { type: "digests"; hex: string[] }
  | { type: "failed"; message: string };

/** The part of a worker's global scope a lane uses. */
interface LaneScope {
  /** Where the main thread's messages arrive. */
  onmessage: ((event: MessageEvent<ToLane>) => void) | null;
  /** Sends a message to the main thread. */
  postMessage(message: FromLane): void;
}

/**
 * A lane's code: hashes the segments it is sent from the shared ring, answers each slot when
 * done with it, and the digests at the end (a sink never fed is the digest of no bytes).
 * Self-contained (see the module documentation).
 */
function hashLaneMain(scope: LaneScope, createHash: (name: string) => Hash): void {
  let ring: Uint8Array = new Uint8Array(0);
  let chunkSize = 0;
  const hashes: Hash[] = [];
  scope.onmessage = (event) => {
    const message = event.data;
    try {
      if (message.type === "init") {
        ring = new Uint8Array(message.ring);
        chunkSize = message.chunkSize;
      } else if (message.type === "hash") {
        const base = message.slot * chunkSize;
        for (const { sink, start, end } of message.segments) {
          hashes[sink] ??= createHash("sha256");
          hashes[sink].update(ring.subarray(base + start, base + end));
        }
        scope.postMessage({ type: "done", slot: message.slot });
      } else {
        const hex: string[] = [];
        for (let sink = 0; sink < message.sinks; sink++) {
          hex.push((hashes[sink] ?? createHash("sha256")).digest("hex"));
        }
        scope.postMessage({ type: "digests", hex });
      }
    } catch (error) {
      scope.postMessage({ type: "failed", message: String(error) });
    }
  };
}

const LANE_SOURCE =
  `import { createHash } from "node:crypto";\n(${hashLaneMain.toString()})(self, createHash);\n`;

interface Lane {
  worker: Worker;
  digests?: { resolve: (hex: string[]) => void; reject: (error: Error) => void };
}

/**
 * A ring of shared chunks and its lanes. Each lane's worker starts when the lane is first fed,
 * and every worker stops at {@linkcode HashLanes.close}.
 */
export class HashLanes implements Disposable {
  readonly #ring: SharedArrayBuffer;
  readonly #chunkSize: number;
  readonly #slots: number;
  /** How many lanes still hash each slot. */
  readonly #pending: number[];
  readonly #lanes: (Lane | undefined)[];
  #url: string | undefined;
  #next = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  /** A ring for `lanes` lanes; nothing starts before the first feed. */
  constructor(lanes: number, options: HashLanesOptions) {
    this.#chunkSize = options.chunkSize;
    this.#slots = Math.max(2, options.slots);
    this.#ring = new SharedArrayBuffer(this.#chunkSize * this.#slots);
    this.#pending = new Array(this.#slots).fill(0);
    this.#lanes = new Array(lanes).fill(undefined);
  }

  /** The number of slots in the ring. */
  get slots(): number {
    return this.#slots;
  }

  /**
   * The next slot of the ring, in turn, once every lane is done with what it held.
   *
   * @throws HashLaneError when a lane failed
   */
  async nextSlot(): Promise<RingSlot> {
    const index = this.#next;
    this.#next = (index + 1) % this.#slots;
    while (this.#pending[index] > 0 && this.#failure === undefined) {
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    if (this.#failure !== undefined) throw this.#failure;
    const start = index * this.#chunkSize;
    return { index, bytes: new Uint8Array(this.#ring, start, this.#chunkSize) };
  }

  /**
   * Has `lane` hash these segments of a slot's bytes (none: nothing to do). The slot is not
   * handed out again before the lane is done with it.
   *
   * @throws HashLaneError when the lane's worker cannot start
   */
  feed(slot: RingSlot, lane: number, segments: HashSegment[]): void {
    if (segments.length === 0) return;
    const worker = this.#lane(lane).worker;
    this.#pending[slot.index]++;
    worker.postMessage({ type: "hash", slot: slot.index, segments } satisfies ToLane);
  }

  /**
   * Waits until every lane has hashed what it was fed, and returns each lane's digests,
   * lower-case hex, `sinks[lane]` of them (a lane never fed gives digests of no bytes).
   *
   * @throws HashLaneError when a lane failed
   */
  async digests(sinks: number[]): Promise<string[][]> {
    return await Promise.all(sinks.map((count, lane) => {
      if (this.#failure !== undefined) return Promise.reject(this.#failure);
      return new Promise<string[]>((resolve, reject) => {
        const state = this.#lane(lane);
        state.digests = { resolve, reject };
        state.worker.postMessage({ type: "end", sinks: count } satisfies ToLane);
      });
    }));
  }

  /** Stops every lane's worker. */
  close(): void {
    for (const lane of this.#lanes) lane?.worker.terminate();
    this.#lanes.fill(undefined);
    if (this.#url !== undefined) URL.revokeObjectURL(this.#url);
    this.#url = undefined;
    this.#fail(new HashLaneError("the hashing lanes were closed"));
  }

  /** Closes the lanes (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #lane(index: number): Lane {
    const existing = this.#lanes[index];
    if (existing !== undefined) return existing;
    if (this.#failure !== undefined) throw this.#failure;
    this.#url ??= URL.createObjectURL(new Blob([LANE_SOURCE], { type: "text/javascript" }));
    let worker: Worker;
    try {
      worker = new Worker(this.#url, { type: "module", name: "siftrust-hash-lane" });
    } catch (error) {
      throw new HashLaneError(`cannot start a hashing worker: ${error}`, { cause: error });
    }
    const lane: Lane = { worker };
    worker.onmessage = (event: MessageEvent<FromLane>) => {
      const message = event.data;
      if (message.type === "done") {
        this.#pending[message.slot]--;
        this.#wake?.();
      } else if (message.type === "digests") {
        lane.digests?.resolve(message.hex);
      } else {
        this.#fail(new HashLaneError(`hashing failed: ${message.message}`));
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new HashLaneError(`a hashing worker stopped: ${event.message}`));
    };
    worker.onmessageerror = () =>
      this.#fail(new HashLaneError("a hashing worker's message was lost"));
    worker.postMessage(
      { type: "init", ring: this.#ring, chunkSize: this.#chunkSize } satisfies ToLane,
    );
    this.#lanes[index] = lane;
    return lane;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const lane of this.#lanes) lane?.digests?.reject(this.#failure);
    this.#wake?.();
  }
}
