/**
 * The key folder and its files: modes as Apptainer keeps them, and the raw bytes a rewrite
 * writes back. The writes themselves are atomic and locked (core/files).
 *
 * @module
 */

import type { KeyringFiles } from "./manage.ts";

/** Modes of Apptainer's key files. */
export const KEYS_DIR_MODE = 0o700;
/** Mode of the user's keyring files (secret material: owner only). */
export const KEYRING_MODE = 0o600;
/** Mode of the global keyring (public keys, readable by all). */
export const GLOBAL_KEYRING_MODE = 0o644;

/** Something fixed while preparing the key folder, for the caller to report. */
export interface ModeFix {
  /** The file or folder. */
  path: string;
  /** Its mode before. */
  from: number;
  /** Its mode now. */
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

/** Where a user's keyrings are (see core/config/resolve.ts). */
export interface KeyringPaths {
  /** The user's key folder. */
  keysDir: string;
  /** The user's public keyring. */
  publicKeyring: string;
  /** The user's secret keyring. */
  secretKeyring: string;
  /** The global keyring. */
  globalKeyring: string;
}

/**
 * The keyrings a change applies to, made ready: the global keyring (its folder created, 0755)
 * or the user's (as {@linkcode prepareKeysDir} prepares them). Returns them and the modes that
 * were fixed.
 */
export async function prepareKeyrings(
  paths: KeyringPaths,
  global: boolean,
): Promise<{ files: KeyringFiles; fixes: ModeFix[] }> {
  if (global) {
    const dir = paths.globalKeyring.slice(0, paths.globalKeyring.lastIndexOf("/")) || "/";
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    return {
      files: { dir, publicKeyring: paths.globalKeyring, mode: GLOBAL_KEYRING_MODE },
      fixes: [],
    };
  }
  const fixes = await prepareKeysDir(paths.keysDir, [paths.publicKeyring, paths.secretKeyring]);
  const files = {
    dir: paths.keysDir,
    publicKeyring: paths.publicKeyring,
    secretKeyring: paths.secretKeyring,
    mode: KEYRING_MODE,
  };
  return { files, fixes };
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
