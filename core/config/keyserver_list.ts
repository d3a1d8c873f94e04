/**
 * The ordered keyservers of the system's remotes, as `keyserver add|remove|list` edit and
 * show them: a remote that lists none has its discovered default; a discovered keyserver
 * that is removed is kept with `Skip: true` (so adding it back restores it), an added one
 * is `External` and is deleted on removal; positions count only non-skipped entries, and
 * the last one cannot be removed. Changes are root only and go to the system file.
 *
 * @module
 */

import { type ConfigFiles, requireRoot, shippedUnlessExists } from "./config_files.ts";
import { discoverServices, DiscoveryError } from "./discovery.ts";
import { RemoteError } from "./errors.ts";
import { SYSTEM_CONFIG_MODE, updateConfig } from "./files.ts";
import { keyserverBaseUrl, sameKeyserver } from "./keyserver_uri.ts";
import {
  compareBytes,
  type Endpoint,
  type KeyserverEntry,
  type RemoteConfig,
} from "./remote_config.ts";

/** Service discovery, replaceable in tests. */
export type Discover = (endpoint: Endpoint) => Promise<Map<string, string>>;

/** Options of the keyserver list operations. */
export interface KeyserverListOptions {
  /** Service discovery (default: {@linkcode discoverServices}). */
  discover?: Discover;
}

/** A keyserver to add or remove. */
export interface KeyserverChange {
  /** The system remote (default: the default remote). */
  remote?: string;
  /** The keyserver URL (http, https, hkp or hkps). */
  uri: string;
}

/** What was changed: the remote, the keyserver, and (for an addition) its position from 1. */
export interface KeyserverChangeDone {
  /** The remote's name. */
  remote: string;
  /** The keyserver's URL, as stored. */
  uri: string;
  /** Its position among the non-skipped keyservers (additions only). */
  position?: number;
}

const NOT_ROOT =
  "Unable to modify keyserver configuration: not root user (keyservers are set system-wide: run as root)";

/**
 * Adds a keyserver to a system remote at `order` (1 is tried first; default: last).
 * @throws RemoteError `not-root`, `invalid-uri`, `order`, `no-default`, `not-found`,
 * `not-system`, `exists`, `unreachable` or `no-service`; KeyserverUriError
 */
export async function addKeyserver(
  files: ConfigFiles,
  change: KeyserverChange & { order?: number; insecure?: boolean },
  options: KeyserverListOptions = {},
): Promise<KeyserverChangeDone> {
  requireRoot(files, NOT_ROOT);
  const { uri, order } = change;
  if (uri === "") throw new RemoteError("invalid-uri", "invalid URI: cannot have empty URI");
  keyserverBaseUrl(uri);
  if (order !== undefined && order < 1) throw new RemoteError("order", "order must be > 0");
  const path = files.system;
  return await updateConfig(path, SYSTEM_CONFIG_MODE, async (config) => {
    await shippedUnlessExists(config, path);
    const remote = targetRemote(config, change.remote);
    const list = await materialized(remote, options.discover);
    const maxOrder = list.filter((k) => !k.skip).length + 1;
    const at = order ?? maxOrder;
    if (at > maxOrder) {
      throw new RemoteError("order", `order is out of range: maximum is ${maxOrder}`);
    }
    const index = list.findIndex((k) => sameKeyserver(k.uri, uri));
    let entry: KeyserverEntry = { uri, skip: false, external: true, insecure: !!change.insecure };
    if (index !== -1) {
      const existing = list[index];
      if (existing.external || !existing.skip) {
        throw new RemoteError("exists", `${uri} is already configured`);
      }
      list.splice(index, 1);
      entry = { ...existing, skip: false };
    }
    insertAtOrder(list, entry, at);
    config.setRemote({ ...remote, keyservers: list });
    return { remote: remote.name, uri: entry.uri, position: at };
  });
}

/**
 * Removes a keyserver from a system remote: an added one is deleted, a discovered one hidden.
 * @throws RemoteError `not-root`, `invalid-uri`, `no-default`, `not-found`, `not-system`,
 * `primary-keyserver`, `unreachable` or `no-service`
 */
