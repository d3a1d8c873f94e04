/**
 * Reading and updating `remote.yaml` files: updates are locked (concurrent writers take
 * turns) and atomic (a crash leaves the old file or the new one). A file that holds
 * secrets (see `holdsSecrets`) is written with mode 0600.
 *
 * @module
 */

import { withDirLock, writeFileAtomic } from "../files/atomic.ts";
import { ConfigError, holdsSecrets, RemoteConfig } from "./remote_config.ts";

/** Mode of the user's configuration file. */
export const USER_CONFIG_MODE = 0o600;
/** Mode of the system configuration file. */
export const SYSTEM_CONFIG_MODE = 0o644;

/** Reads a configuration file; undefined when it does not exist. */
export async function readConfig(path: string): Promise<RemoteConfig | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return RemoteConfig.parse(text, path);
}

/**
 * Changes a configuration file under its folder's lock: reads it (or starts empty), lets
 * `change` edit it, and writes it back atomically. Returns what `change` returned.
 */
export async function updateConfig<T>(
  path: string,
  mode: number,
  change: (config: RemoteConfig) => T | Promise<T>,
): Promise<T> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  await Deno.mkdir(dir, { recursive: true, mode: mode === USER_CONFIG_MODE ? 0o700 : 0o755 });
  return await withDirLock(dir, async () => {
    const config = (await readConfig(path)) ?? RemoteConfig.empty(path);
    const result = await change(config);
    await writeFileAtomic(
      path,
      new TextEncoder().encode(config.toString()),
      holdsSecrets(config) ? USER_CONFIG_MODE : mode,
      { underLock: true },
    );
    return result;
  });
}
