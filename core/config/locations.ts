/**
 * Where Apptainer's configuration lives, from the environment (passed in, so this module
 * reads nothing itself) and, for the system folder, the installed Apptainer.
 *
 * @module
 */

import { installedSysconfdir } from "./sysconfdir.ts";

/** Reads an environment variable. */
export type EnvReader = (name: string) => string | undefined;

/** The user's Apptainer folder: `$APPTAINER_CONFIGDIR` (or `SINGULARITY_CONFIGDIR`), else `$HOME/.apptainer`. */
export function userConfigDir(env: EnvReader): string {
  return env("APPTAINER_CONFIGDIR") ?? env("SINGULARITY_CONFIGDIR") ??
    `${env("HOME") ?? "/"}/.apptainer`;
}

/**
 * The system configuration folder: `$SIFTRUST_SYSCONFDIR/apptainer`, else the installed
 * Apptainer's (`sysconfdir`: see core/config/sysconfdir.ts; `/etc/apptainer` for a package).
 */
export function systemConfigDir(
  env: EnvReader,
  sysconfdir: () => string = installedSysconfdir,
): string {
  return `${env("SIFTRUST_SYSCONFDIR") ?? sysconfdir()}/apptainer`;
}

/** The configuration files siftrust reads and writes. */
export interface ConfigLocations {
  /** `~/.apptainer/remote.yaml`. */
  userConfig: string;
  /** `$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml`. */
  systemConfig: string;
  /** `~/.apptainer/docker-config.json`: registry credentials, as Apptainer keeps them. */
  dockerConfig: string;
}

/** The configuration files for this environment. */
export function configLocations(env: EnvReader): ConfigLocations {
  const user = userConfigDir(env);
  return {
    userConfig: `${user}/remote.yaml`,
    systemConfig: `${systemConfigDir(env)}/remote.yaml`,
    dockerConfig: `${user}/docker-config.json`,
  };
}
