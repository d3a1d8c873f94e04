/**
 * The typed failure of a remote, keyserver or login operation on Apptainer's configuration.
 *
 * @module
 */

/**
 * What went wrong. The request cannot be carried out as given (a user's mistake):
 * - `invalid-name`, `invalid-uri`: an empty name, an unusable endpoint or keyserver URI;
 * - `insecure-required`: an `http://` endpoint without the insecure setting;
 * - `not-root`: a system-wide change by a user who is not root;
 * - `exists`, `not-found`: the remote or keyserver already exists, or does not;
 * - `no-default`: no default remote to act on;
 * - `not-system`: `keyserver add|remove` on a remote that is not a system remote;
 * - `exclusive`: an administrator made another remote exclusive;
 * - `global-remote`: a system remote cannot be removed from a user file;
 * - `order`: a keyserver position out of range;
 * - `primary-keyserver`: the last keyserver of a remote cannot be removed;
 * - `secrets-in-system-file`: a login would be stored in the system file;
 * - `token-file`: the access token file cannot be read or holds no token;
 * - `no-external-keyserver`: a keyserver login for a keyserver that was not added.
 *
 * The operation was tried and failed:
 * - `not-permitted`: siftrust lacks a permission it needs (e.g. to read its uid);
 * - `no-service`: the endpoint does not offer the service needed (token, keyserver);
 * - `unreachable`: discovery or a check got no answer (see `cause`);
 * - `rejected`: the server refused the credentials;
 * - `unexpected-answer`: the server answered with a status that means neither yes nor no.
 */
export type RemoteErrorKind =
  | "invalid-name"
  | "invalid-uri"
  | "insecure-required"
  | "not-root"
  | "exists"
  | "not-found"
  | "no-default"
  | "not-system"
  | "exclusive"
  | "global-remote"
  | "order"
  | "primary-keyserver"
  | "secrets-in-system-file"
  | "token-file"
  | "no-external-keyserver"
  | "not-permitted"
  | "no-service"
  | "unreachable"
  | "rejected"
  | "unexpected-answer";

/** The kinds that are a user's mistake rather than a failed operation. */
export const REQUEST_ERROR_KINDS: ReadonlySet<RemoteErrorKind> = new Set<RemoteErrorKind>([
  "invalid-name",
  "invalid-uri",
  "insecure-required",
  "not-root",
  "exists",
  "not-found",
  "no-default",
  "not-system",
  "exclusive",
  "global-remote",
  "order",
  "primary-keyserver",
  "secrets-in-system-file",
  "token-file",
  "no-external-keyserver",
]);

/** A remote, keyserver or login operation failed; the message is one line that says why. */
export class RemoteError extends Error {
  /** What kind of failure. */
  readonly kind: RemoteErrorKind;

  /** A failure of this kind; `cause` is the underlying failure, if any. */
  constructor(kind: RemoteErrorKind, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "RemoteError";
    this.kind = kind;
  }
}
