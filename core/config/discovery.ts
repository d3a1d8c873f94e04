/**
 * Service discovery of a remote endpoint: `GET https://<URI>/assets/config/config.prod.json`
 * names its services (`keystoreAPI` is the keyserver). The built-in endpoint needs no
 * request: its keyserver is keys.openpgp.org.
 *
 * @module
 */

import type { Endpoint } from "./remote_config.ts";
import { DEFAULT_ENDPOINT_URI, DEFAULT_KEYSERVER } from "./merge.ts";

/** How long discovery may take before it is given up (the reference waits 10 s). */
export const DISCOVERY_TIMEOUT_MS = 5000;

/** Discovery failed; the message says why. */
export class DiscoveryError extends Error {}

/**
 * The services of an endpoint by name (`keyserver`, `library`, `token`, …), from its
 * configuration document.
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
    const response = await fetch(url, {
      headers: { "User-Agent": "siftrust" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new DiscoveryError(
        `error response from server: ${response.status} ${response.statusText}`,
      );
    }
    body = await response.json();
  } catch (error) {
    if (error instanceof DiscoveryError) throw error;
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
    throw new DiscoveryError(`cannot reach ${url}: ${reason}`);
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
