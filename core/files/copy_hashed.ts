/**
 * The copy engine of `admit`: one pass over an open image that writes a temporary file next
 * to the destination and hashes the bytes as it writes them. Whatever is decided afterwards is
 * decided on the copy (read back through the returned handle), never on the source again, and
 * the copy is renamed into place only when the caller commits it.
 *
 * Each chunk is read once into shared memory (./hash_lanes.ts), where a worker hashes the parts
 * a {@linkcode DigestRouter} asks for (the digests a verification of the copy will need) while
 * this thread writes the chunk to the copy: the slot is not filled again before the worker is
 * done with it, so the bytes written are the bytes hashed. With the whole copy's SHA-256 too
 * (`sha256`, a second pass over every byte), a second worker takes it, and the two workers take
 * turns writing the chunks instead. The copy is flushed to disk as it grows, so that the sync of
 * a commit has little left to write.
 *
 * @module
 */

import { removeTemporaries, syncDir, temporarySibling } from "./atomic.ts";
import { HashLaneError, HashLanes, type HashSegment, type RingSlot } from "./hash_lanes.ts";

export type { HashSegment } from "./hash_lanes.ts";

/** Why a copy failed. */
export type CopyErrorKind =
  /** The source descriptor is not a regular file (a folder, FIFO, device…). */
  | "not-a-regular-file"
  /** Reading the source, or creating, writing, syncing or renaming the copy failed. */
  | "io"
  /** A hashing worker could not start or failed. */
  | "hashing"
  /** A commit that must not overwrite found a file at the destination. */
  | "destination-exists"
  /** `commit` or `discard` was called on a copy that was already committed or discarded. */
  | "finished";

/** A copy could not be made or finished; `kind` says why, the message names the file. */
export class CopyError extends Error {
  /** Why the copy failed. */
  readonly kind: CopyErrorKind;

  /** A copy error of `kind`, with a message that names the file. */
  constructor(kind: CopyErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CopyError";
    this.kind = kind;
  }
}

/** What the copy engine needs of its source: an open file it can stat, rewind and read. */
export type CopySource = Pick<Deno.FsFile, "stat" | "seek" | "read">;

/** Options of {@linkcode copyHashed}. */
export interface CopyHashedOptions {
  /** The mode of the copy (and of the file committed into place); 0o644 by default. */
  mode?: number;
  /**
   * The caller holds `withDirLock` (./atomic.ts) on the destination's folder: temporary files of
   * the destination's name are then left over from a copy that was killed, and are removed.
   */
  underLock?: boolean;
  /** Bytes read and written at a time; 1 MiB by default. The memory used does not grow. */
  chunkSize?: number;
  /** More SHA-256 digests of parts of the copy, taken in the same pass (see the interface). */
  digests?: DigestRouter;
  /**
   * Take the SHA-256 of the whole copy ({@linkcode HashedCopy.sha256}); true by default. It is a
   * second pass of SHA-256 over every byte, on a core of its own: a copy that needs only the
   * router's digests is faster without it.
   */
  sha256?: boolean;
}

/**
 * Which parts of a copy feed which extra SHA-256 digests ("sinks"), decided from the copy's
 * first bytes (core/integrity/stream_digests.ts plans those a verification needs).
 */
export interface DigestRouter {
  /**
   * Plans from the copy's first bytes (`prefix`, from byte 0): true once planned (perhaps with
   * nothing to hash), false while it needs more bytes. The copy gives up, hashing nothing
   * extra, when its ring of chunks (16 of them) is full first, or the copy ends first.
   */
  plan(prefix: Uint8Array): boolean;
  /** The number of digests planned. */
  readonly sinks: number;
  /** The parts of the copy's bytes `offset`… `offset + length` that feed each digest. */
  segments(offset: number, length: number): HashSegment[];
}

/** Options of {@linkcode HashedCopy.commit}. */
export interface CommitOptions {
  /**
   * Replace a file already at the destination (a `rename`, the default). With `false`, an
   * existing destination is left alone and the commit fails (a hard link, then an unlink of
   * the temporary name), so two admits of one name cannot overwrite each other.
   */
  overwrite?: boolean;
}

