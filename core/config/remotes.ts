/**
 * Adding, removing and choosing remote endpoints in the user's file or — as root — the
 * system's, with Apptainer's rules: names are unique, a system remote cannot be removed from
 * a user file, an exclusive system remote cannot be replaced as the default, and a system
 * file that does not exist yet starts as the one Apptainer ships.
 *
 * @module
 */

import { type ConfigFiles, readSystem, requireRoot, shippedUnlessExists } from "./config_files.ts";
import { normalizeEndpointUri } from "./endpoint_uri.ts";
import { RemoteError } from "./errors.ts";
import { readConfig, SYSTEM_CONFIG_MODE, updateConfig, USER_CONFIG_MODE } from "./files.ts";
import { activeEndpoint } from "./keyservers.ts";
import { mergeSystemInto } from "./merge.ts";
import type { Endpoint, RemoteConfig } from "./remote_config.ts";

/** The file a change goes to. */
interface Target {
  path: string;
  /** Whether it is the system file. */
  system: boolean;
}

/** The system file when `global` (root only), else the user's. */
function targetFile(files: ConfigFiles, global: boolean | undefined): Target {
  if (global) {
    requireRoot(files, "Unable to modify global endpoint configuration file: not root user");
    return { path: files.system, system: true };
  }
  return { path: files.user, system: files.userIsSystem };
}

/** The exclusivity rule of `remote use` on a user file. */
function checkExclusive(config: RemoteConfig, name: string, system?: RemoteConfig): void {
  const exclusive = [...config.remotes, ...(system?.remotes ?? [])]
    .find((r) => r.exclusive && r.name !== name);
  if (exclusive !== undefined) {
    throw new RemoteError(
      "exclusive",
      `could not use ${name}: remote ${exclusive.name} has been set exclusive by the system administrator`,
    );
  }
}

/** What {@linkcode addRemote} adds. */
export interface NewRemote {
  /** The remote's name. */
  name: string;
  /** The endpoint URI as given (normalized as endpoint_uri.ts says). */
  uri: string;
  /** Service discovery over http (needed for an `http://` URI, ignored for `https://`). */
  insecure: boolean;
  /** Add it to the system file (root only). */
  global?: boolean;
  /** Make it the default remote. */
  makeDefault: boolean;
}

/** What {@linkcode addRemote} did. */
export interface AddedRemote {
  /** The remote, as stored. */
  endpoint: Endpoint;
  /** The file it went to. */
  path: string;
  /** `insecure` was asked for an `https://` URI, and dropped. */
  insecureIgnored: boolean;
}

/**
 * Adds a remote endpoint.
 * @throws RemoteError `not-root`, `invalid-name`, `invalid-uri`, `insecure-required`, `exists`
 * or `exclusive`
 */
export async function addRemote(files: ConfigFiles, remote: NewRemote): Promise<AddedRemote> {
  const target = targetFile(files, remote.global);
  if (remote.name.trim() === "") {
    throw new RemoteError("invalid-name", "invalid name: cannot have empty name");
  }
  const { uri, insecure, insecureIgnored } = normalizeEndpointUri(remote.uri, remote.insecure);
  const system = target.system ? undefined : await readSystem(files);
  const endpoint: Endpoint = {
    name: remote.name,
    uri,
    token: "",
    system: target.system,
    exclusive: false,
    insecure,
    keyservers: [],
  };
  await updateConfig(target.path, modeOf(target), async (config) => {
    if (target.system) await shippedUnlessExists(config, target.path);
    if (config.remote(remote.name) !== undefined) {
      throw new RemoteError("exists", `${remote.name} is already a remote`);
    }
    if (remote.makeDefault) {
      if (!target.system) checkExclusive(config, remote.name, system);
      config.active = remote.name;
    }
    config.setRemote(endpoint);
  });
  return { endpoint, path: target.path, insecureIgnored };
}

/**
 * Removes a remote endpoint (and its default status).
 * @throws RemoteError `not-root`, `global-remote` or `not-found`
 */
export async function removeRemote(
  files: ConfigFiles,
  name: string,
  global?: boolean,
): Promise<void> {
  const target = targetFile(files, global);
  const system = target.system ? undefined : await readSystem(files);
  await updateConfig(target.path, modeOf(target), async (config) => {
    if (target.system) await shippedUnlessExists(config, target.path);
    const remote = config.remote(name);
    const fromSystem = remote === undefined ? system?.remote(name) : undefined;
    if ((remote?.system && !target.system) || fromSystem !== undefined) {
      throw new RemoteError("global-remote", `${name} is global and can't be removed`);
    }
    if (remote === undefined) throw new RemoteError("not-found", `${name} is not a remote`);
    config.deleteRemote(name);
    if (config.active === name) config.active = "";
  });
}

/**
 * Makes a remote the default one: the user's, or — `global` or `exclusive`, root only — the
 * system's; `exclusive` makes it the only usable remote. Returns the merge notices.
 * @throws RemoteError `not-root`, `not-found` or `exclusive`
 */
export async function useRemote(
  files: ConfigFiles,
  name: string,
  options: { global?: boolean; exclusive?: boolean } = {},
): Promise<string[]> {
  if (options.exclusive) requireRoot(files, "unable to set endpoint as exclusive: not root user");
  const target = targetFile(files, options.global || options.exclusive);
  const system = target.system ? undefined : await readSystem(files);
  return await updateConfig(target.path, modeOf(target), async (config) => {
    let notices: string[] = [];
    if (system !== undefined) notices = mergeSystemInto(config, system);
    else await shippedUnlessExists(config, target.path);
    const remote = config.remote(name);
    if (remote === undefined) throw new RemoteError("not-found", `${name} is not a remote`);
    if (target.system) {
      if (options.exclusive) {
        for (const other of config.remotes) {
          if (other.exclusive && other.name !== name) {
            config.setRemote({ ...other, exclusive: false });
          }
        }
      }
      config.setRemote({ ...remote, exclusive: !!options.exclusive });
    } else {
      checkExclusive(config, name);
    }
    config.active = name;
    return notices;
  });
}

/**
 * A remote of an effective configuration: the named one, or the default one.
 * @throws RemoteError `not-found`; RemoteSelectionError when there is no default
 */
export function endpointFor(config: RemoteConfig, name: string | undefined): Endpoint {
  if (name === undefined) return activeEndpoint(config);
  const endpoint = config.remote(name);
  if (endpoint === undefined) throw new RemoteError("not-found", `${name} is not a remote`);
  return endpoint;
}

/** Forgets the access token of a remote in the user file (a file without one is not written). */
export async function forgetToken(files: ConfigFiles, name: string): Promise<void> {
  const mine = (await readConfig(files.user))?.remote(name);
  if (mine === undefined || mine.token === "") return;
  await updateConfig(
    files.user,
    files.userIsSystem ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE,
    (c) => {
      const current = c.remote(name);
      if (current !== undefined) c.setRemote({ ...current, token: "" });
    },
  );
}

function modeOf(target: Target): number {
  return target.system ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE;
}
