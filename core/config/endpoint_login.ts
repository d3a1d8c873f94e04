/**
 * Access tokens of remote endpoints: reading one from a file, checking it against the
 * endpoint's token service (`GET <tokenAPI>/v1/token-status`), storing it in the user file
 * (only after a good check), and the status of an endpoint's services.
 *
 * @module
 */

import { HttpError, httpRequest, responseJson } from "../http/mod.ts";
import { type ConfigFiles, refuseSecretsInSystemFile } from "./config_files.ts";
import { discoverServices, DiscoveryError } from "./discovery.ts";
import { RemoteError } from "./errors.ts";
import { updateConfig, USER_CONFIG_MODE } from "./files.ts";
import { compareBytes, type Endpoint, holdsSecrets } from "./remote_config.ts";

/** How long the token check may take (as Apptainer). */
export const TOKEN_TIMEOUT_MS = 10_000;
/** How long `remote status` waits for discovery and for each service. */
export const STATUS_TIMEOUT_MS = 5000;
/** The shortest and longest access token. */
const TOKEN_LENGTH = { min: 200, max: 4096 };

/**
 * Reads an access token from a file: its first line, 200 to 4096 characters.
 * @throws RemoteError `token-file`
 */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new RemoteError("token-file", `cannot read token file ${path}: ${reason}`, error);
  }
  const token = text.split("\n")[0].replace(/\r$/, "").trim();
  if (token.length < TOKEN_LENGTH.min || token.length > TOKEN_LENGTH.max) {
    throw new RemoteError(
      "token-file",
      `the token in ${path} has ${token.length} characters: an access token has ` +
        `${TOKEN_LENGTH.min} to ${TOKEN_LENGTH.max}`,
    );
  }
  return token;
}

/** A token check failed with this status, as Apptainer words it. */
function tokenStatusText(status: number): string {
  return status === 404
    ? "Invalid Credentials"
    : status === 500
    ? "Internal Server Error"
    : "Unknown";
}

/**
 * Checks a token against the endpoint's token service.
 * @throws RemoteError `no-service` (no token service), `unreachable` (discovery or the check
 * got no answer) or `rejected` (the token is not valid)
 */
export async function checkToken(endpoint: Endpoint, token: string): Promise<void> {
  const failed = "while verifying token";
  let uri: string | undefined;
  try {
    uri = (await discoverServices(endpoint, TOKEN_TIMEOUT_MS)).get("token");
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    throw new RemoteError("unreachable", `${failed}: ${error.message}`, error);
  }
  if (uri === undefined || uri === "") {
    throw new RemoteError(
      "no-service",
      `remote ${endpoint.name} (${endpoint.uri}) has no token service, so there is nothing to log in to`,
    );
  }
  const url = `${uri.replace(/\/+$/, "")}/v1/token-status`;
  let status: number;
  try {
    status = (await httpRequest(url, {
      headers: { Authorization: `Bearer ${token}` },
      timeoutMs: TOKEN_TIMEOUT_MS,
      discardBody: true,
    })).status;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new RemoteError("unreachable", `${failed}: ${error.message}`, error);
  }
  if (status !== 200) {
    throw new RemoteError(
      "rejected",
      `${failed}: error response from server: ${tokenStatusText(status)}`,
    );
  }
}

/**
 * Logs in to a remote endpoint: checks the token, then stores it in the user file (keeping a
 * user copy of the remote, or adding one). Returns whether this is the file's first secret.
 * @throws RemoteError as {@linkcode checkToken}, or `secrets-in-system-file`
 */
export async function endpointLogin(
  files: ConfigFiles,
  endpoint: Endpoint,
  token: string,
): Promise<{ firstSecret: boolean }> {
  refuseSecretsInSystemFile(files);
  await checkToken(endpoint, token);
  const firstSecret = await updateConfig(files.user, USER_CONFIG_MODE, (config) => {
    const before = holdsSecrets(config);
    const mine = config.remote(endpoint.name);
    config.setRemote({ ...(mine ?? { ...endpoint, system: true }), token });
    return !before;
  });
  return { firstSecret };
}

/** One service of an endpoint, as `remote status` shows it. */
export interface ServiceStatus {
  /** `keyserver`, `library`, `token`, … */
  name: string;
  /** Its URI. */
  uri: string;
  /** Whether `GET <uri>/version` answered 200. */
  ok: boolean;
  /** The version it reported ("" for none). */
  version: string;
}

/** What `remote status` found. */
export interface EndpointStatus {
  /** The services, sorted by name (byte order). */
  services: ServiceStatus[];
  /** `none` when no token is set, else whether the token service accepts it. */
  token: "none" | "valid" | "invalid";
}

/**
 * The status of an endpoint: each discovered service asked for its `/version`, and the
 * stored token checked.
 * @throws RemoteError `unreachable` when discovery fails, or as {@linkcode checkToken} except
 * for `rejected` (which is `token: "invalid"`)
 */
export async function endpointStatus(endpoint: Endpoint): Promise<EndpointStatus> {
  let services: Map<string, string>;
  try {
    services = await discoverServices(endpoint, STATUS_TIMEOUT_MS);
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    throw new RemoteError(
      "unreachable",
      `cannot check remote ${endpoint.name} (${endpoint.uri}): ${error.message}`,
      error,
    );
  }
  const names = [...services.keys()].sort(compareBytes);
  const rows = await Promise.all(names.map((name) => serviceStatus(name, services.get(name)!)));
  if (endpoint.token === "") return { services: rows, token: "none" };
  try {
    await checkToken(endpoint, endpoint.token);
  } catch (error) {
    if (error instanceof RemoteError && error.kind === "rejected") {
      return { services: rows, token: "invalid" };
    }
    throw error;
  }
  return { services: rows, token: "valid" };
}

async function serviceStatus(name: string, uri: string): Promise<ServiceStatus> {
  try {
    const response = await httpRequest(`${uri.replace(/\/+$/, "")}/version`, {
      timeoutMs: STATUS_TIMEOUT_MS,
      maxBytes: 64 * 1024,
    });
    if (response.status === 200) {
      return { name, uri, ok: true, version: versionOf(responseJson(response)) };
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    // Unreachable, or an answer too large: not OK.
  }
  return { name, uri, ok: false, version: "" };
}

/** A service's version from its `/version` answer (`{"data": {"version"}}` or `{"version"}`). */
function versionOf(body: unknown): string {
  const data = (body as { data?: { version?: unknown } })?.data;
  const version = data?.version ?? (body as { version?: unknown })?.version;
  return typeof version === "string" ? version : "";
}
