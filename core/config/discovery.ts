/**
 * Service discovery of a remote endpoint: `GET https://<URI>/assets/config/config.prod.json`
 * names its services (`keystoreAPI` is the keyserver). The built-in endpoint needs no
 * request: its keyserver is keys.openpgp.org.
 *
 * @module
 */

import { HttpError, httpRequest, responseJson } from "../http/mod.ts";
import type { Endpoint } from "./remote_config.ts";
import { DEFAULT_ENDPOINT_URI, DEFAULT_KEYSERVER } from "./merge.ts";

/** How long discovery may take before it is given up (the reference waits 10 s). */
export const DISCOVERY_TIMEOUT_MS = 5000;
/** The largest configuration document read. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

/**
 * Why discovery failed: no answer (`unreachable`, with the HTTP client's failure), a non-200
 * `status`, or an `answer` that is not a JSON document.
 */
export type DiscoveryErrorKind = "unreachable" | "status" | "answer";

/** Discovery failed; the message says why. */
export class DiscoveryError extends Error {
  /** What kind of failure. */
  readonly kind: DiscoveryErrorKind;

  /** A failure of this kind; `cause` is the HTTP client's failure, for `unreachable`. */
  constructor(kind: DiscoveryErrorKind, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "DiscoveryError";
    this.kind = kind;
  }
}

/**
 * The services of an endpoint by name (`keyserver`, `library`, `token`, …), from its
 * configuration document.
 * @throws DiscoveryError when the document cannot be had
 */
export async function discoverServices(
  endpoint: Endpoint,
  timeoutMs: number = DISCOVERY_TIMEOUT_MS,
): Promise<Map<string, string>> {
  if (endpoint.uri === DEFAULT_ENDPOINT_URI) return new Map([["keyserver", DEFAULT_KEYSERVER]]);
  const url = `${
    endpoint.insecure ? "http" : "https"
  }://${endpoint.uri}/assets/config/config.prod.json`;
  let body: unknown;
  try {
    const response = await httpRequest(url, { timeoutMs, maxBytes: MAX_DOCUMENT_BYTES });
    if (response.status !== 200) {
      throw new DiscoveryError(
        "status",
        `error response from server: ${response.status} ${response.statusText}`,
      );
    }
    body = responseJson(response);
    if (body === undefined) throw new DiscoveryError("answer", `the answer of ${url} is not JSON`);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new DiscoveryError("unreachable", error.message, error);
  }
  const services = new Map<string, string>();
  if (typeof body !== "object" || body === null) return services;
  for (const [key, value] of Object.entries(body)) {
    const uri = (value as { uri?: unknown })?.uri;
    if (!key.endsWith("API") || typeof uri !== "string") continue;
    const name = key.slice(0, -3);
    services.set(name === "keystore" ? "keyserver" : name, uri);
  }
  return services;
}
