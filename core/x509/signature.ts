/**
 * Signature checks over DER structures (certificates, CRLs, OCSP answers) by algorithm OID.
 *
 * @module
 */

import { type KeyObject, verify } from "node:crypto";

/** Digest per signature algorithm OID (null: pure Ed25519). SHA-1 is refused on purpose. */
const DIGESTS: Record<string, { digest: string | null; keyType: string }> = {
  "1.2.840.113549.1.1.11": { digest: "sha256", keyType: "rsa" },
  "1.2.840.113549.1.1.12": { digest: "sha384", keyType: "rsa" },
  "1.2.840.113549.1.1.13": { digest: "sha512", keyType: "rsa" },
  "1.2.840.10045.4.3.2": { digest: "sha256", keyType: "ec" },
  "1.2.840.10045.4.3.3": { digest: "sha384", keyType: "ec" },
  "1.2.840.10045.4.3.4": { digest: "sha512", keyType: "ec" },
  "1.3.101.112": { digest: null, keyType: "ed25519" },
};

/**
 * Whether `signature` by `key` over `data` verifies with the algorithm `algorithmOid`
 * (RSA PKCS#1 v1.5, ECDSA in DER, Ed25519). Unknown algorithms and key mismatches are false.
 */
export function signatureVerifies(
  algorithmOid: string,
  data: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
): boolean {
  const algorithm = DIGESTS[algorithmOid];
  if (algorithm === undefined || key.asymmetricKeyType !== algorithm.keyType) return false;
  try {
    return verify(algorithm.digest, data, key, signature);
  } catch {
    return false;
  }
}
