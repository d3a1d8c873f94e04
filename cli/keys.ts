/**
 * Key material for the commands: the verification keyrings (global, the user's, extra
 * files), keyservers (with their local cache) for keys none of them has, and the user's
 * secret keyring, with warnings for keys that cannot be used.
 *
 * @module
 */

import {
  builtinConfig,
  ConfigError,
  configLocations,
  DEFAULT_KEYSERVER,
  effectiveConfig,
  type Keyserver,
  keyserverBaseUrl,
  keyserversFor,
  KeyserverUriError,
  readConfig,
  RemoteSelectionError,
} from "../core/config/mod.ts";
import {
  chainFinders,
  type KeyFinder,
  KeyringError,
  keyringLocations,
  type KeySet,
  loadKeySet,
} from "../core/keys/mod.ts";
import { keyCacheDir, RemoteKeyFinder, type RemoteKeyWarning } from "../core/keyserver/mod.ts";
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

/** How verify may use keyservers. */
export interface RemoteKeyOptions {
  /**
   * `--local`: keyrings only. Neither the network nor the cache of keys fetched from
   * keyservers is used: `verify --local` accepts only keys the user (or the administrator) put
   * in a keyring, or named with `--keyring`, which is what scripts that pass `--local` count on.
   * A cached key, although local data, was never chosen by the user.
   */
  local: boolean;
  /** `--url`: this keyserver only, without credentials (when the configuration allows it). */
  url?: string;
}

/** What {@linkcode verificationFinder} returns. */
export interface VerificationFinder {
  /** Global → local → `--keyring` files → keyservers (unless `--local`). */
  keys: KeyFinder;
  /** The keyserver part, when there is one. */
  remote?: RemoteKeyFinder;
}

/**
 * The key lookup of `verify`: the keyrings, then (unless `--local`) the keyservers of the
 * active remote, or `--url`. The configuration is only read, and keyservers only asked, when
 * a signature's key is in no keyring. Keyserver failures are printed as warnings
 * (`WARNING: failed to get key material: …`) and do not stop verification; a configuration
 * that cannot be used does (exit 2).
 */
export async function verificationFinder(
  files: string[],
  options: RemoteKeyOptions,
): Promise<VerificationFinder> {
  const keyrings = await verificationKeys(files);
  if (options.local) return { keys: keyrings };
  const remote = new RemoteKeyFinder({
    keyservers: async () => {
      try {
        return await selectKeyservers(options.url);
      } catch (error) {
        if (error instanceof KeyserverSelectionError) {
          throw new CliError(
            `Error while getting keyserver client config: ${error.message}`,
            ExitCode.Usage,
          );
        }
        throw error;
      }
    },
    cacheDir: keyCacheDir((name) => Deno.env.get(name)),
    onWarning: logRemoteWarning,
  });
  return { keys: chainFinders(keyrings, remote), remote };
}

/**
 * A finder that asks these keyservers, in order, for keys no keyring has (with the key
 * cache; warnings printed as they arise).
 */
export function remoteKeyFinder(keyservers: Keyserver[]): RemoteKeyFinder {
  return new RemoteKeyFinder({
    keyservers,
    cacheDir: keyCacheDir((name) => Deno.env.get(name)),
    onWarning: logRemoteWarning,
  });
}

/** Prints a keyserver warning; a 401 first gets the login help. */
export function logRemoteWarning(warning: RemoteKeyWarning): void {
  if (warning.status === 401) printLoginHelp();
  log("warning", warning.message);
}

/** The keyserver configuration cannot be used; the message says why. */
export class KeyserverSelectionError extends Error {}

/**
 * The keyservers in effect, in order: the active remote's (the built-in default,
 * keys.openpgp.org, with a warning, when there is no configuration), or `url` alone. Prints
 * merge notices and discovery warnings. Throws KeyserverSelectionError.
 */
export async function selectKeyservers(url?: string): Promise<Keyserver[]> {
  const env = (name: string) => Deno.env.get(name);
  try {
    const { userConfig, systemConfig } = configLocations(env);
    const user = await readConfig(userConfig);
    const system = await readConfig(systemConfig);
    let { config, notices, builtin } = effectiveConfig(user, system);
    for (const notice of notices) log("info", notice);
    if (!builtin && config.active === "" && config.remotes.length === 0) {
      // No active remote and no remotes at all: Apptainer falls back to the default too.
      config = builtinConfig();
      builtin = true;
    }
    if (url !== undefined) keyserverBaseUrl(url);
    else if (builtin) {
      log(
        "warning",
        `No default remote in use, falling back to default keyserver: ${DEFAULT_KEYSERVER}`,
      );
    }
    const { keyservers, warnings } = await keyserversFor(config, { url });
    for (const warning of warnings) log("warning", warning);
    return keyservers;
  } catch (error) {
    if (
      error instanceof ConfigError || error instanceof RemoteSelectionError ||
      error instanceof KeyserverUriError
    ) {
      throw new KeyserverSelectionError(error.message);
    }
    throw error;
  }
}

/** The INFO block printed when a keyserver answers 401 (`extra`: more steps). */
export function printLoginHelp(extra: string[] = []): void {
  for (
    const line of [
      "Access token is expired or missing. To update or obtain a token:",
      '  1) View configured remotes and keyservers using "siftrust remote list" and "siftrust keyserver list"',
      "  2) Identify the remote or keyserver in use (the default remote is marked)",
      '  3) Log in with "siftrust remote login <RemoteName>", or for a keyserver added with',
      '     "siftrust keyserver add", with "siftrust keyserver login <keyserver URL>"',
      ...extra,
    ]
  ) log("info", line);
}
