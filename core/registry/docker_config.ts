/**
 * Docker-style authentication files, where Apptainer keeps registry secrets:
 * `{"auths": {HOST: {"auth": base64(user:password)}}}`. Which file is Apptainer's choice
 * ({@linkcode chooseAuthFile}). Other fields are kept; the file is written atomically with
 * mode 0600, under its folder's lock.
 *
 * @module
 */

import { withDirLock, writeFileAtomic } from "../files/atomic.ts";
import { type EnvReader, userConfigDir } from "../config/mod.ts";
import { RegistryError } from "./errors.ts";

/** Docker's client configuration: `auths` and whatever else it holds. */
export type DockerConfig = { auths?: Record<string, unknown> } & Record<string, unknown>;

/**
 * The authentication file a registry login or logout uses, as Apptainer chooses it: the
 * `--authfile` given; else `docker-config.json` in the user's Apptainer folder when it
 * exists; else Docker's own `config.json`, in `$HOME/.docker` — or, a quirk of Apptainer
 * kept so that both tools use the same file, directly in `$APPTAINER_CONFIGDIR` when that
 * is set.
 */
export async function chooseAuthFile(env: EnvReader, requested?: string): Promise<string> {
  if (requested !== undefined && requested !== "") return requested;
  const apptainer = `${userConfigDir(env)}/docker-config.json`;
  try {
    await Deno.stat(apptainer);
    return apptainer;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return apptainer;
  }
  const configDir = env("APPTAINER_CONFIGDIR") ?? env("SINGULARITY_CONFIGDIR");
  return `${configDir ?? `${env("HOME") ?? "/"}/.docker`}/config.json`;
}

/**
 * Reads a `docker-config.json`; a missing or empty file is `{}`.
 * @throws RegistryError `io` (unreadable) or `docker-config` (not a JSON object with an
 * `auths` object)
 */
export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new RegistryError("io", `cannot read ${path}: ${(error as Error).message}`, error);
  }
  return parseDockerConfig(text, path);
}

/**
 * Parses a `docker-config.json`'s text; an empty text is `{}`.
 * @throws RegistryError `docker-config`
 */
export function parseDockerConfig(text: string, path: string): DockerConfig {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(
      "docker-config",
      `${path} is not valid JSON (${(error as Error).message}): fix or remove it`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RegistryError(
      "docker-config",
      `${path} must hold a JSON object such as {"auths": {}}`,
    );
  }
  const config = value as DockerConfig;
  if (
    config.auths !== undefined &&
    (typeof config.auths !== "object" || config.auths === null || Array.isArray(config.auths))
  ) {
    throw new RegistryError("docker-config", `${path}: "auths" must be a JSON object`);
  }
  return config;
}

/**
 * Changes an authentication file under its folder's lock: reads it (missing: `{}`), lets
 * `change` edit it, and — when `change` returns true — writes it back atomically, mode 0600,
 * tab-indented as Docker writes it. Returns what `change` returned.
 * @throws RegistryError `io` or `docker-config`
 */
export async function updateAuthFile(
  path: string,
  change: (config: DockerConfig) => boolean,
): Promise<boolean> {
  const dir = path.slice(0, path.lastIndexOf("/")) || (path.startsWith("/") ? "/" : ".");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await withDirLock(dir, async () => {
    const config = await readDockerConfig(path);
    if (!change(config)) return false;
    const text = `${JSON.stringify(config, null, "\t")}\n`;
    await writeFileAtomic(path, new TextEncoder().encode(text), 0o600, { underLock: true });
    return true;
  });
}
