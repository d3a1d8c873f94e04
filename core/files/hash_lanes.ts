/**
 * SHA-256 hashing and writing beside a copy, on other cores. The copier reads each chunk once
 * into a ring of shared memory (a `SharedArrayBuffer`) and hands it to the lanes: each lane is
 * a worker of its own that hashes, straight from the shared chunk, the parts of it that its
 * digests ("sinks") need, and may write the chunk to the copy. Two lanes hash the same bytes at
 * the same time without a copy, and a slot of the ring is filled again only once every lane
 * that was given it is done with it. The bytes written are the bytes hashed: both come from the
 * slot, which nothing changes until then.
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

/** What failed in a lane: writing to the target file, or the lane itself. */
export type HashLaneErrorKind = "write" | "worker";

/** A lane failed: a write, or its worker (could not start, stopped, failed, was closed). */
export class HashLaneError extends Error {
  /** What failed. */
  readonly kind: HashLaneErrorKind;

  /** A lane error of `kind`, its message saying what happened. */
  constructor(kind: HashLaneErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HashLaneError";
    this.kind = kind;
  }
}

/** A slot of the ring: fill `bytes`, then give it to the lanes with {@linkcode HashLanes.feed}. */
export interface RingSlot {
  /** The slot's number. */
  readonly index: number;
  /** The slot's shared memory, `chunkSize` bytes. */
  readonly bytes: Uint8Array;
}

/** How {@linkcode HashLanes} is sized, and where its lanes write. */
export interface HashLanesOptions {
  /** The bytes of a slot. */
  chunkSize: number;
  /** The slots of the ring: how far the copier may run ahead of the slowest lane. */
  slots: number;
  /**
   * The existing file the lanes write chunks to (see {@linkcode HashLanes.feed}); each lane
   * that writes opens it once.
   */
  target?: string;
}

/** Where a lane writes a slot's first `length` bytes in the target file. */
export interface LaneWrite {
  /** The position in the target file. */
  offset: number;
  /** How many bytes of the slot, from its start. */
  length: number;
}

/** Main thread → lane. */
type ToLane =
  | { type: "init"; ring: SharedArrayBuffer; chunkSize: number; target?: string }
  | { type: "hash"; slot: number; segments: HashSegment[]; write?: LaneWrite }
  | { type: "end"; sinks: number };

/** Lane → main thread. */
type FromLane =
  | { type: "done"; slot: number }
  | { type: "digests"; hex: string[] }
  | { type: "failed"; message: string; writing: boolean };

/** The part of a worker's global scope a lane uses. */
interface LaneScope {
  /** Where the main thread's messages arrive. */
  onmessage: ((event: MessageEvent<ToLane>) => void) | null;
  /** Sends a message to the main thread. */
  postMessage(message: FromLane): void;
}

/**
 * A lane's code: hashes the segments it is sent from the shared ring, writes the slot when
 * asked, answers each slot when done with it, and the digests at the end (a sink never fed is
 * the digest of no bytes). Self-contained (see the module documentation).
 */
function hashLaneMain(scope: LaneScope, createHash: (name: string) => Hash): void {
  let ring: Uint8Array = new Uint8Array(0);
  let chunkSize = 0;
  let target: string | undefined;
  let file: Deno.FsFile | undefined;
  const hashes: Hash[] = [];
  scope.onmessage = (event) => {
    const message = event.data;
    let writing = false;
    try {
      if (message.type === "init") {
        ring = new Uint8Array(message.ring);
        chunkSize = message.chunkSize;
        target = message.target;
      } else if (message.type === "hash") {
        const base = message.slot * chunkSize;
        for (const { sink, start, end } of message.segments) {
          hashes[sink] ??= createHash("sha256");
          hashes[sink].update(ring.subarray(base + start, base + end));
        }
        if (message.write !== undefined) {
          const { offset, length } = message.write;
          writing = true;
          if (target === undefined) throw new Error("no file to write to");
          file ??= Deno.openSync(target, { write: true });
          file.seekSync(offset, Deno.SeekMode.Start);
          for (let done = 0; done < length;) {
            done += file.writeSync(ring.subarray(base + done, base + length));
          }
        }
        scope.postMessage({ type: "done", slot: message.slot });
      } else {
        file?.close();
        file = undefined;
        const hex: string[] = [];
        for (let sink = 0; sink < message.sinks; sink++) {
          hex.push((hashes[sink] ?? createHash("sha256")).digest("hex"));
        }
        scope.postMessage({ type: "digests", hex });
      }
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      scope.postMessage({ type: "failed", message: text, writing });
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
  readonly #target: string | undefined;
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
    this.#target = options.target;
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
   * Has `lane` hash these segments of a slot's bytes, then write the slot's bytes to the
   * target file as `write` says (nothing to do: nothing happens). The slot is not handed out
   * again before the lane is done with it. A failed write fails the lanes.
   *
   * @throws HashLaneError when the lane's worker cannot start
   */
  feed(slot: RingSlot, lane: number, segments: HashSegment[], write?: LaneWrite): void {
    if (segments.length === 0 && write === undefined) return;
    const worker = this.#lane(lane).worker;
    this.#pending[slot.index]++;
    worker.postMessage({ type: "hash", slot: slot.index, segments, write } satisfies ToLane);
  }

  /**
   * Waits until every lane has hashed and written what it was fed (and closed the target),
   * and returns each lane's digests,
   * lower-case hex, `sinks[lane]` of them (a lane never fed gives digests of no bytes).
   *
   * @throws HashLaneError when a lane failed
   */
  async digests(sinks: number[]): Promise<string[][]> {
    return await Promise.all(sinks.map((count, lane) => {
      if (this.#failure !== undefined) return Promise.reject(this.#failure);
      if (count === 0 && this.#lanes[lane] === undefined) return Promise.resolve([]);
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
    this.#fail(new HashLaneError("worker", "the hashing lanes were closed"));
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
      throw new HashLaneError("worker", `cannot start a hashing worker: ${error}`, {
        cause: error,
      });
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
        this.#fail(
          message.writing
            ? new HashLaneError("write", message.message)
            : new HashLaneError("worker", `hashing failed: ${message.message}`),
        );
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new HashLaneError("worker", `a hashing worker stopped: ${event.message}`));
    };
    worker.onmessageerror = () =>
      this.#fail(new HashLaneError("worker", "a hashing worker's message was lost"));
    worker.postMessage(
      {
        type: "init",
        ring: this.#ring,
        chunkSize: this.#chunkSize,
        target: this.#target,
      } satisfies ToLane,
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
