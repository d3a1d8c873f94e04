/**
 * Safe keyring writes: under an exclusive lock on the keyring's folder (`flock`, released
 * by the kernel even if the process is killed), each file is replaced atomically — written
 * to a temporary file, flushed, then renamed over the old one. Concurrent writers queue;
 * a crash leaves the old file or the new one, never a mix.
 *
 * @module
 */

import { KeyringError } from "./keyring.ts";

/** Modes of Apptainer's key files. */
export const KEYS_DIR_MODE = 0o700;
/** Mode of the user's keyring files (secret material: owner only). */
export const KEYRING_MODE = 0o600;
/** Mode of the global keyring (public keys, readable by all). */
export const GLOBAL_KEYRING_MODE = 0o644;

/** Something fixed while preparing the key folder, for the caller to report. */
export interface ModeFix {
  path: string;
  from: number;
  to: number;
}

/**
 * Creates the key folder (0700) and keyring files (0600) when missing, and fixes their
 * modes when wrong, as Apptainer does. Returns what was fixed.
 */
export async function prepareKeysDir(dir: string, files: string[]): Promise<ModeFix[]> {
  const fixes: ModeFix[] = [];
  await Deno.mkdir(dir, { recursive: true, mode: KEYS_DIR_MODE });
  await fixMode(dir, KEYS_DIR_MODE, fixes);
  for (const file of files) {
    try {
      await Deno.writeFile(file, new Uint8Array(), { createNew: true, mode: KEYRING_MODE });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    await fixMode(file, KEYRING_MODE, fixes);
  }
  return fixes;
}

async function fixMode(path: string, mode: number, fixes: ModeFix[]): Promise<void> {
  const current = (await Deno.stat(path)).mode! & 0o777;
  if (current === mode) return;
  await Deno.chmod(path, mode);
  fixes.push({ path, from: current, to: mode });
}

/**
 * Runs `update` with an exclusive lock on `dir` (the folder of the keyrings it changes), so
 * that concurrent siftrust processes, and concurrent calls in one process, take turns.
 */
export async function withKeyringLock<T>(dir: string, update: () => Promise<T>): Promise<T> {
  const lock = await Deno.open(dir, { read: true });
  try {
    await lock.lock(true);
    return await update();
  } finally {
    lock.close();
  }
}

/** Replaces a file atomically: temporary file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(path: string, data: Uint8Array, mode: number): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash === -1 ? "." : path.slice(0, slash) || "/";
  const temporary = `${dir}/.${path.slice(slash + 1)}.${crypto.randomUUID()}.tmp`;
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
    throw new KeyringError(`cannot write ${path}: ${(error as Error).message}`);
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot sync a folder; the rename is still atomic.
  } finally {
    handle.close();
  }
}

/** A keyring's transferable keys as raw bytes, in file order: what a rewrite writes back. */
export function keyringBytes(raws: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(raws.reduce((sum, raw) => sum + raw.length, 0));
  let at = 0;
  for (const raw of raws) {
    out.set(raw, at);
    at += raw.length;
  }
  return out;
}
