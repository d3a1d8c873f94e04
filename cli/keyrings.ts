/**
 * The keyrings a `key` subcommand works on: the user's (or `--keysdir`), or the global one
 * with `--global` — created with Apptainer's modes, and fixed (with a warning) when wrong —
 * and how keyring failures end a `key` subcommand.
 *
 * @module
 */

import type { Resolution } from "../core/config/mod.ts";
import { FileWriteError } from "../core/files/atomic.ts";
import {
  KeyManagementError,
  KeyringError,
  type KeyringFiles,
  prepareKeyrings,
} from "../core/keys/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { resolveThisRun } from "./keys.ts";
import { log } from "./output.ts";

/** The key-folder options of the `key` subcommands. */
export interface Location {
  keysdir?: string;
  global?: boolean;
}

/** The resolution of a `key` subcommand's run, with `--keysdir` in place of the user's. */
export function keyResolution(options: Location & { url?: string }): Resolution {
  return resolveThisRun({ keysDir: options.keysdir, url: options.url });
}

/** The public keyring a key is read from: the global one with `--global`, else the user's. */
export function publicKeyringPath(options: Location): string {
  const locations = keyResolution(options).locations;
  return options.global ? locations.globalKeyring : locations.publicKeyring;
}

/** The keyrings to change, created when missing. */
export async function keyringFiles(options: Location): Promise<KeyringFiles> {
  const { files, fixes } = await prepareKeyrings(
    keyResolution(options).locations,
    options.global === true,
  );
  for (const fix of fixes) {
    const what = fix.to === 0o700 ? "Directory" : "File";
    log(
      "warning",
      `${what} mode (${fix.from.toString(8)}) on ${fix.path} needs to be ${
        fix.to.toString(8)
      }, fixing that...`,
    );
  }
  return files;
}

/** `--global` changes need root, as in Apptainer. */
export function requireRootForGlobal(command: string, options: Location): void {
  if (options.global && keyResolution(options).context.uid !== 0) {
    throw new CliError(
      `"siftrust key ${command}" with --global requires root privileges: run it as root, or drop --global`,
      ExitCode.Usage,
    );
  }
}

/**
 * Runs a keyring operation, turning its refusals into one line after `what` (exit 2; a file
 * that cannot be written: exit 1).
 */
export async function keyOperation<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof KeyManagementError || error instanceof KeyringError) {
      throw new CliError(`${what}${error.message}`, ExitCode.Usage);
    }
    if (error instanceof FileWriteError) {
      throw new CliError(`${what}${error.message}`, ExitCode.Failed);
    }
    throw error;
  }
}
