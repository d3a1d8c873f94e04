/**
 * The keyservers a command uses, in order, with their credentials: the active remote's
 * (discovered when it lists none), or one given on the command line — unless an
 * administrator made a remote exclusive.
 *
 * @module
 */

import { discoverServices, DiscoveryError } from "./discovery.ts";
import { sameKeyserver } from "./keyserver_uri.ts";
import type { Endpoint, RemoteConfig } from "./remote_config.ts";

/** A keyserver to query. */
export interface Keyserver {
  /** As configured (http, https, hkp or hkps). */
  uri: string;
  /** TLS certificates are not checked. */
  insecure: boolean;
  /** The Authorization header value to send, if any. */
  authorization?: string;
}

/** Why the active remote cannot be had, or `--url` is not allowed. */
export type RemoteSelectionErrorKind =
  /** There are remotes, but none is active (`endpoints` names them). */
  | "no-default-remote"
  /** The active remote (`remote`) is not defined. */
  | "unknown-remote"
  /** `--url` is not one of the exclusive remote's keyservers. */
  | "url-not-allowed";

/** The active remote cannot be had, or `--url` is not allowed; `kind` says why. */
export class RemoteSelectionError extends Error {
  /** Why. */
  readonly kind: RemoteSelectionErrorKind;
  /** The remotes that could be made active (`no-default-remote`). */
  readonly endpoints: readonly string[];
  /** The active remote's name (`unknown-remote`). */
  readonly remote: string;

  /** An error of `kind`; the message says what is wrong, not what to run about it. */
  constructor(
    kind: RemoteSelectionErrorKind,
    message: string,
    names: { endpoints?: readonly string[]; remote?: string } = {},
  ) {
    super(message);
    this.name = "RemoteSelectionError";
    this.kind = kind;
    this.endpoints = names.endpoints ?? [];
    this.remote = names.remote ?? "";
  }
}

/** The active remote of an effective configuration. */
export function activeEndpoint(config: RemoteConfig): Endpoint {
  const remotes = config.remotes;
  if (config.active === "") {
    const endpoints = remotes.map((r) => r.name);
    throw new RemoteSelectionError(
      "no-default-remote",
      `no default endpoint set; available endpoints are: ${endpoints.join(", ")}`,
      { endpoints },
    );
  }
  const endpoint = config.remote(config.active);
  if (endpoint === undefined) {
    throw new RemoteSelectionError(
      "unknown-remote",
      `the default remote ${config.active} is not defined`,
      { remote: config.active },
    );
  }
  return endpoint;
}

/** Options of {@linkcode keyserversFor}. */
export interface KeyserverOptions {
  /** Use this one keyserver instead of the list (no credentials are sent to it). */
  url?: string;
  /** Service discovery, replaceable in tests. */
  discover?: typeof discoverServices;
}

/**
 * The ordered keyservers of the effective configuration's active remote: its non-skipped
 * `Keyservers`, or the discovered one when it lists none. External keyservers get the
 * `Authorization` of a matching stored login; the discovered one gets the remote's token.
 * Discovery failures are returned as warnings (the list is then empty).
 */
export async function keyserversFor(
  config: RemoteConfig,
  options: KeyserverOptions = {},
): Promise<{ keyservers: Keyserver[]; warnings: string[] }> {
  const endpoint = activeEndpoint(config);
  const configured = endpoint.keyservers.filter((k) => !k.skip);
  if (options.url !== undefined) {
    const exclusive = config.remotes.find((r) => r.exclusive);
    if (
      exclusive !== undefined &&
      !exclusive.keyservers.some((k) => !k.skip && sameKeyserver(k.uri, options.url!))
    ) {
      const allowed = exclusive.keyservers.filter((k) => !k.skip).map((k) => k.uri).join(",");
      throw new RemoteSelectionError(
        "url-not-allowed",
        `endpoint is set as exclusive by the system administrator: only "${allowed}" can be used`,
      );
    }
    return { keyservers: [{ uri: options.url, insecure: false }], warnings: [] };
  }
  const bearer = endpoint.token === "" ? undefined : `Bearer ${endpoint.token}`;
  if (configured.length === 0) {
    try {
      const services = await (options.discover ?? discoverServices)(endpoint);
      const uri = services.get("keyserver");
      if (uri === undefined || uri === "") {
        return {
          keyservers: [],
          warnings: [`keyserver is not a service at endpoint ${endpoint.uri}`],
        };
      }
      return { keyservers: [{ uri, insecure: false, authorization: bearer }], warnings: [] };
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      return {
        keyservers: [],
        warnings: [`unable to fetch the keyserver of ${endpoint.name}: ${error.message}`],
      };
    }
  }
  return {
    keyservers: configured.map((k) => ({
      uri: k.uri,
      insecure: k.insecure,
      authorization: k.external
        ? config.credentials.find((c) => c.auth !== "" && sameKeyserver(c.uri, k.uri))?.auth
        : bearer,
    })),
    warnings: [],
  };
}
