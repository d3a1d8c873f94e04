/**
 * The two `remote.yaml` files a `remote` or `keyserver` operation works on — the user's (or
 * one named with `--config`) and the system's — and the configuration in effect when they
 * are read together.
 *
 * @module
 */

import { resolve } from "node:path";
import { isRoot } from "./env.ts";
import { RemoteError } from "./errors.ts";
import { readConfig } from "./files.ts";
import { configLocations, type EnvReader } from "./locations.ts";
import { builtinConfig, mergeSystemInto } from "./merge.ts";
import { RemoteConfig } from "./remote_config.ts";

/** The files a `remote`/`keyserver` operation works on. */
export interface ConfigFiles {
  /** The user's `remote.yaml`, or the `--config` file. */
  user: string;
  /** `$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml`. */
  system: string;
  /** Whether `user` is the system file itself (then nothing is merged into it). */
  userIsSystem: boolean;
  /** Tells whether siftrust runs as root (default {@linkcode isRoot}); tests replace it. */
  isRoot?: () => boolean;
}

/** The files for this environment; `config` replaces the user's file. */
export function configFiles(env: EnvReader, config?: string): ConfigFiles {
  const locations = configLocations(env);
  const user = config ?? locations.userConfig;
  return {
    user,
    system: locations.systemConfig,
    userIsSystem: resolve(user) === resolve(locations.systemConfig),
  };
}

/** The configuration in effect for reading. */
export interface EffectiveConfig {
  /** The user's file with the system configuration merged in. */
  config: RemoteConfig;
  /** `… defined both globally and individually, using individual`. */
  notices: string[];
}

/**
 * The system configuration: the system file, or — when there is none, as when Apptainer is
 * not installed — the built-in one that Apptainer ships (`DefaultRemote`). Undefined when the
 * user file is the system file itself.
 */
export async function readSystem(files: ConfigFiles): Promise<RemoteConfig | undefined> {
  if (files.userIsSystem) return undefined;
  return await readConfig(files.system) ?? builtinConfig();
}

/**
 * The user (or `--config`) file with the system configuration merged in, as Apptainer reads
 * it; the built-in default remote when that leaves no remote at all. Nothing is written.
 */
export async function readEffective(files: ConfigFiles): Promise<EffectiveConfig> {
  const user = await readConfig(files.user);
  const system = await readSystem(files);
  const config = (user ?? RemoteConfig.empty(files.user)).clone();
  const notices = system === undefined ? [] : mergeSystemInto(config, system);
  if (config.remotes.length === 0) mergeSystemInto(config, builtinConfig());
  return { config, notices };
}

/**
 * A system file that does not exist yet starts as the one Apptainer ships: `DefaultRemote`
 * (cloud.apptainer.org), active. Called under the folder's lock, before a change.
 */
export async function shippedUnlessExists(config: RemoteConfig, path: string): Promise<void> {
  const exists = await Deno.lstat(path).then(() => true, () => false);
  if (!exists) mergeSystemInto(config, builtinConfig());
}

/**
 * Logins are not stored in the system file, which every user can read.
 * @throws RemoteError `secrets-in-system-file` when the user file is the system file
 */
export function refuseSecretsInSystemFile(files: ConfigFiles): void {
  if (files.userIsSystem) {
    throw new RemoteError(
      "secrets-in-system-file",
      `logins are not stored in the system file ${files.user}, which every user can read`,
    );
  }
}

/**
 * Refuses a system-wide change unless siftrust runs as root; `message` says which change.
 * @throws RemoteError `not-root`
 */
export function requireRoot(files: ConfigFiles, message: string): void {
  if (!(files.isRoot ?? isRoot)()) throw new RemoteError("not-root", message);
}
