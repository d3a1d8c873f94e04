/**
 * Logins to OCI registries as Apptainer keeps them: the credentials are checked against the
 * registry's `/v2/` first (following a Bearer challenge to its token realm), then the secret
 * goes to the authentication file Apptainer chooses (see docker_config.ts; 0600) and — unless
 * an `--authfile` was given — a `Credentials` entry without `Auth` to the user's
 * `remote.yaml`, each under its folder's lock. A failed check changes nothing.
 *
 * @module
 */

import {
  type ConfigFiles,
  type EnvReader,
  readConfig,
  refuseSecretsInSystemFile,
  removeCredentials,
  sameService,
  updateConfig,
  USER_CONFIG_MODE,
} from "../config/mod.ts";
import { basicAuthorization, HttpError, httpRequest, type HttpResponse } from "../http/mod.ts";
import { chooseAuthFile, readDockerConfig, updateAuthFile } from "./docker_config.ts";
import { RegistryError } from "./errors.ts";
import { type RegistryTarget, registryUri } from "./target.ts";

/** How long each request of the credential check may take. */
export const REGISTRY_TIMEOUT_MS = 5000;

/** Options of {@linkcode registryLogin}. */
export interface RegistryLogin {
  /** The user name. */
  username: string;
  /** The password or token. */
  password: string;
  /** Allow plain http (`remote login --insecure`). */
  insecure: boolean;
  /** Where Apptainer's locations are read from. */
  env: EnvReader;
  /** `--authfile`: this authentication file, and no `Credentials` entry in `remote.yaml`. */
  authFile?: string;
}

/**
 * Whether a registry may be reached over plain http without `--insecure`, as Apptainer's
 * registry client allows: `localhost:PORT`, an address containing `127.0.0.1`, `::1`, or a
 * private (RFC 1918) IPv4 address.
 */
export function plainHttpAllowed(host: string): boolean {
  if (host.startsWith("localhost:") || host.includes("127.0.0.1")) return true;
  if (/^\[?::1\]?(:\d+)?$/.test(host)) return true;
  const ip = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(:\d+)?$/.exec(host);
  if (ip === null) return false;
  const [a, b] = [Number(ip[1]), Number(ip[2])];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** Reads a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge. */
export function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (header === null || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) {
    params[m[1].toLowerCase()] = m[2];
  }
  return params.realm === undefined ? undefined : params;
}

/**
 * Checks registry credentials: `GET /v2/` with Basic auth, over https, or over http when
 * https gets no answer and `insecure` or {@linkcode plainHttpAllowed} permits it. A registry that answers with a
 * Bearer challenge (token authentication) gets the credentials at its token realm instead.
 * @throws RegistryError `unreachable`, `rejected` or `unexpected-answer`
 */
export async function checkRegistryLogin(
  target: RegistryTarget,
  auth: string,
  insecure: boolean,
): Promise<void> {
  const what = `while login to ${registryUri(target)}`;
  const host = target.host === "docker.io" ? "registry-1.docker.io" : target.host;
  const get = async (at: string): Promise<HttpResponse> => {
    try {
      return await httpRequest(at, {
        headers: { Authorization: auth },
        timeoutMs: REGISTRY_TIMEOUT_MS,
        discardBody: true,
      });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      throw new RegistryError("unreachable", `${what}: ${error.message}`, error);
    }
  };
  // https first; then plain http when allowed (as Apptainer's registry client pings).
  let url = `https://${host}/v2/`;
  let response: HttpResponse;
  try {
    response = await get(url);
  } catch (error) {
    if (!(insecure || plainHttpAllowed(host))) throw error;
    url = `http://${host}/v2/`;
    response = await get(url);
  }
  if (response.status === 200) return;
  const challenge = response.status === 401
    ? bearerChallenge(response.headers.get("WWW-Authenticate"))
    : undefined;
  let checked = url;
  if (challenge !== undefined) {
    let realm: URL;
    try {
      realm = new URL(challenge.realm);
    } catch {
      throw new RegistryError(
        "unexpected-answer",
        `${what}: the registry's token realm "${challenge.realm}" is not a URL; nothing was stored`,
      );
    }
    if (challenge.service !== undefined) realm.searchParams.set("service", challenge.service);
    if (challenge.scope !== undefined) realm.searchParams.set("scope", challenge.scope);
    checked = realm.href;
    response = await get(checked);
    if (response.status === 200) return;
  }
  const { status, statusText } = response;
  if (status === 401 || status === 403) {
    throw new RegistryError(
      "rejected",
      `${what}: the registry refused the username or password (${status} ${statusText}); ` +
        "nothing was stored",
    );
  }
  throw new RegistryError(
    "unexpected-answer",
    `${what}: unexpected answer from ${checked}: ${status} ${statusText}; nothing was stored`,
  );
}

