/**
 * The typed failure of an OCI registry login or logout.
 *
 * @module
 */

/**
 * What went wrong: `invalid-target`, a `docker://`/`oras://` reference that is not a host;
 * `docker-config`, a `docker-config.json` that is not a JSON object with an `auths` object;
 * `io`, a `docker-config.json` that cannot be read; `unreachable`, the registry gave no
 * answer (see `cause`); `rejected`, it refused the username or password;
 * `unexpected-answer`, it answered with a status that means neither.
 */
export type RegistryErrorKind =
  | "invalid-target"
  | "docker-config"
  | "io"
  | "unreachable"
  | "rejected"
  | "unexpected-answer";

/** A registry login or logout failed; the message is one line that says why. */
export class RegistryError extends Error {
  /** What kind of failure. */
  readonly kind: RegistryErrorKind;

  /** A failure of this kind; `cause` is the underlying failure, if any. */
  constructor(kind: RegistryErrorKind, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RegistryError";
    this.kind = kind;
  }
}
