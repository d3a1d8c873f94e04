/**
 * Key material for the commands: the verification keyrings (global, the user's, extra
 * files) and the user's secret keyring, with warnings for keys that cannot be used.
 *
 * @module
 */

import type { Keyserver } from "../core/config/mod.ts";
import {
  type KeyFinder,
  KeyringError,
  keyringLocations,
  KeySet,
  loadKeySet,
} from "../core/keys/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { log } from "./output.ts";

/** The keyring paths for this environment. */
export function locations() {
  return keyringLocations((name) => Deno.env.get(name));
}

/** Loads the keys verify uses: global, then the user's, then `files`. */
export async function verificationKeys(files: string[]): Promise<KeySet> {
  const { globalKeyring, publicKeyring } = locations();
  try {
    const { keys, skipped } = await loadKeySet({
      globalKeyring,
      localKeyring: publicKeyring,
      files,
    });
    for (const { path, reason } of skipped) {
      log("warning", `skipping a key in ${path} that siftrust cannot use: ${reason}`);
    }
    return keys;
  } catch (error) {
    if (error instanceof KeyringError) {
      throw new CliError(`${error.message}: fix or replace the keyring file`, ExitCode.Usage);
    }
    throw error;
  }
}

/** A finder of keys on keyservers, tried in order. TODO: wire core/keyserver. */
export function remoteKeyFinder(_keyservers: Keyserver[]): KeyFinder {
  return new KeySet([]);
}
