/**
 * Loading the public keys a verification may use, in lookup order: the global keyring, the
 * user's keyring, then extra keyring files.
 *
 * @module
 */

import { readKeyringFile } from "./keyring.ts";
import { type FoundKey, KeySet, type KeySource } from "./keyset.ts";

/** The keyrings to load. */
export interface KeyringSources {
  /** The system keyring (`global-pgp-public`), if it is to be used. */
  globalKeyring?: string;
  /** The user's public keyring (`pgp-public`), if it is to be used. */
  localKeyring?: string;
  /** Extra keyring files, armored or binary. */
  files?: string[];
}

/** A key in a keyring that could not be used. */
export interface SkippedKeyNotice {
  /** The keyring file. */
  path: string;
  /** Why openpgp.js cannot use the key. */
  reason: string;
}

/**
 * Loads the keyrings in order. Missing global and local keyrings are empty; a missing extra
 * file, or any unreadable file, throws KeyringError.
 */
export async function loadKeySet(
  sources: KeyringSources,
): Promise<{ keys: KeySet; skipped: SkippedKeyNotice[] }> {
  const entries: FoundKey[] = [];
  const skipped: SkippedKeyNotice[] = [];
  const load = async (path: string, kind: KeySource["kind"], mustExist: boolean) => {
    const keyring = await readKeyringFile(path, { mustExist });
    for (const { key } of keyring.keys) entries.push({ key, source: { kind, location: path } });
    for (const { reason } of keyring.skipped) skipped.push({ path, reason });
  };
  if (sources.globalKeyring !== undefined) await load(sources.globalKeyring, "global", false);
  if (sources.localKeyring !== undefined) await load(sources.localKeyring, "local", false);
  for (const file of sources.files ?? []) await load(file, "file", true);
  return { keys: new KeySet(entries), skipped };
}
