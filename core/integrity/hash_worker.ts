/**
 * The code a hashing worker runs, and the messages it exchanges with the pool
 * (core/integrity/hash_pool.ts).
 *
 * The program ships as one bundled file, so the worker cannot be a module of its own that a
 * `new Worker(new URL(…))` would load: its code is {@linkcode hashWorkerMain}, turned into
 * source text ({@linkcode HASH_WORKER_SOURCE}) that the pool starts from a Blob URL. That
 * function is therefore self-contained: it uses nothing from this module's scope, and gets
 * node:crypto's `createHash` as an argument.
 *
 * The worker only hashes. Deno gives each worker its own table of node:fs descriptors, so a
 * worker cannot read the descriptor the image was opened as; the pool reads it on the main
 * thread and hands the worker each chunk (its buffer transferred, not copied), and the worker
 * hands the buffer back once hashed.
 *
 * @module
 */

import type { Hash } from "node:crypto";

/** Pool → worker: start a job with one hash per entry of `hashes` (node:crypto names). */
export interface BeginMessage {
  /** The kind of message. */
  type: "begin";
  /** The job the message is about. */
  job: number;
  /** node:crypto hash names, one hash each. */
  hashes: string[];
}

/** Pool → worker: feed `chunk` to the job's hashes numbered `sinks`, then send it back. */
export interface DataMessage {
  /** The kind of message. */
  type: "data";
  /** The job the message is about. */
  job: number;
  /** Indexes into the job's hashes. */
  sinks: number[];
  /** Bytes of the job's data, in order. */
  chunk: Uint8Array;
}

/** Pool → worker: the job's data is all sent; reply with its digests. */
export interface EndMessage {
  /** The kind of message. */
  type: "end";
  /** The job the message is about. */
  job: number;
}

/** Pool → worker: forget the job (its reading failed). */
export interface AbortMessage {
  /** The kind of message. */
  type: "abort";
  /** The job the message is about. */
  job: number;
}

/** What the pool sends a worker. */
export type ToWorker = BeginMessage | DataMessage | EndMessage | AbortMessage;

/** Worker → pool: this chunk is hashed; its buffer is returned for reuse. */
export interface HashedMessage {
  /** The kind of message. */
  type: "hashed";
  /** The job the message is about. */
  job: number;
  /** Bytes of the job's data, in order. */
  chunk: Uint8Array;
}

/** Worker → pool: the job's digests, in lower-case hex, in the order of its `hashes`. */
export interface DigestsMessage {
  /** The kind of message. */
  type: "digests";
  /** The job the message is about. */
  job: number;
  /** Lower-case hex digests, one per hash. */
  hex: string[];
}

/** Worker → pool: the job failed in the worker (e.g. an unknown hash name). */
export interface FailedMessage {
  /** The kind of message. */
  type: "failed";
  /** The job the message is about. */
  job: number;
  /** What went wrong. */
  message: string;
}

/** What a worker sends the pool. */
export type FromWorker = HashedMessage | DigestsMessage | FailedMessage;

/** The part of a worker's global scope the worker code uses. */
export interface WorkerScope {
  /** Where the pool's messages arrive. */
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  /** Sends a message to the pool. */
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

/**
 * The worker's code: answers the pool's messages on `scope`. Self-contained (see the module
 * documentation): it must not refer to anything outside its own body.
 */
export function hashWorkerMain(
  scope: WorkerScope,
  createHash: (name: string) => Hash,
): void {
  const jobs = new Map<number, Hash[]>();
  const fail = (job: number, error: unknown) => {
    jobs.delete(job);
    const message = error instanceof Error ? error.message : String(error);
    scope.postMessage({ type: "failed", job, message });
  };
  scope.onmessage = (event) => {
    const message = event.data;
    const job = message.job;
    try {
      if (message.type === "begin") {
        jobs.set(job, message.hashes.map((name) => createHash(name)));
      } else if (message.type === "data") {
        const hashes = jobs.get(job);
        if (hashes !== undefined) {
          for (const sink of message.sinks) hashes[sink].update(message.chunk);
        }
        scope.postMessage({ type: "hashed", job, chunk: message.chunk }, [
          message.chunk.buffer as ArrayBuffer,
        ]);
      } else if (message.type === "end") {
        const hashes = jobs.get(job);
        jobs.delete(job);
        if (hashes !== undefined) {
          scope.postMessage({ type: "digests", job, hex: hashes.map((h) => h.digest("hex")) });
        }
      } else {
        jobs.delete(job);
      }
    } catch (error) {
      fail(job, error);
    }
  };
}

/** The worker's module source: node:crypto, and {@linkcode hashWorkerMain} run on `self`. */
export const HASH_WORKER_SOURCE: string =
  `import { createHash } from "node:crypto";\n(${hashWorkerMain.toString()})(self, createHash);\n`;
