/**
 * The environment settings Apptainer reads for remotes and logins (`APPTAINER_<NAME>`, else
 * `SINGULARITY_<NAME>`), and whether siftrust runs as root.
 *
 * @module
 */

import { RemoteError } from "./errors.ts";
import type { EnvReader } from "./locations.ts";

/** An Apptainer setting from the environment: `APPTAINER_<name>`, else `SINGULARITY_<name>`. */
export function apptainerEnv(env: EnvReader, name: string): string | undefined {
  return env(`APPTAINER_${name}`) ?? env(`SINGULARITY_${name}`);
}

/** An Apptainer setting as a boolean: `1`, `t`, `true`, `y`, `yes` or `on`, in any case. */
export function apptainerEnvFlag(env: EnvReader, name: string): boolean {
  const value = apptainerEnv(env, name);
  return value !== undefined && /^(1|t|true|y|yes|on)$/i.test(value.trim());
}

/**
 * Whether siftrust runs as root (uid 0), as Apptainer checks before system-wide changes.
 * @throws RemoteError `not-permitted` without the `--allow-sys=uid` permission
 */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new RemoteError(
      "not-permitted",
      "cannot tell whether siftrust runs as root: it needs the --allow-sys=uid permission",
      error,
    );
  }
}
