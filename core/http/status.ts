/**
 * The standard reason phrase of an HTTP status code (`404` → `Not Found`), as Go's
 * `http.StatusText` gives it: servers and proxies may send another phrase, or none.
 *
 * @module
 */

import { STATUS_CODES } from "node:http";

/** The standard reason phrase of `status`, or undefined for a code without one. */
export function reasonPhrase(status: number): string | undefined {
  return STATUS_CODES[status];
}
