/**
 * `docker-config.json`, Docker's client configuration, where Apptainer keeps registry
 * secrets: `{"auths": {HOST: {"auth": base64(user:password)}}}`, next to `remote.yaml`.
 * Other fields are kept; the file is written atomically with mode 0600.
 *
 * @module
 */

import { writeFileAtomic } from "../files/atomic.ts";
import { RegistryError } from "./errors.ts";

/** Docker's client configuration: `auths` and whatever else it holds. */
export type DockerConfig = { auths?: Record<string, unknown> } & Record<string, unknown>;

/** The `docker-config.json` next to a `remote.yaml`. */
export function dockerConfigPath(remoteYaml: string): string {
  const slash = remoteYaml.lastIndexOf("/");
  return `${slash === -1 ? "." : remoteYaml.slice(0, slash) || ""}/docker-config.json`;
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
 * Writes a `docker-config.json` atomically, mode 0600, tab-indented as Docker writes it.
 * Called under the folder's lock (the one `remote.yaml` updates take).
 */
export async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  const text = `${JSON.stringify(config, null, "\t")}\n`;
  await writeFileAtomic(path, new TextEncoder().encode(text), 0o600, { underLock: true });
}