/** A finished copy in its temporary file, not yet in place. */
export interface HashedCopy {
  /** The temporary file, in the destination's folder. */
  readonly tempPath: string;
  /** Where {@linkcode HashedCopy.commit} puts the copy. */
  readonly destination: string;
  /** The number of bytes copied. */
  readonly size: number;
  /** The SHA-256 of the bytes written, lowercase hex; null when not asked for. */
  readonly sha256: string | null;
  /**
   * The digests of {@linkcode CopyHashedOptions.digests}, lowercase hex, one per sink: empty
   * when there was no router or it could not plan. A sink whose parts lie beyond the bytes
   * copied has the digest of only those that were.
   */
  readonly partDigests: readonly string[];
  /**
   * The copy, open for reading (and writing; the caller must not write). It stays open after
   * {@linkcode HashedCopy.commit}; the caller closes it. {@linkcode HashedCopy.discard} closes it.
   */
  readonly file: Deno.FsFile;
  /** Flushes the copy to disk, renames it to the destination, flushes the folder. */
  commit(options?: CommitOptions): Promise<void>;
  /** Closes the copy's handle and removes the temporary file; nothing is left behind. */
  discard(): Promise<void>;
}

const DEFAULT_CHUNK = 1024 * 1024;
/** Slots in the ring: how far the copy may run ahead of the hashing. */
const RING_SLOTS = 16;
/** Bytes written between two flushes to disk of the copy. */
const FLUSH_BYTES = 64 * 1024 * 1024;
/** The lane of the whole copy's SHA-256, and that of the router's digests. */
const WHOLE = 0;
const PARTS = 1;

/**
 * Copies `source` from its first byte into a new temporary file next to `destination`
 * (created exclusively, `O_EXCL`, owned by the running user, mode `options.mode`), hashing the
 * bytes as they are written, in constant memory. The source is read once, up to the size its
 * descriptor had when the copy started: bytes appended during the copy are not copied, and a
 * source cut short during the copy gives a shorter copy. `size` and `sha256` always describe
 * exactly the bytes in the copy. On any failure the temporary file is removed.
 *
 * The copy is created, chmod-ed and renamed by name: the destination's folder must be one
 * that only the running user can write (such as a root-owned image library).
 */