/** What a registry login stored. */
export interface StoredRegistryLogin {
  /** The authentication file written. */
  authFile: string;
  /** Whether it held no login before. */
  firstSecret: boolean;
}

/**
 * Logs in to an OCI registry: checks the credentials, then stores them.
 * @throws RegistryError as {@linkcode checkRegistryLogin}, `docker-config` or `io`;
 * RemoteError `secrets-in-system-file`
 */
export async function registryLogin(
  files: ConfigFiles,
  target: RegistryTarget,
  login: RegistryLogin,
): Promise<StoredRegistryLogin> {
  if (login.authFile === undefined) refuseSecretsInSystemFile(files);
  const auth = basicAuthorization(login.username, login.password);
  await checkRegistryLogin(target, auth, login.insecure);
  const authFile = await chooseAuthFile(login.env, login.authFile);
  let firstSecret = false;
  await updateAuthFile(authFile, (docker) => {
    firstSecret = Object.keys(docker.auths ?? {}).length === 0;
    docker.auths = { ...(docker.auths ?? {}), [target.host]: { auth: auth.slice(6) } };
    return true;
  });
  if (login.authFile === undefined) {
    const uri = registryUri(target);
    await updateConfig(files.user, USER_CONFIG_MODE, (config) => {
      config.setCredentials([
        ...config.credentials.filter((c) => !sameService(c.uri, uri)),
        { uri, auth: "", insecure: login.insecure },
      ]);
    });
  }
  return { authFile, firstSecret };
}

/** Options of {@linkcode registryLogout}. */
export interface RegistryLogout {
  /** Where Apptainer's locations are read from. */
  env: EnvReader;
  /** `--authfile`: this authentication file; `remote.yaml` is left alone. */
  authFile?: string;
}

/**
 * What a logout did to the secret: `removed`; `absent` (there was none); `kept`, because a
 * login under the other scheme (`docker`/`oras`) to the same host still uses it.
 */
export type SecretOutcome = "removed" | "absent" | "kept";

/**
 * Forgets a registry login: the `Credentials` entry (unless `authFile` is given), and the
 * authentication file's secret unless the other scheme still logs in to the same host.
 * @throws RegistryError `docker-config` or `io`
 */
export async function registryLogout(
  files: ConfigFiles,
  target: RegistryTarget,
  logout: RegistryLogout,
): Promise<{ authFile: string; secret: SecretOutcome }> {
  const authFile = await chooseAuthFile(logout.env, logout.authFile);
  let kept = false;
  if (logout.authFile === undefined) {
    const uri = registryUri(target);
    await removeCredentials(files.user, (c) => sameService(c.uri, uri));
    const other = `${target.scheme === "docker" ? "oras" : "docker"}://${target.host}`;
    kept = (await readConfig(files.user))?.credentials.some((c) => sameService(c.uri, other)) ??
      false;
  }
  const docker = await readDockerConfig(authFile);
  if (docker.auths === undefined || !(target.host in docker.auths)) {
    return { authFile, secret: "absent" };
  }
  if (kept) return { authFile, secret: "kept" };
  await updateAuthFile(authFile, (current) => {
    if (current.auths === undefined || !(target.host in current.auths)) return false;
    delete current.auths[target.host];
    return true;
  });
  return { authFile, secret: "removed" };
}
