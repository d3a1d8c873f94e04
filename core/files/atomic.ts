/**
 * Safe writes for configuration and keyrings: a lock on the folder, and files replaced
 * atomically — written to a temporary file, flushed, then renamed over the old one. A crash
 * leaves the old file or the new one, never a mix.
 *
 * @module
 */

/** A file could not be written; the message names it and says why. */
export class FileWriteError extends Error {}

/**
 * Runs `update` with an exclusive lock on `dir` (the folder of the files it changes): `flock`,
 * released by the kernel even if the process is killed. Concurrent siftrust processes, and
 * concurrent calls in one process, take turns.
 */
export async function withDirLock<T>(dir: string, update: () => Promise<T>): Promise<T> {
  const lock = await Deno.open(dir, { read: true });
  try {
    await lock.lock(true);
    return await update();
  } finally {
    lock.close();
  }
}

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * The caller holds {@linkcode withDirLock} on the folder: any temporary file of this path
   * is then left over from a writer that was killed, and is removed.
   */
  underLock?: boolean;
}

/** Replaces a file atomically: temporary file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  mode: number,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { dir, prefix, temporary } = temporarySibling(path);
  if (options.underLock) await removeTemporaries(dir, prefix);
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true, mode });
    try {
      for (let done = 0; done < data.length;) done += await file.write(data.subarray(done));
      await Deno.chmod(temporary, mode);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => undefined);
    throw new FileWriteError(`cannot write ${path}: ${(error as Error).message}`);
  }
  await syncDir(dir);
}

/** Where a temporary file for `path` goes: its folder, and `.<name>.<uuid>.tmp` in it. */
export interface TemporarySibling {
  /** The folder of `path` (`.` for a bare name). */
  dir: string;
  /** `.<name>.`: the start of the name of every temporary file for `path`. */
  prefix: string;
  /** A fresh temporary path in `dir`. */
  temporary: string;
}

/** A fresh temporary path next to `path`, named so that {@linkcode removeTemporaries} finds it. */
export function temporarySibling(path: string): TemporarySibling {
  const slash = path.lastIndexOf("/");
  const dir = slash === -1 ? "." : path.slice(0, slash) || "/";
  const prefix = `.${path.slice(slash + 1)}.`;
  return { dir, prefix, temporary: `${dir}/${prefix}${crypto.randomUUID()}.tmp` };
}

/** Removes the temporary files of killed writers (`.<name>.<uuid>.tmp`). */
export async function removeTemporaries(dir: string, prefix: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".tmp")) {
      await Deno.remove(`${dir}/${entry.name}`).catch(() => undefined);
    }
  }
}

/** Flushes a folder's entries (after a rename into it); a no-op where the file system cannot. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot sync a folder; the rename is still atomic.
  } finally {
    handle.close();
  }
}
