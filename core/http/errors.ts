/**
 * The typed failure of an HTTP request made through `core/http`.
 *
 * @module
 */

/**
 * What went wrong:
 * - `invalid-url`: the URL cannot be parsed, or its scheme is not http or https;
 * - `not-permitted`: siftrust lacks the network permission (`--allow-net`);
 * - `unreachable`: no answer — connection refused, DNS, TLS handshake or certificate failure
 *   (Deno's `fetch` gives no typed marker that would tell a certificate failure apart, so it
 *   is not a kind of its own; the reason says which);
 * - `timeout`: no complete answer (headers and body) within the time limit;
 * - `too-large`: the body is longer than the size cap.
 */
export type HttpErrorKind =
  | "invalid-url"
  | "not-permitted"
  | "unreachable"
  | "timeout"
  | "too-large";

/** A request failed before a complete answer was read. */
export class HttpError extends Error {
  /** What kind of failure. */
  readonly kind: HttpErrorKind;
  /** The URL asked for, as given. */
  readonly url: string;
  /** A few words on why (no URL), e.g. `no answer within 5 s`, `Connection refused (os error 111)`. */
  readonly reason: string;

  /** A failure of this kind; the message is `cannot reach <url>: <reason>`. */
  constructor(kind: HttpErrorKind, url: string, reason: string) {
    super(`cannot reach ${url}: ${reason}`);
    this.name = "HttpError";
    this.kind = kind;
    this.url = url;
    this.reason = reason;
  }
}
