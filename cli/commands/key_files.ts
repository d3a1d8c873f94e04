/**
 * The keyrings a `key` subcommand works on: the user's (or `--keysdir`), or the global one
 * with `--global` — created with Apptainer's modes, and fixed (with a warning) when wrong.
 *
 * @module
 */

import {
  GLOBAL_KEYRING_MODE,
  KEYRING_MODE,
  type KeyringFiles,
  type KeyringLocations,
  keyringLocations,
  prepareKeysDir,
} from "../../core/keys/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import { log } from "../output.ts";

/** The key-folder options of the `key` subcommands. */
export interface Location {
  keysdir?: string;
  global?: boolean;
}

/** The keyring paths, with `--keysdir` in place of `APPTAINER_KEYSDIR`. */
export function locationsFor(options: Location): KeyringLocations {
  return keyringLocations((name) =>
    name === "APPTAINER_KEYSDIR" && options.keysdir !== undefined
      ? options.keysdir
      : Deno.env.get(name)
  );
}

/** The keyrings to change, created when missing. */
export async function keyringFiles(options: Location): Promise<KeyringFiles> {
  const locations = locationsFor(options);
  if (options.global) {
    const dir = locations.globalKeyring.slice(0, locations.globalKeyring.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    return { dir, publicKeyring: locations.globalKeyring, mode: GLOBAL_KEYRING_MODE };
  }
  const fixes = await prepareKeysDir(locations.keysDir, [
    locations.publicKeyring,
    locations.secretKeyring,
  ]);
  for (const fix of fixes) {
    const what = fix.to === 0o700 ? "Directory" : "File";
    log(
      "warning",
      `${what} mode (${fix.from.toString(8)}) on ${fix.path} needs to be ${
        fix.to.toString(8)
      }, fixing that...`,
    );
  }
  return {
    dir: locations.keysDir,
    publicKeyring: locations.publicKeyring,
    secretKeyring: locations.secretKeyring,
    mode: KEYRING_MODE,
  };
}

/** `--global` changes need root, as in Apptainer. */
export function requireRootForGlobal(command: string, options: Location): void {
  if (options.global && Deno.uid() !== 0) {
    throw new CliError(
      `"siftrust key ${command}" with --global requires root privileges: run it as root, or drop --global`,
      ExitCode.Usage,
    );
  }
}
