/**
 * Logins to External keyservers (those an administrator added with `keyserver add`): the
 * credentials are checked with a GET of the keyserver's URL, then stored as the whole
 * `Authorization` value in a `Credentials` entry of the user file, one per scheme and host.
 *
 * @module
 */

import { basicAuthorization, HttpError, httpRequest } from "../http/mod.ts";
import { type ConfigFiles, readEffective, refuseSecretsInSystemFile } from "./config_files.ts";
import { RemoteError } from "./errors.ts";
import { readConfig, updateConfig, USER_CONFIG_MODE } from "./files.ts";
import { keyserverBaseUrl, sameKeyserver, sameService } from "./keyserver_uri.ts";
import { holdsSecrets } from "./remote_config.ts";

/** How long the login check may take. */
export const KEYSERVER_LOGIN_TIMEOUT_MS = 5000;

/** Whether a text names a keyserver (an http, https, hkp or hkps URL). */
export function isKeyserverUri(text: string): boolean {
  return /^(https?|hkps?):\/\//i.test(text);
}

/** A keyserver login about to be made. */
export interface KeyserverLoginTarget {
  /** The keyserver URL as given; the stored login's `URI`. */
  uri: string;
  /** The URL the check asks: as given, with hkp/hkps turned into what they stand for. */
  checkUrl: string;
  /** TLS certificates are not checked. */
  insecure: boolean;
  /** The keyserver is configured insecure, so the login is insecure although not asked. */
  forcedInsecure: boolean;
}

/**
 * Finds the configured External keyserver a login is for, before any secret is asked.
 * @throws RemoteError `secrets-in-system-file` or `no-external-keyserver`; KeyserverUriError
 */
export async function keyserverLoginTarget(
  files: ConfigFiles,
  uri: string,
  insecure: boolean,
): Promise<KeyserverLoginTarget> {
  refuseSecretsInSystemFile(files);
  const base = keyserverBaseUrl(uri);
  const { config } = await readEffective(files);
  const configured = config.remotes.flatMap((r) => r.keyservers)
    .find((k) => k.external && sameKeyserver(k.uri, uri));
  if (configured === undefined) {
    throw new RemoteError(
      "no-external-keyserver",
      `while login to ${uri}: no external keyserver configuration found for ${uri}`,
    );
  }
  const given = new URL(uri);
  return {
    uri,
    checkUrl: `${base.origin}${given.pathname === "/" ? "/" : given.pathname}${given.search}`,
    insecure: insecure || configured.insecure,
    forcedInsecure: configured.insecure && !insecure,
  };
}

/** A user name ("" for a bearer token) and a password or token. */
export interface LoginSecret {
  /** "" when `password` is a token. */
  username: string;
  /** The password or token. */
  password: string;
}

/**
 * Checks the login and stores it, replacing any login for the same scheme and host. Returns
 * whether this is the file's first secret.
 * @throws RemoteError `unreachable` or `rejected` (nothing is stored)
 */
export async function keyserverLogin(
  files: ConfigFiles,
  target: KeyserverLoginTarget,
  secret: LoginSecret,
): Promise<{ firstSecret: boolean }> {
  const failed = `while login to ${target.uri}`;
  const auth = secret.username === ""
    ? `Bearer ${secret.password}`
    : basicAuthorization(secret.username, secret.password);
  let response;
  try {
    response = await httpRequest(target.checkUrl, {
      headers: { Authorization: auth },
      timeoutMs: KEYSERVER_LOGIN_TIMEOUT_MS,
      insecure: target.insecure,
      discardBody: true,
    });
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw new RemoteError("unreachable", `${failed}: ${error.message}`, error);
  }
  if (response.status !== 200) {
    throw new RemoteError(
      "rejected",
      `${failed}: error response from server: ${response.status} ${response.statusText}`,
    );
  }
  const firstSecret = await updateConfig(files.user, USER_CONFIG_MODE, (c) => {
    const before = holdsSecrets(c);
    c.setCredentials([
      ...c.credentials.filter((cred) => !sameService(cred.uri, target.uri)),
      { uri: target.uri, auth, insecure: target.insecure },
    ]);
    return !before;
  });
  return { firstSecret };
}

/**
 * Removes the stored logins for this keyserver's scheme and host (none is fine).
 * @throws KeyserverUriError for an unusable URL
 */
export async function keyserverLogout(files: ConfigFiles, uri: string): Promise<void> {
  keyserverBaseUrl(uri);
  await removeCredentials(files.user, (c) => sameService(c.uri, uri));
}

/**
 * Removes matching `Credentials` entries; a file without any is not written (nor created).
 * Returns whether any was removed.
 */
export async function removeCredentials(
  path: string,
  match: (credential: { uri: string }) => boolean,
): Promise<boolean> {
  const current = await readConfig(path);
  if (current === undefined || !current.credentials.some(match)) return false;
  return await updateConfig(path, USER_CONFIG_MODE, (c) => {
    const kept = c.credentials.filter((cred) => !match(cred));
    const changed = kept.length !== c.credentials.length;
    c.setCredentials(kept);
    return changed;
  });
}
