/**
 * The copy engine of `admit`: one pass over an open image that writes a temporary file next
 * to the destination and hashes the bytes as it writes them. Whatever is decided afterwards is
 * decided on the copy (read back through the returned handle), never on the source again, and
 * the copy is renamed into place only when the caller commits it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { removeTemporaries, syncDir, temporarySibling } from "./atomic.ts";

/** Why a copy failed. */
export type CopyErrorKind =
  /** The source descriptor is not a regular file (a folder, FIFO, device…). */
  | "not-a-regular-file"
  /** Reading the source, or creating, writing, syncing or renaming the copy failed. */
  | "io"
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
  /** Bytes read and written at a time; 4 MiB by default. The memory used does not grow. */
  chunkSize?: number;
  /**
   * Sees each chunk once it is written, in order from byte 0 (to hash more than the whole
   * file's SHA-256 in the same pass). The buffer is reused after the call returns.
   */
  onChunk?: (chunk: Uint8Array) => void;
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
  /** The SHA-256 of the bytes written, lowercase hex. */
  readonly sha256: string;
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

const DEFAULT_CHUNK = 4 * 1024 * 1024;

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
    const { size, sha256 } = await copyBytes(
      source,
      file,
      info.size,
      options.chunkSize,
      options.onChunk,
    );
    await file.seek(0, Deno.SeekMode.Start);
    return finishedCopy(file, temporary, destination, dir, size, sha256);
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => undefined);
    if (error instanceof CopyError) throw error;
    throw new CopyError("io", `cannot copy to ${temporary}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Copies up to `limit` bytes from the start of `source` into `target`, hashing them. */
async function copyBytes(
  source: CopySource,
  target: Deno.FsFile,
  limit: number,
  chunkSize = DEFAULT_CHUNK,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(chunkSize);
  await source.seek(0, Deno.SeekMode.Start);
  let size = 0;
  while (size < limit) {
    const want = Math.min(chunkSize, limit - size);
    const got = await source.read(buffer.subarray(0, want));
    if (got === null) break;
    const chunk = buffer.subarray(0, got);
    for (let done = 0; done < got;) done += await target.write(chunk.subarray(done));
    hash.update(chunk);
    onChunk?.(chunk);
    size += got;
  }
  return { size, sha256: hash.digest("hex") };
}

function finishedCopy(
  file: Deno.FsFile,
  tempPath: string,
  destination: string,
  dir: string,
  size: number,
  sha256: string,
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