export async function removeKeyserver(
  files: ConfigFiles,
  change: KeyserverChange,
  options: KeyserverListOptions = {},
): Promise<KeyserverChangeDone> {
  requireRoot(files, NOT_ROOT);
  const { uri } = change;
  if (uri === "") throw new RemoteError("invalid-uri", "invalid URI: cannot have empty URI");
  const path = files.system;
  return await updateConfig(path, SYSTEM_CONFIG_MODE, async (config) => {
    await shippedUnlessExists(config, path);
    const remote = targetRemote(config, change.remote);
    const list = await materialized(remote, options.discover);
    const index = list.findIndex((k) => !k.skip && sameKeyserver(k.uri, uri));
    if (index === -1) throw new RemoteError("not-found", `keyserver ${uri} is not configured`);
    if (list.filter((k) => !k.skip).length === 1) {
      throw new RemoteError(
        "primary-keyserver",
        `the primary keyserver ${list[index].uri} can't be removed`,
      );
    }
    const removed = list[index];
    if (removed.external) list.splice(index, 1);
    else list[index] = { ...removed, skip: true };
    config.setRemote({ ...remote, keyservers: list });
    return { remote: remote.name, uri: removed.uri };
  });
}

/** A remote's keyservers, as `keyserver list` shows them. */
export interface RemoteKeyservers {
  /** The remote's name. */
  name: string;
  /** It comes from the system file. */
  system: boolean;
  /** It is the default remote. */
  active: boolean;
  /** The non-skipped keyservers in order; undefined when discovery failed. */
  keyservers?: KeyserverEntry[];
}

/**
 * The keyservers of each remote (or of the one named), sorted by remote name (byte order).
 * @throws RemoteError `not-found` when `only` names no remote
 */
export async function keyserverListing(
  config: RemoteConfig,
  only?: string,
  options: KeyserverListOptions = {},
): Promise<RemoteKeyservers[]> {
  let remotes = [...config.remotes].sort((a, b) => compareBytes(a.name, b.name));
  if (only !== undefined) {
    remotes = remotes.filter((r) => r.name === only);
    if (remotes.length === 0) {
      throw new RemoteError("not-found", `no remote-endpoint with the name "${only}" found`);
    }
  }
  return await Promise.all(remotes.map(async (remote) => {
    let keyservers: KeyserverEntry[] | undefined;
    try {
      keyservers = (await materialized(remote, options.discover)).filter((k) => !k.skip);
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
    }
    return {
      name: remote.name,
      system: remote.system,
      active: remote.name === config.active,
      keyservers,
    };
  }));
}

/** The target remote of `keyserver add|remove` in the system file. */
function targetRemote(config: RemoteConfig, name: string | undefined): Endpoint {
  const wanted = name ?? config.active;
  if (wanted === "") throw new RemoteError("no-default", "no endpoint found: no default remote");
  const endpoint = config.remote(wanted);
  if (endpoint === undefined) {
    throw new RemoteError("not-found", `no endpoint found: ${wanted} is not a remote`);
  }
  if (!endpoint.system) {
    throw new RemoteError("not-system", "current endpoint is not a system defined endpoint");
  }
  return endpoint;
}

/** The remote's keyservers, with the discovered default filled in when it lists none. */
async function materialized(
  endpoint: Endpoint,
  discover: Discover = discoverServices,
): Promise<KeyserverEntry[]> {
  if (endpoint.keyservers.length > 0) return endpoint.keyservers.map((k) => ({ ...k }));
  let uri: string | undefined;
  try {
    uri = (await discover(endpoint)).get("keyserver");
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    throw new RemoteError(
      "unreachable",
      `cannot find the default keyserver of remote ${endpoint.name}: ${error.message}`,
      error,
    );
  }
  if (uri === undefined || uri === "") {
    throw new RemoteError(
      "no-service",
      `keyserver is not a service at endpoint ${endpoint.uri} (remote ${endpoint.name})`,
    );
  }
  return [{ uri, skip: false, external: false, insecure: false }];
}

/** Inserts an entry so that it shows as number `order` among the non-skipped entries. */
export function insertAtOrder(list: KeyserverEntry[], entry: KeyserverEntry, order: number): void {
  let seen = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i].skip) continue;
    if (++seen === order) {
      list.splice(i, 0, entry);
      return;
    }
  }
  list.push(entry);
}
