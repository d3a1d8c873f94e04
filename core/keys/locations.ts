/**
 * Where Apptainer keeps keyrings, from the environment (passed in, so that this module reads
 * nothing itself).
 *
 * @module
 */

import { type EnvReader, systemConfigDir, userConfigDir } from "../config/locations.ts";

export type { EnvReader };

/** The keyring files siftrust uses. */
export interface KeyringLocations {
  /** The user's key folder: `$APPTAINER_KEYSDIR`, else `<config dir>/keys`. */
  keysDir: string;
  /** The user's public keyring, `<keysDir>/pgp-public`. */
  publicKeyring: string;
  /** The user's secret keyring, `<keysDir>/pgp-secret`. */
  secretKeyring: string;
  /** The system keyring, `$SIFTRUST_SYSCONFDIR/apptainer/global-pgp-public` (default /etc). */
  globalKeyring: string;
}

/**
 * The keyring locations, as Apptainer finds them: `APPTAINER_KEYSDIR` (or the legacy
 * `SINGULARITY_SYPGPDIR`), else `APPTAINER_CONFIGDIR` (or `SINGULARITY_CONFIGDIR`, else
 * `$HOME/.apptainer`) + `/keys`.
 */
export function keyringLocations(env: EnvReader): KeyringLocations {
  const keysDir = env("APPTAINER_KEYSDIR") ?? env("SINGULARITY_SYPGPDIR") ??
    `${userConfigDir(env)}/keys`;
  return {
    keysDir,
    publicKeyring: `${keysDir}/pgp-public`,
    secretKeyring: `${keysDir}/pgp-secret`,
    globalKeyring: `${systemConfigDir(env)}/global-pgp-public`,
  };
}
