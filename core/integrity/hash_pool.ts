/**
 * A pool of hashing workers, so that images checked at the same time (`check -j N`) are hashed
 * on as many cores. A job names byte ranges, the hashes each range feeds, and how to read
 * them. When the job names the file it reads ({@linkcode HashJob.file}), its worker opens that
 * very file (same device and inode) and reads and hashes it on its own core, so that reading
 * is spread over the cores too and the calling thread stays free. Otherwise, or when the worker
 * cannot (./hash_worker.ts), the pool reads the ranges in order on the calling thread (through
 * the caller's `read`) and a worker hashes each chunk while the next one is read. Each job runs
 * on one worker; jobs wait when every worker is busy.
 *
 * Workers start when a job needs one and stop when the pool has been idle for a moment
 * (`idleMs`), or at {@linkcode HashPool.close}, so that a program exits promptly.
 *
 * @module
 */

import type { SameFile } from "../sif/image.ts";
import {
  type FromWorker,
  HASH_WORKER_BOOT,
  HASH_WORKER_SOURCE,
  type LoadMessage,
  moduleUrl,
  type StartedHashWorker,
  startHashWorker,
  type ToWorker,
} from "./hash_worker.ts";

/** Why a pool job failed: its worker failed or stopped, or the pool was closed. */
export type HashPoolErrorKind = "worker" | "closed";

/** A failure of the pool itself (reading errors of a job are the job's own, passed through). */
export class HashPoolError extends Error {
  /** What went wrong. */
  readonly kind: HashPoolErrorKind;

  /** A pool error of this kind. */
  constructor(kind: HashPoolErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HashPoolError";
    this.kind = kind;
  }
}

/** A byte range of a job, and which of the job's hashes it feeds. */
export interface HashRange {
  /** Where the range starts. */
  offset: number;
  /** Its length in bytes. */
  size: number;
  /** Indexes into {@linkcode HashJob.hashes}. */
  sinks: number[];
}

/** What a pool hashes: ranges, fed in order to the hashes they name. */
export interface HashJob {
  /** The hashes, as node:crypto names them (`sha256`, `sha512-256`). */
  hashes: string[];
  /** The ranges, in the order they are read and fed. */
  ranges: HashRange[];
  /**
   * The file the ranges are in, for the worker to read itself. `read` is used instead when
   * there is none, or when the worker cannot open it as that file or reads it short.
   */
  file?: SameFile;
  /** Fills `into` with the bytes at `offset`, or rejects. */
  read(offset: number, into: Uint8Array): Promise<void>;
  /** Called as chunks are hashed, with each chunk's length. */
  onHashed?: (bytes: number) => void;
  /**
   * Called once, when a worker has the job (before its first byte is hashed); for a job the
   * worker reads itself, told whether it reads ahead (see {@linkcode HashPoolOptions.readAhead}).
   */
  onStarted?: (readsAhead?: boolean) => void;
  /**
   * Stops the job: it then rejects with the signal's reason, once its worker has let go of it
   * (within a chunk), so that the worker is free for the next job.
   */
  signal?: AbortSignal;
}

/** A file a worker holds open ({@linkcode HashPool.hold}), and jobs that read it. */
export interface HeldFile {
  /** The file: the path it was opened by, its device and inode. */
  readonly file: SameFile;
  /** Its size when it was opened. */
  readonly size: number;
  /** Its first bytes, as many as were asked for (fewer when it is shorter). */
  readonly head: Uint8Array;
  /**
   * Hashes a job on the worker that holds the file, reading the held file; as
   * {@linkcode HashPool.hash}. `job.read` is used when the worker reads it short.
   */
  hash(job: Omit<HashJob, "file">): Promise<string[]>;
  /** Closes the file, and frees the worker for other jobs. Once only; later calls do nothing. */
  release(): void;
}

