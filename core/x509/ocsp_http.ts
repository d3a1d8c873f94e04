/**
 * OCSP over the project's one HTTP client (core/http): a POST with the DER request, a 10 s
 * limit and a 1 MiB cap on the answer, as responders answer in a few kilobytes.
 *
 * @module
 */

import { httpRequest } from "../http/mod.ts";

/** The largest OCSP answer read (1 MiB). */
export const OCSP_MAX_BYTES: number = 1 << 20;

/**
 * Posts an OCSP request and returns the answer's body (an `OcspPost` over core/http).
 * @throws HttpError when there is no complete answer; Error for a status other than 200.
 */
export async function ocspOverHttp(
  url: string,
  body: Uint8Array,
  contentType: string,
): Promise<Uint8Array> {
  const response = await httpRequest(url, {
    method: "POST",
    body,
    headers: { "Content-Type": contentType, Accept: "application/ocsp-response" },
    maxBytes: OCSP_MAX_BYTES,
  });
  if (response.status !== 200) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  return response.body;
}
