/**
 * The code a hashing worker runs, and the messages it exchanges with the pool
 * (core/integrity/hash_pool.ts).
 *
 * The program ships as one bundled file, so the worker cannot be a module of its own that a
 * `new Worker(new URL(…))` would load: its code is {@linkcode hashWorkerMain}, turned into
 * source text ({@linkcode HASH_WORKER_SOURCE}) that the pool starts from a Blob URL. That
 * function is therefore self-contained: it uses nothing from this module's scope, and gets
 * node:crypto's `createHash` and a file opener ({@linkcode nodeFileOpener}) as arguments.
 *
 * A worker reads the image itself when it can. Deno gives each thread its own table of
 * descriptors, so a worker cannot read the descriptor the image was opened as, and opening its
 * `/proc/self/fd/N` needs Deno's `--allow-all`. Instead the worker opens the file's resolved
 * path (`SifImage.sameFile`), as the image was opened (`O_NOFOLLOW |
 * O_NONBLOCK`), and reads and hashes every range there, on its own core, only if `fstat` gives
 * a regular file of the image's device and inode, long enough. Otherwise (the path renamed or
 * replaced meanwhile, a read that comes up short) it answers `unread`: the pool then reads the
 * ranges on the calling thread and hands the worker each chunk (its buffer transferred, not
 * copied), and the worker hands the buffer back once hashed. Either way the digests are of the
 * bytes of the one file the image was opened as.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import type { SameFile } from "../sif/image.ts";

/** A byte range a worker reads itself, and the indexes of the job's hashes it feeds. */
export interface WorkerRange {
  /** Where the range starts. */
  offset: number;
  /** Its length in bytes. */
  size: number;
  /** Indexes into the job's hashes. */
  sinks: number[];
}

/** What a worker reads itself: the file, its ranges in order, and the chunk size. */
export interface WorkerReading {
  /** The file (refused unless its device and inode are these: see `SifImage.sameFile`). */
  file: SameFile;
  /** Read the file the worker holds open ({@linkcode HoldMessage}) instead of opening `file`. */
  held?: boolean;
  /** The ranges, read and fed in order. */
  ranges: WorkerRange[];
  /** Bytes read at a time. */
  chunkSize: number;
  /**
   * Read the next chunk while this one is hashed (when a CPU is free for it); else read and
   * hash in turn, which is faster when every CPU is hashing.
   */
  readAhead: boolean;
  /**
   * Shared memory the pool sets to non-zero to stop the job: the worker checks it before each
   * chunk (its reading loop does not yield to messages), and then answers `unread`.
   */
  stop?: Int32Array;
}

/**
 * Pool → worker: start a job with one hash per entry of `hashes` (node:crypto names); with
 * `reading`, the worker reads the data itself, else the pool sends it.
 */