/** How a pool is sized. */
export interface HashPoolOptions {
  /** At most this many workers. Default: the number of CPUs, at most {@linkcode MAX_DEFAULT_WORKERS}. */
  size?: number;
  /** Idle workers stop after this many milliseconds without a job. Default 100. */
  idleMs?: number;
  /** Bytes read and handed to a worker at a time. Default 4 MiB. */
  chunkSize?: number;
  /** Chunk buffers per job: one being read, the others queued or being hashed. Default 3. */
  buffersPerJob?: number;
  /**
   * Whether a worker reading a file reads its next chunk while it hashes one. Default: while
   * fewer jobs run than the CPUs the pool may use ({@linkcode HashPool.limitCpus}), so that the
   * reading has a CPU of its own (when every CPU hashes, reading and hashing in turn is as fast).
   */
  readAhead?: boolean;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** The running job's handlers. */
  onMessage?: (message: FromWorker) => void;
  onFailure?: (error: HashPoolError) => void;
}

const DEFAULT_CHUNK = 4 << 20;

/** Below this many bytes, hashing on a worker costs more than it saves: 8 MiB. */
export const POOL_MIN_BYTES: number = 8 << 20;

/**
 * The default pool size is the number of CPUs, but at most this: each worker costs about
 * 25 MiB (its isolate and the chunks in flight), and 8 workers hash faster than most storage
 * reads.
 */
export const MAX_DEFAULT_WORKERS = 8;

/** A pool of hashing workers (see the module documentation). */
export class HashPool implements Disposable {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #chunkSize: number;
  readonly #buffersPerJob: number;
  readonly #readAheadOption: boolean | undefined;
  #cpus = navigator.hardwareConcurrency || 1;
  #slots: Slot[] = [];
  #waiters: { resolve: (slot: Slot) => void; reject: (error: Error) => void }[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #nextJob = 1;
  #closed = false;
  /** Where workers go once free, after {@linkcode HashPool.handOver}. */
  #heir: ((started: StartedHashWorker) => void) | undefined;

  /** A pool; no worker starts before the first job. */
  constructor(options: HashPoolOptions = {}) {
    const cpus = Math.min(navigator.hardwareConcurrency || 1, MAX_DEFAULT_WORKERS);
    this.#size = Math.max(1, options.size ?? cpus);
    this.#idleMs = options.idleMs ?? 100;
    this.#chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
    this.#buffersPerJob = Math.max(2, options.buffersPerJob ?? 3);
    this.#readAheadOption = options.readAhead;
  }

  /** The most workers this pool runs at once. */
  get size(): number {
    return this.#size;
  }

  /** How many workers are running now. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Whether {@linkcode HashPool.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hashes a job on a worker and returns its hashes' lower-case hex digests, in the order of
   * `job.hashes`.
   *
   * @throws what `job.read` throws, and HashPoolError when the worker fails or the pool closes
   */
  async hash(job: HashJob): Promise<string[]> {
    const slot = await this.#acquire();
    try {
      return await this.#run(slot, this.#nextJob++, job);
    } finally {
      slot.onMessage = undefined;
      slot.onFailure = undefined;
      this.#release(slot);
    }
  }

