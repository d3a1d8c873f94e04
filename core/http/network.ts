/**
 * Which proxies and certificate authorities the client's requests use. By default the
 * runtime takes them from the process's environment (Deno's `fetch` reads `HTTP_PROXY`,
 * `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, and `SSL_CERT_FILE`/`SSL_CERT_DIR` for the system
 * store; its `node:https` reads the proxies too when `NODE_USE_ENV_PROXY` is set). A run that
 * must not use the environment's choices (`exec`, `admit`: see core/config/resolve.ts) calls
 * {@linkcode useProxySettings} before its first request: from then on `fetch` goes through a
 * client made while the environment held only the given settings, and each `node:https`
 * request is made the same way. The process's environment itself is left as it was (a command
 * `exec` runs still gets it).
 *
 * @module
 */

/** Proxies to use: per scheme, and the hosts that bypass them. */
export interface ProxyChoice {
  /** For http URLs. */
  http?: string;
  /** For https URLs. */
  https?: string;
  /** Hosts that bypass the proxies. */
  noProxy?: string;
}

/** The proxy variables, in both cases, as the runtime reads them. */
export const PROXY_VARIABLES: readonly string[] = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "ALL_PROXY",
  "all_proxy",
  "NO_PROXY",
  "no_proxy",
];

/** The variables the runtime reads for proxies and certificate authorities when it connects. */
export const RUNTIME_NETWORK_VARIABLES: readonly string[] = [
  ...PROXY_VARIABLES,
  "NODE_USE_ENV_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
];

let chosen: Record<string, string> | undefined;
let client: Deno.HttpClient | undefined;

/**
 * From now on, requests use exactly these proxies (none when empty) and the runtime's
 * certificate authorities, whatever the environment says.
 */
export function useProxySettings(settings: ProxyChoice): void {
  const values: Record<string, string> = {};
  if (settings.http !== undefined) values.HTTP_PROXY = settings.http;
  if (settings.https !== undefined) values.HTTPS_PROXY = settings.https;
  if (settings.noProxy !== undefined) values.NO_PROXY = settings.noProxy;
  chosen = values;
  client?.close();
  client = withChosenEnvironment(() => Deno.createHttpClient({}));
}

/** The client `fetch` must use, when {@linkcode useProxySettings} chose one. */
export function chosenClient(): Deno.HttpClient | undefined {
  return client;
}

/**
 * Runs `make` (which must be synchronous: the runtime reads the variables while it sets a
 * connection up) with the environment's network variables replaced by the chosen settings,
 * then puts them back. Without a choice, `make` just runs.
 */
export function withChosenEnvironment<T>(make: () => T): T {
  if (chosen === undefined) return make();
  const saved = new Map<string, string>();
  for (const name of RUNTIME_NETWORK_VARIABLES) {
    const value = Deno.env.get(name);
    if (value !== undefined) saved.set(name, value);
    Deno.env.delete(name);
  }
  for (const [name, value] of Object.entries(chosen)) Deno.env.set(name, value);
  try {
    return make();
  } finally {
    for (const name of RUNTIME_NETWORK_VARIABLES) Deno.env.delete(name);
    for (const [name, value] of saved) Deno.env.set(name, value);
  }
}
