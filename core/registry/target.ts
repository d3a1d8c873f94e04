/**
 * Registry references of `remote login|logout`: `docker://HOST[:PORT]` or `oras://HOST[:PORT]`.
 *
 * @module
 */

import { RegistryError } from "./errors.ts";

/** A registry to log in to. */
export interface RegistryTarget {
  /** `docker` or `oras`. */
  scheme: string;
  /** Host, with port when given, in lower case. */
  host: string;
}

/**
 * The registry a text names; undefined when it is not a `docker://` or `oras://` reference.
 * @throws RegistryError `invalid-target` for such a reference with a path or no host
 */
export function registryTarget(text: string): RegistryTarget | undefined {
  const match = /^(docker|oras):\/\/([^/?#]+)\/*$/i.exec(text);
  if (match === null) {
    if (/^(docker|oras):\/\//i.test(text)) {
      throw new RegistryError(
        "invalid-target",
        `invalid registry "${text}": give docker://HOST or oras://HOST[:PORT]`,
      );
    }
    return undefined;
  }
  return { scheme: match[1].toLowerCase(), host: match[2].toLowerCase() };
}

/** `docker://HOST`: the URI of the stored login. */
export function registryUri(target: RegistryTarget): string {
  return `${target.scheme}://${target.host}`;
}
