/**
 * Shared by the X.509 tests: reading certificates, expecting typed refusals, and a real
 * fetch-based OCSP POST.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type CertificateInfo,
  type OcspPost,
  readCertificates,
  X509Error,
  type X509ErrorKind,
} from "../../core/x509/mod.ts";

/** The certificates of a PEM file. */
export async function read(path: string): Promise<CertificateInfo[]> {
  return readCertificates(await Deno.readTextFile(path));
}

/** The message of the X509Error of `kind` that `promise` rejects with. */
export async function refused(promise: Promise<unknown>, kind: X509ErrorKind): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof X509Error, String(error));
    assert.equal(error.kind, kind, error.message);
    return error.message;
  }
  assert.fail(`accepted, expected ${kind}`);
}

/** OCSP over HTTP with fetch (the tests' stand-in for the project's HTTP client). */
export const fetchPost: OcspPost = async (url, body, contentType) => {
  const response = await fetch(url, {
    method: "POST",
    body: new Uint8Array(body),
    headers: { "content-type": contentType, accept: "application/ocsp-response" },
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
};
