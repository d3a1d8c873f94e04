/**
 * Keyserver URLs as Apptainer compares them: `hkp` is http on port 11371, `hkps` is https;
 * two URLs name the same keyserver when scheme and host:port are equal (path ignored, no
 * default port filled in for https).
 *
 * @module
 */

/** A keyserver URL that cannot be used. */
export class KeyserverUriError extends Error {}

/** The base URL requests go to: http or https, with hkp's port 11371 added. */
export function keyserverBaseUrl(uri: string): URL {
  if (uri === "") throw new KeyserverUriError("invalid URI: cannot have empty URI");
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new KeyserverUriError(
      `invalid keyserver URI "${uri}": give a URL such as https://keys.example.org`,
    );
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === "hkp") return new URL(`http://${url.hostname}:${url.port || "11371"}`);
  if (scheme === "hkps") return new URL(`https://${url.host}`);
  if (scheme === "http" || scheme === "https") return new URL(`${scheme}://${url.host}`);
  throw new KeyserverUriError(
    `unsupported protocol scheme ${scheme}: use http, https, hkp or hkps`,
  );
}

/** Scheme and host:port, the identity of a keyserver; undefined for an unusable URL. */
export function keyserverIdentity(uri: string): string | undefined {
  try {
    const url = keyserverBaseUrl(uri);
    return `${url.protocol}//${url.host}`;
  } catch {
    return undefined;
  }
}

/** Whether two URLs name the same keyserver. */
export function sameKeyserver(a: string, b: string): boolean {
  const identity = keyserverIdentity(a);
  return identity !== undefined && identity === keyserverIdentity(b);
}

/** Scheme and host only (no hkp normalisation): how stored logins are matched. */
export function sameService(a: string, b: string): boolean {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    return x.protocol === y.protocol && x.host === y.host;
  } catch {
    return false;
  }
}