export interface BeginMessage {
  /** The kind of message. */
  type: "begin";
  /** The job the message is about. */
  job: number;
  /** node:crypto hash names, one hash each. */
  hashes: string[];
  /** The file and ranges to read and hash in the worker. */
  reading?: WorkerReading;
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

/**
 * Pool → worker: open the file at `path` and hold it open (one at a time) until a
 * {@linkcode ReleaseMessage}, and answer with its first `headBytes` bytes
 * ({@linkcode HeldMessage}); `unread` when it is not a regular file or cannot be opened. While
 * the worker holds it, its inode cannot be reused: a file the caller opens later and finds of the
 * same device and inode is the very file the worker read.
 */
export interface HoldMessage {
  /** The kind of message. */
  type: "hold";
  /** The job the message is about. */
  job: number;
  /** The file's path (a last symbolic link is not followed). */
  path: string;
  /** How many of its first bytes to send back. */
  headBytes: number;
}

/** Pool → worker: close the file it holds. */
export interface ReleaseMessage {
  /** The kind of message. */
  type: "release";
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
export type ToWorker =
  | BeginMessage
  | DataMessage
  | EndMessage
  | AbortMessage
  | HoldMessage
  | ReleaseMessage;

/** Worker → pool: this chunk is hashed; its buffer is returned for reuse. */
export interface HashedMessage {
  /** The kind of message. */
  type: "hashed";
  /** The job the message is about. */
  job: number;
  /** Bytes of the job's data, in order. */
  chunk: Uint8Array;
}

/** Worker → pool: this many more bytes were read and hashed in the worker. */
export interface ProgressMessage {
  /** The kind of message. */
  type: "progress";
  /** The job the message is about. */
  job: number;
  /** How many bytes. */
  bytes: number;
}

/**
 * Worker → pool: the worker could not read the job's file itself (not there, another file, a
 * short read); the job's hashes are dropped, and the pool sends the data instead.
 */
export interface UnreadMessage {
  /** The kind of message. */
  type: "unread";
  /** The job the message is about. */
  job: number;
}

/** Worker → pool: the file of a {@linkcode HoldMessage} is held open; what `fstat` says, and its head. */
export interface HeldMessage {
  /** The kind of message. */
  type: "held";
  /** The job the message is about. */
  job: number;
  /** Its device. */
  dev: number;
  /** Its inode. */
  ino: number;
  /** Its size in bytes. */
  size: number;
  /** Its first bytes (fewer when the file is shorter). */
  head: Uint8Array;
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
export type FromWorker =
  | HashedMessage
  | ProgressMessage
  | UnreadMessage
  | HeldMessage
  | DigestsMessage
  | FailedMessage;

/** The part of a worker's global scope the worker code uses. */
export interface WorkerScope {
  /** Where the pool's messages arrive. */
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  /** Sends a message to the pool. */
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

/** A file a worker opened: what `fstat` says of it, positioned reads, and closing. */
export interface WorkerFile {
  /** `fstat` of the open file: its type, device, inode and size. */
  stat(): { isFile: boolean; dev: number; ino: number; size: number };
  /** Reads into `buffer` from `position`; the number of bytes read (0 at the end). */
  readSync(buffer: Uint8Array, position: number): number;
  /** The same, on the runtime's I/O threads. */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Closes it. */
  close(): void;
}

/** The node:fs functions {@linkcode nodeFileOpener} uses. */
export interface NodeFs {
  /** node:fs `openSync`. */
  openSync(path: string, flags: number): number;
  /** node:fs `fstatSync`. */
  fstatSync(fd: number): { isFile(): boolean; dev: number; ino: number; size: number };
  /** node:fs `readSync`. */
  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  /** node:fs `read`. */
  read(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null, bytesRead: number) => void,
  ): void;
  /** node:fs `closeSync`. */
  closeSync(fd: number): void;
  /** node:fs `constants` (the open flags). */
  constants: { O_RDONLY: number; O_NOFOLLOW: number; O_NONBLOCK: number };
}

/**
 * How a worker opens a file: with node:fs, read-only, not following a last symbolic link and
 * never blocking (a FIFO swapped in opens at once, and is then refused as not a file), as the
 * image itself was opened (core/sif/open_fd.ts). Self-contained, as {@linkcode hashWorkerMain}.
 */
export function nodeFileOpener(fs: NodeFs): (path: string) => WorkerFile {
  return (path) => {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    const fd = fs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    return {
      stat() {
        const s = fs.fstatSync(fd);
        return { isFile: s.isFile(), dev: s.dev, ino: s.ino, size: s.size };
      },
      readSync: (buffer, position) => fs.readSync(fd, buffer, 0, buffer.length, position),
      read: (buffer, position) =>
        new Promise((resolve, reject) =>
          fs.read(fd, buffer, 0, buffer.length, position, (error, n) => {
            if (error === null) resolve(n);
            else reject(error);
          })
        ),
      close: () => fs.closeSync(fd),
    };
  };
}

/**
 * The worker's code: answers the pool's messages on `scope`. `openFile` opens a path
 * read-only in this thread. Self-contained (see the module documentation): it must not refer to
 * anything outside its own body.
 */
export function hashWorkerMain(
  scope: WorkerScope,
  createHash: (name: string) => Hash,
  openFile: (path: string) => WorkerFile,
): void {
  const jobs = new Map<number, Hash[]>();
  let held: WorkerFile | undefined;
  const release = () => {
    held?.close();
    held = undefined;
  };
  /** Reads `length` bytes from the start of `file`, fewer at its end. */
  const readHead = (file: WorkerFile, length: number): Uint8Array => {
    const head = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const n = file.readSync(head.subarray(filled), filled);
      if (n === 0) break;
      filled += n;
    }
    return head.subarray(0, filled);
  };
  /** Opens and holds the file (see HoldMessage); what to answer. */
  const hold = (job: number, path: string, headBytes: number): FromWorker => {
    release();
    let file: WorkerFile;
    try {
      file = openFile(path);
    } catch {
      return { type: "unread", job };
    }
    try {
      const info = file.stat();
      if (info.isFile) {
        const head = readHead(file, Math.min(headBytes, info.size));
        held = file;
        return { type: "held", job, dev: info.dev, ino: info.ino, size: info.size, head };
      }
    } catch {
      // answered as unread
    }
    file.close();
    return { type: "unread", job };
  };
  const fail = (job: number, error: unknown) => {
    jobs.delete(job);
    const message = error instanceof Error ? error.message : String(error);
    scope.postMessage({ type: "failed", job, message });
  };
  /**
   * Reads and hashes the ranges; false when the file is not the one, or is cut short. With
   * `readAhead`, the next chunk is read (on Deno's I/O threads) while this one is hashed.
   */
  const readAndHash = async (
    job: number,
    hashes: Hash[],
    reading: WorkerReading,
  ): Promise<boolean> => {
    let file: WorkerFile;
    try {
      if (reading.held && held === undefined) return false;
      file = reading.held ? held! : openFile(reading.file.path);
    } catch {
      return false;
    }
    try {
      const info = file.stat();
      if (!info.isFile || info.dev !== reading.file.dev || info.ino !== reading.file.ino) {
        return false;
      }
      // A file already too short is read by the pool (its error names the place), before
      // any progress is reported.
      if (reading.ranges.some((range) => range.offset + range.size > info.size)) return false;
      const chunks: { offset: number; length: number; sinks: number[] }[] = [];
      for (const { offset, size, sinks } of reading.ranges) {
        for (let done = 0; done < size; done += reading.chunkSize) {
          chunks.push({
            offset: offset + done,
            length: Math.min(reading.chunkSize, size - done),
            sinks,
          });
        }
      }
      const buffers = [new Uint8Array(reading.chunkSize), new Uint8Array(reading.chunkSize)];
      /** Fills chunk `i`'s buffer, or gives undefined at an early end of the file. */
      const fill = async (i: number): Promise<Uint8Array | undefined> => {
        const chunk = chunks[i];
        const view = buffers[i % 2].subarray(0, chunk.length);
        for (let filled = 0; filled < view.length;) {
          const rest = view.subarray(filled);
          const at = chunk.offset + filled;
          const n = reading.readAhead ? await file.read(rest, at) : file.readSync(rest, at);
          if (n === 0) return undefined;
          filled += n;
        }
        return view;
      };
      let next = chunks.length > 0 ? fill(0) : undefined;
      for (let i = 0; next !== undefined; i++) {
        const view = await next;
        if (view === undefined) return false;
        if (reading.stop !== undefined && Atomics.load(reading.stop, 0) !== 0) return false;
        next = i + 1 < chunks.length ? fill(i + 1) : undefined;
        for (const sink of chunks[i].sinks) hashes[sink].update(view);
        scope.postMessage({ type: "progress", job, bytes: view.length });
      }
      return true;
    } catch {
      return false;
    } finally {
      if (file !== held) file.close();
    }
  };
  scope.onmessage = (event) => {
    const message = event.data;
    const job = message.job;
    try {
      if (message.type === "begin") {
        const hashes = message.hashes.map((name) => createHash(name));
        if (message.reading === undefined) {
          jobs.set(job, hashes);
        } else {
          readAndHash(job, hashes, message.reading).then((read) =>
            scope.postMessage(
              read
                ? { type: "digests", job, hex: hashes.map((h) => h.digest("hex")) }
                : { type: "unread", job },
            )
          ).catch((error) => fail(job, error));
        }
      } else if (message.type === "data") {
        const hashes = jobs.get(job);
        if (hashes !== undefined) {
          for (const sink of message.sinks) hashes[sink].update(message.chunk);
        }
        scope.postMessage({ type: "hashed", job, chunk: message.chunk }, [
          message.chunk.buffer as ArrayBuffer,
        ]);
      } else if (message.type === "hold") {
        const answer = hold(job, message.path, message.headBytes);
        scope.postMessage(
          answer,
          answer.type === "held" ? [answer.head.buffer as ArrayBuffer] : [],
        );
      } else if (message.type === "release") {
        release();
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

/**
 * The worker's module source: node:crypto, and {@linkcode hashWorkerMain} run on `self`, opening
 * files with {@linkcode nodeFileOpener}.
 */
export const HASH_WORKER_SOURCE: string = `import { createHash } from "node:crypto";
import * as fs from "node:fs";
(${hashWorkerMain.toString()})(self, createHash, (${nodeFileOpener.toString()})(fs));
`;

/**
 * What a hashing worker starts as: it loads node:crypto and node:fs (the slow part of its
 * start), then waits for the {@linkcode LoadMessage} that names its code, keeping any message
 * that comes first for that code. It is a plain string, the same in every bundle of a build:
 * the bundle's entry starts a worker that the program, another bundle whose copy of
 * {@linkcode HASH_WORKER_SOURCE} differs in its names, then gives its own code.
 */
export const HASH_WORKER_BOOT = `import "node:crypto";
import "node:fs";
const early = [];
self.onmessage = (event) => {
  if (event.data?.type !== "load") return early.push(event);
  self.onmessage = (later) => early.push(later);
  import(event.data.url).then(() => {
    for (const kept of early.splice(0)) self.onmessage(kept);
  });
};
`;

/** Pool → a worker just started: run the hashing code at `url` (a Blob URL of its source). */
export interface LoadMessage {
  /** The kind of message. */
  type: "load";
  /** Where {@linkcode HASH_WORKER_SOURCE} is. */
  url: string;
}

/** A hashing worker started, not yet told its code. */
export interface StartedHashWorker {
  /** The worker. */
  worker: Worker;
  /** What it started as: {@linkcode HASH_WORKER_BOOT} of the build that started it. */
  boot: string;
}

const blobUrls = new Map<string, string>();

/**
 * A Blob URL of a module source, made once for the process and kept: a worker may load it at
 * any time after it is handed the URL.
 */
export function moduleUrl(source: string): string {
  let url = blobUrls.get(source);
  if (url === undefined) {
    url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    blobUrls.set(source, url);
  }
  return url;
}

/**
 * Starts a hashing worker from {@linkcode HASH_WORKER_BOOT}; a pool gives it its code
 * (`HashPool.adopt`). Deno's `new Worker` waits while the worker's runtime is made (some 10
 * ms); the worker then loads node:crypto on its own thread. A program that will hash starts one
 * early, so that this happens while the rest of the program loads.
 *
 * @throws what `new Worker` throws
 */
export function startHashWorker(): StartedHashWorker {
  const worker = new Worker(moduleUrl(HASH_WORKER_BOOT), { type: "module", name: "siftrust-hash" });
  return { worker, boot: HASH_WORKER_BOOT };
}