export async function copyHashed(
  source: CopySource,
  destination: string,
  options: CopyHashedOptions = {},
): Promise<HashedCopy> {
  const mode = options.mode ?? 0o644;
  const info = await source.stat().catch((error) => {
    throw new CopyError("io", `cannot read the image to copy: ${(error as Error).message}`);
  });
  if (!info.isFile) {
    throw new CopyError("not-a-regular-file", "the image to copy is not a regular file");
  }
  const { dir, prefix, temporary } = temporarySibling(destination);
  if (options.underLock) await removeTemporaries(dir, prefix);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temporary, { read: true, write: true, createNew: true, mode });
  } catch (error) {
    throw new CopyError("io", `cannot create ${temporary}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    await Deno.chmod(temporary, mode);
    const copied = await copyBytes(source, file, temporary, info.size, options);
    await file.seek(0, Deno.SeekMode.Start);
    return finishedCopy(file, temporary, destination, dir, copied);
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => undefined);
    if (error instanceof CopyError) throw error;
    if (error instanceof HashLaneError && error.kind === "worker") {
      throw new CopyError("hashing", `cannot hash ${temporary}: ${error.message}`, {
        cause: error,
      });
    }
    throw new CopyError("io", `cannot copy to ${temporary}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

interface Copied {
  size: number;
  sha256: string | null;
  partDigests: string[];
}

/**
 * Copies up to `limit` bytes from the start of `source` into the file at `target`, each chunk
 * read once into the lanes' ring, and hashed and written from there.
 */
async function copyBytes(
  source: CopySource,
  copy: Deno.FsFile,
  target: string,
  limit: number,
  options: CopyHashedOptions,
): Promise<Copied> {
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);
  const whole = options.sha256 ?? true;
  using lanes = new HashLanes(2, { chunkSize, slots: RING_SLOTS, target });
  using flusher = new Flusher(target);
  let router = options.digests;
  /** The chunks copied while the router could not plan yet: they wait in their slots. */
  let waiting: { slot: RingSlot; offset: number; length: number }[] | undefined = router && [];
  await source.seek(0, Deno.SeekMode.Start);
  let size = 0;
  while (size < limit) {
    const slot = await lanes.nextSlot();
    const want = Math.min(chunkSize, limit - size);
    const length = await fill(source, slot.bytes.subarray(0, want));
    if (length === 0) break;
    const offset = size;
    size += length;
    let parts: HashSegment[] = [];
    if (waiting === undefined) {
      if (router !== undefined) parts = router.segments(offset, length);
    } else if (router!.plan(new Uint8Array(slot.bytes.buffer, 0, size))) {
      // The first chunks fill the first slots, whole: the ring holds the copy's first bytes.
      for (const w of waiting) lanes.feed(w.slot, PARTS, router!.segments(w.offset, w.length));
      parts = router!.segments(offset, length);
      waiting = undefined;
    } else {
      waiting.push({ slot, offset, length });
      if (waiting.length === lanes.slots) [waiting, router] = [undefined, undefined];
    }
    if (whole) {
      // Two digests of every byte: the lanes hash and take turns writing the chunks.
      const write = { offset, length };
      const wholeWrites = slot.index % 2 === 0;
      lanes.feed(
        slot,
        WHOLE,
        [{ sink: 0, start: 0, end: length }],
        wholeWrites ? write : undefined,
      );
      lanes.feed(slot, PARTS, parts, wholeWrites ? undefined : write);
    } else {
      // The router's digests alone: this thread writes each chunk as it reads it, the lane
      // hashes it meanwhile (the slot is not filled again before the lane is done with it).
      lanes.feed(slot, PARTS, parts);
      writeAll(copy, slot.bytes.subarray(0, length));
    }
    flusher.wrote(length);
    if (length < want) break; // the source was cut short: the copy ends there
  }
  if (waiting !== undefined) router = undefined;
  const [wholeDigests, partDigests] = await lanes.digests([whole ? 1 : 0, router?.sinks ?? 0]);
  await flusher.finish();
  return { size, sha256: wholeDigests[0] ?? null, partDigests };
}

/**
 * Writes the copy to disk while it is made, so that the sync of a commit has little left to
 * do: after every {@linkcode FLUSH_BYTES} written, an `fdatasync` of the copy (one at a time),
 * through a descriptor of its own (the operations on the returned handle would queue behind
 * one on theirs).
 */
class Flusher implements Disposable {
  readonly #path: string;
  #file: Deno.FsFile | undefined;
  #pending: Promise<void> | undefined;
  #failure: Error | undefined;
  #unflushed = 0;

  constructor(path: string) {
    this.#path = path;
  }

  /** Counts bytes written; starts a flush when enough are and none is under way. */
  wrote(bytes: number): void {
    this.#unflushed += bytes;
    if (this.#unflushed < FLUSH_BYTES || this.#pending !== undefined) return;
    this.#unflushed = 0;
    try {
      this.#file ??= Deno.openSync(this.#path, { read: true });
    } catch (error) {
      this.#failure ??= error as Error;
      return;
    }
    this.#pending = this.#file.syncData()
      .catch((error) => void (this.#failure ??= error))
      .finally(() => this.#pending = undefined);
  }

  /** Waits for the flush under way; throws what a flush met (the copy is then not safe). */
  async finish(): Promise<void> {
    await this.#pending;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Closes its descriptor. */
  [Symbol.dispose](): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

/** Writes all of `bytes` at `file`'s position. */
function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
}

/** Reads from `source` until `into` is full or the source ends; the number of bytes read. */
async function fill(source: CopySource, into: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    const got = await source.read(into.subarray(filled));
    if (got === null || got === 0) break;
    filled += got;
  }
  return filled;
}

function finishedCopy(
  file: Deno.FsFile,
  tempPath: string,
  destination: string,
  dir: string,
  { size, sha256, partDigests }: Copied,
): HashedCopy {
  let state: "open" | "committed" | "discarded" = "open";
  const ensureOpen = (action: string) => {
    if (state !== "open") {
      throw new CopyError(
        "finished",
        `cannot ${action} ${tempPath}: the copy was already ${state}`,
      );
    }
  };
  return {
    tempPath,
    destination,
    size,
    sha256,
    partDigests,
    file,
    async commit(options: CommitOptions = {}) {
      ensureOpen("commit");
      try {
        await file.sync();
        if (options.overwrite === false) {
          await Deno.link(tempPath, destination);
          await Deno.remove(tempPath);
        } else {
          await Deno.rename(tempPath, destination);
        }
      } catch (error) {
        const kind = error instanceof Deno.errors.AlreadyExists ? "destination-exists" : "io";
        throw new CopyError(
          kind,
          `cannot put the copy in place at ${destination}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      state = "committed";
      await syncDir(dir);
    },
    async discard() {
      if (state === "discarded") return;
      ensureOpen("discard");
      state = "discarded";
      try {
        file.close();
      } catch {
        // The caller closed it already.
      }
      await Deno.remove(tempPath).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) {
          throw new CopyError("io", `cannot remove ${tempPath}: ${error.message}`, {
            cause: error,
          });
        }
      });
    },
  };
}
