/**
 * Remote endpoint URIs as Apptainer stores them: host and path, no scheme, cleaned, no
 * trailing slash. `https://` (or no scheme) is a secure endpoint; `http://` needs the
 * insecure setting.
 *
 * @module
 */

import { RemoteError } from "./errors.ts";

/** An endpoint URI ready to store. */
export interface NormalizedEndpoint {
  /** Host and path, e.g. `cloud.example.com/path`. */
  uri: string;
  /** Whether service discovery uses http. */
  insecure: boolean;
  /** The insecure setting was asked for, but the URI is `https://`, so it was dropped. */
  insecureIgnored: boolean;
}

/**
 * The endpoint URI as Apptainer stores it: the scheme dropped, `?` and `#` parts dropped,
 * empty, `.` and `..` path segments resolved.
 * @throws RemoteError `invalid-uri` (empty, another scheme, no host) or `insecure-required`
 */
export function normalizeEndpointUri(uri: string, insecure: boolean): NormalizedEndpoint {
  if (uri.trim() === "") throw new RemoteError("invalid-uri", "invalid URI: cannot have empty URI");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  let rest = uri;
  let insecureIgnored = false;
  if (scheme !== undefined) {
    if (scheme === "https") {
      insecureIgnored = insecure;
      insecure = false;
    } else if (scheme === "http") {
      if (!insecure) {
        throw new RemoteError("insecure-required", `${uri} is an http URI: it must be insecure`);
      }
    } else {
      throw new RemoteError(
        "invalid-uri",
        `invalid URI "${uri}": a remote endpoint is a host name, optionally with https:// (or http:// when insecure)`,
      );
    }
    rest = uri.slice(scheme.length + 3);
  }
  rest = rest.replace(/[?#].*$/, "");
  const parts: string[] = [];
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  const cleaned = parts.join("/");
  if (cleaned === "" || /\s/.test(cleaned)) {
    throw new RemoteError("invalid-uri", `invalid URI "${uri}": no host name`);
  }
  return { uri: cleaned, insecure, insecureIgnored };
}
