/**
 * Logins to OCI registries as Apptainer keeps them: the credentials are checked against the
 * registry's `/v2/` first (following a Bearer challenge to its token realm), then the secret
 * goes to `docker-config.json` (0600) and a `Credentials` entry without `Auth` to the user's
 * `remote.yaml`, both under the folder's lock. A failed check changes nothing.
 *
 * @module
 */

import {
  type ConfigFiles,
  readConfig,
  refuseSecretsInSystemFile,
  sameService,
  updateConfig,
  USER_CONFIG_MODE,
} from "../config/mod.ts";
import { basicAuthorization, HttpError, httpRequest, type HttpResponse } from "../http/mod.ts";
import { dockerConfigPath, readDockerConfig, writeDockerConfig } from "./docker_config.ts";
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
  /** Talk to the registry over http. */
  insecure: boolean;
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
 * Checks registry credentials: `GET /v2/` with Basic auth. A registry that answers with a
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
  const url = `${insecure ? "http" : "https"}://${host}/v2/`;
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
  let response = await get(url);
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

/**
 * Logs in to an OCI registry: checks the credentials, then stores them. Returns the
 * `docker-config.json` written and whether it held no login before.
 * @throws RegistryError as {@linkcode checkRegistryLogin}, `docker-config` or `io`;
 * RemoteError `secrets-in-system-file`
 */
export async function registryLogin(
  files: ConfigFiles,
  target: RegistryTarget,
  login: RegistryLogin,
): Promise<{ dockerConfig: string; firstSecret: boolean }> {
  refuseSecretsInSystemFile(files);
  const auth = basicAuthorization(login.username, login.password);
  await checkRegistryLogin(target, auth, login.insecure);
  const uri = registryUri(target);
  const dockerPath = dockerConfigPath(files.user);
  const firstSecret = await updateConfig(files.user, USER_CONFIG_MODE, async (config) => {
    // The folder is locked: docker-config.json sits next to remote.yaml.
    const docker = await readDockerConfig(dockerPath);
    const before = Object.keys(docker.auths ?? {}).length > 0;
    docker.auths = {
      ...(docker.auths ?? {}),
      [target.host]: { auth: auth.slice("Basic ".length) },
    };
    await writeDockerConfig(dockerPath, docker);
    config.setCredentials([
      ...config.credentials.filter((c) => !sameService(c.uri, uri)),
      { uri, auth: "", insecure: login.insecure },
    ]);
    return !before;
  });
  return { dockerConfig: dockerPath, firstSecret };
}

/**
 * Forgets a registry login: the `Credentials` entry, and the `docker-config.json` secret
 * unless the other scheme (`docker`/`oras`) still logs in to the same host.
 * @throws RegistryError `docker-config` or `io`
 */
export async function registryLogout(files: ConfigFiles, target: RegistryTarget): Promise<void> {
  const uri = registryUri(target);
  const dockerPath = dockerConfigPath(files.user);
  const existing = await readConfig(files.user);
  const docker = await readDockerConfig(dockerPath);
  const inDocker = docker.auths !== undefined && target.host in docker.auths;
  if (!existing?.credentials.some((c) => sameService(c.uri, uri)) && !inDocker) return;
  await updateConfig(files.user, USER_CONFIG_MODE, async (config) => {
    const kept = config.credentials.filter((c) => !sameService(c.uri, uri));
    config.setCredentials(kept);
    const other = `${target.scheme === "docker" ? "oras" : "docker"}://${target.host}`;
    if (kept.some((c) => sameService(c.uri, other))) return;
    const current = await readDockerConfig(dockerPath);
    if (current.auths !== undefined && target.host in current.auths) {
      delete current.auths[target.host];
      await writeDockerConfig(dockerPath, current);
    }
  });
}