  /**
   * Has a worker open the file at `path` (read-only, not following a last symbolic link, never
   * blocking) and hold it open until {@linkcode HeldFile.release}, which also frees the worker:
   * while it is held its inode cannot be reused, so a file opened later by any path and found of
   * the same device and inode is the very file. Undefined when it cannot be opened or is not a
   * regular file.
   *
   * @throws HashPoolError when the worker fails or the pool closes
   */
  async hold(path: string, headBytes: number): Promise<HeldFile | undefined> {
    const slot = await this.#acquire();
    const id = this.#nextJob++;
    let answer: FromWorker;
    try {
      answer = await new Promise<FromWorker>((resolve, reject) => {
        slot.onFailure = reject;
        slot.onMessage = (message) => {
          if (message.job === id) resolve(message);
        };
        slot.worker.postMessage({ type: "hold", job: id, path, headBytes } satisfies ToWorker);
      });
    } catch (error) {
      this.#release(slot);
      throw error;
    }
    slot.onMessage = undefined;
    slot.onFailure = undefined;
    if (answer.type !== "held") {
      this.#release(slot);
      return undefined;
    }
    const file = { path, dev: answer.dev, ino: answer.ino };
    let released = false;
    let running: Promise<unknown> = Promise.resolve();
    return {
      file,
      size: answer.size,
      head: answer.head,
      hash: (job) => {
        if (released) return Promise.reject(new HashPoolError("closed", "the file was released"));
        const hashing = this.#run(slot, this.#nextJob++, { ...job, file }, true).finally(() => {
          slot.onMessage = undefined;
          slot.onFailure = undefined;
        });
        running = hashing.catch(() => undefined);
        return hashing;
      },
      release: () => {
        if (released) return;
        released = true;
        // After a running job lets go of the worker (at once, when it was stopped).
        running.then(() => {
          if (this.#slots.includes(slot)) slot.worker.postMessage({ type: "release", job: id });
          this.#release(slot);
        });
      },
    };
  }

  /**
   * Uses at most `count` CPUs (and never more than the machine has) from now on: a job reads
   * ahead (see {@linkcode HashPoolOptions.readAhead}) only while fewer than `count` jobs run. A
   * caller that runs one job at a time and limits the pool to one CPU has it read and hash in
   * turn, on one CPU.
   */
  limitCpus(count: number): void {
    this.#cpus = Math.max(1, Math.min(count, navigator.hardwareConcurrency || 1));
  }

  /**
   * Starts up to `count` workers (at most the pool's size) ahead of their first job, so that
   * they start (tens of milliseconds each) while the caller does other work, such as loading a
   * policy. They stop if no job comes within `graceMs`. A worker that cannot start is left to
   * the first job to report.
   */
  prestart(count: number = this.#size, graceMs = 2000): void {
    if (this.#closed) return;
    try {
      while (this.#slots.length < Math.min(count, this.#size)) this.#start().busy = false;
    } catch {
      // The first job starts its worker again, and reports why it cannot.
    }
    this.#scheduleIdle(graceMs);
  }

  /**
   * Takes a worker started ahead ({@linkcode startHashWorker}, e.g. by the bundle's entry) as
   * one of this pool's, idle, and gives it this pool's code; it stops as
   * {@linkcode HashPool.prestart}'s do. A worker another build started, or that the pool has no
   * room for, is stopped instead. Returns whether it was taken.
   */
  adopt(started: StartedHashWorker, graceMs = 2000): boolean {
    if (this.#closed || started.boot !== HASH_WORKER_BOOT || this.#slots.length >= this.#size) {
      started.worker.terminate();
      return false;
    }
    this.#add(started.worker).busy = false;
    this.#scheduleIdle(graceMs);
    return true;
  }

  /**
   * Gives this pool's workers to `heir` (another pool's `adopt`), each as soon as it is free:
   * the idle ones now, the busy ones when their job ends (a file held, when it is released).
   * In the bundle the entry's pool hands its workers, busy hashing ahead, to the program's.
   * The pool takes no new job after this (its jobs fail with HashPoolError("closed")).
   */
  handOver(heir: (started: StartedHashWorker) => void): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#heir = heir;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new HashPoolError("closed", "the hashing pool was handed over"));
    }
    this.#handOverIdle();
  }

  /** Stops every worker; running and waiting jobs fail with HashPoolError("closed"). */
  close(): void {
    this.#closed = true;
    this.#stopAll(new HashPoolError("closed", "the hashing pool was closed"));
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new HashPoolError("closed", "the hashing pool was closed"));
    }
  }

  /** Closes the pool (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Runs a job on the slot's worker; `held`: it reads the file it holds. */
  async #run(slot: Slot, id: number, job: HashJob, held = false): Promise<string[]> {
    job.signal?.throwIfAborted();
    const total = job.ranges.reduce((sum, r) => sum + r.size, 0);
    const chunkSize = Math.max(1, Math.min(this.#chunkSize, total));
    if (job.file !== undefined) {
      const hex = await this.#runInWorker(slot, id, job, { ...job.file, held }, chunkSize);
      if (hex !== undefined) return hex;
      job.signal?.throwIfAborted();
      // The worker could not read the file: the job starts again, fed from here.
      id = this.#nextJob++;
      job = { ...job, onStarted: undefined };
    }
    return await this.#runFed(slot, id, job, chunkSize);
  }

  /** The job read and hashed by the worker; undefined when it answers that it cannot. */
  #runInWorker(
    slot: Slot,
    id: number,
    job: HashJob,
    file: SameFile & { held: boolean },
    chunkSize: number,
  ): Promise<string[] | undefined> {
    const stop = job.signal === undefined ? undefined : new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(stop!, 0, 1);
    job.signal?.addEventListener("abort", onAbort, { once: true });
    return new Promise<string[] | undefined>((resolve, reject) => {
      slot.onFailure = reject;
      slot.onMessage = (message) => {
        if (message.job !== id) return;
        if (message.type === "progress") job.onHashed?.(message.bytes);
        else if (message.type === "digests") resolve(message.hex);
        else if (message.type === "unread") resolve(undefined);
        else if (message.type === "failed") {
          reject(new HashPoolError("worker", `hashing failed: ${message.message}`));
        }
      };
      const ranges = job.ranges.map(({ offset, size, sinks }) => ({ offset, size, sinks }));
      const readAhead = this.#readAhead();
      const message: ToWorker = {
        type: "begin",
        job: id,
        hashes: job.hashes,
        reading: {
          file: { path: file.path, dev: file.dev, ino: file.ino },
          held: file.held,
          ranges,
          chunkSize,
          readAhead,
          stop,
        },
      };
      slot.worker.postMessage(message);
      job.onStarted?.(readAhead);
    }).finally(() => job.signal?.removeEventListener("abort", onAbort));
  }

  /** Whether a job starting now reads ahead (see {@linkcode HashPoolOptions.readAhead}). */
  #readAhead(): boolean {
    if (this.#readAheadOption !== undefined) return this.#readAheadOption;
    const busy = this.#slots.filter((slot) => slot.busy).length;
    return busy < this.#cpus;
  }

  /** The job read here, each chunk handed to the worker to hash. */
  async #runFed(slot: Slot, id: number, job: HashJob, chunkSize: number): Promise<string[]> {
    const free: ArrayBuffer[] = [];
    let allocated = 0;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let settle: { resolve: (hex: string[]) => void; reject: (error: Error) => void } | undefined;
    const digests = new Promise<string[]>((resolve, reject) => settle = { resolve, reject });
    digests.catch(() => undefined);
    const fail = (error: Error) => {
      failure ??= error;
      settle?.reject(error);
      wake?.();
    };
    slot.onFailure = fail;
    slot.onMessage = (message) => {
      if (message.job !== id) return;
      if (message.type === "hashed") {
        free.push(message.chunk.buffer as ArrayBuffer);
        job.onHashed?.(message.chunk.length);
        wake?.();
      } else if (message.type === "digests") {
        settle?.resolve(message.hex);
      } else if (message.type === "failed") {
        fail(new HashPoolError("worker", `hashing failed: ${message.message}`));
      }
    };
    const buffer = async (): Promise<ArrayBuffer> => {
      for (;;) {
        if (failure !== undefined) throw failure;
        const ready = free.pop();
        if (ready !== undefined) return ready;
        if (allocated < this.#buffersPerJob) {
          allocated++;
          return new ArrayBuffer(chunkSize);
        }
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
    };
    const post = (message: ToWorker, transfer: Transferable[] = []) =>
      slot.worker.postMessage(message, transfer);

    post({ type: "begin", job: id, hashes: job.hashes });
    job.onStarted?.();
    try {
      for (const range of job.ranges) {
        for (let done = 0; done < range.size;) {
          job.signal?.throwIfAborted();
          const space = await buffer();
          const length = Math.min(chunkSize, range.size - done);
          const chunk = new Uint8Array(space, 0, length);
          await job.read(range.offset + done, chunk);
          if (failure !== undefined) throw failure;
          // Transferring the buffer empties `chunk` here: count its length before.
          post({ type: "data", job: id, sinks: range.sinks, chunk }, [space]);
          done += length;
        }
      }
    } catch (error) {
      if (!(error instanceof HashPoolError)) post({ type: "abort", job: id });
      throw error;
    }
    post({ type: "end", job: id });
    return await digests;
  }

  #acquire(): Promise<Slot> {
    if (this.#closed) {
      return Promise.reject(new HashPoolError("closed", "the hashing pool was closed"));
    }
    this.#cancelIdle();
    const idle = this.#slots.find((slot) => !slot.busy);
    if (idle !== undefined) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.#slots.length < this.#size) {
      try {
        return Promise.resolve(this.#start());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #release(slot: Slot): void {
    if (!this.#slots.includes(slot)) {
      // The slot's worker failed and was dropped: a waiting job gets a new worker.
      if (this.#waiters.length > 0 && !this.#closed) {
        const waiter = this.#waiters.shift()!;
        try {
          waiter.resolve(this.#start());
        } catch (error) {
          waiter.reject(error as Error);
        }
      }
      this.#scheduleIdle();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(slot);
      return;
    }
    slot.busy = false;
    if (this.#heir !== undefined) this.#handOverIdle();
    else this.#scheduleIdle();
  }

  /** Gives every idle worker to the heir: out of this pool, not stopped, with no handlers. */
  #handOverIdle(): void {
    for (const slot of this.#slots.filter((s) => !s.busy)) {
      this.#slots = this.#slots.filter((s) => s !== slot);
      slot.worker.onmessage = null;
      slot.worker.onerror = null;
      slot.worker.onmessageerror = null;
      this.#heir!({ worker: slot.worker, boot: HASH_WORKER_BOOT });
    }
    if (this.#slots.length === 0) this.#cancelIdle();
  }

  /** Starts a worker, busy for the caller. */
  #start(): Slot {
    let worker: Worker;
    try {
      worker = startHashWorker().worker;
    } catch (error) {
      throw new HashPoolError("worker", `cannot start a hashing worker: ${error}`, {
        cause: error,
      });
    }
    return this.#add(worker);
  }

  /** A slot for a worker just started, given this pool's code; busy for the caller. */
  #add(worker: Worker): Slot {
    const load: LoadMessage = { type: "load", url: moduleUrl(HASH_WORKER_SOURCE) };
    worker.postMessage(load);
    const slot: Slot = { worker, busy: true };
    worker.onmessage = (event: MessageEvent<FromWorker>) => slot.onMessage?.(event.data);
    const crashed = (reason: string) => {
      this.#drop(slot, new HashPoolError("worker", `a hashing worker stopped: ${reason}`));
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      crashed(event.message);
    };
    worker.onmessageerror = () => crashed("a message could not be read");
    this.#slots.push(slot);
    return slot;
  }

  #drop(slot: Slot, error: HashPoolError): void {
    slot.worker.terminate();
    this.#slots = this.#slots.filter((s) => s !== slot);
    slot.onFailure?.(error);
  }

  #stopAll(error: HashPoolError): void {
    this.#cancelIdle();
    for (const slot of [...this.#slots]) this.#drop(slot, error);
  }

  #scheduleIdle(idleMs: number = this.#idleMs): void {
    if (this.#slots.some((slot) => slot.busy) || this.#waiters.length > 0) return;
    this.#cancelIdle();
    if (this.#slots.length === 0) return;
    const timer = setTimeout(() => {
      this.#idleTimer = undefined;
      this.#stopAll(new HashPoolError("closed", "the hashing pool went idle"));
    }, idleMs);
    Deno.unrefTimer(timer);
    this.#idleTimer = timer;
  }

  #cancelIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}

let shared: HashPool | undefined;

/** The process's hashing pool, made on first use (again after it was closed). */
export function sharedHashPool(): HashPool {
  if (shared === undefined || shared.closed) shared = new HashPool();
  return shared;
}
