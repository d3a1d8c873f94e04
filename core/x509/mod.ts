/**
 * X.509 trust for DSSE signatures, as Apptainer's `verify --certificate`: load PEM
 * certificates, build and check the chain leaf → intermediates → root, optionally ask OCSP
 * and check CRLs, and hand back the leaf's public key for DSSE verification.
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import { DsseError, dsseKeyId } from "../integrity/dsse.ts";
import type { CertificateInfo } from "./certificate.ts";
import { buildChain, earliestNotAfter } from "./chain.ts";
import { checkCrls, type Crl, readCrl } from "./crl.ts";
import { X509Error } from "./errors.ts";
import { checkOcsp, type OcspGood, type OcspPost } from "./ocsp.ts";

export {
  type CertificateInfo,
  loadCertificates,
  parseCertificate,
  readCertificates,
  type SignedPart,
  SYSTEM_ROOTS_PATH,
} from "./certificate.ts";
export { buildChain, type ChainInput, earliestNotAfter } from "./chain.ts";
export { checkCrls, type Crl, readCrl } from "./crl.ts";
export { X509Error, type X509ErrorKind } from "./errors.ts";
export {
  checkOcsp,
  OCSP_CLOCK_SKEW_MS,
  type OcspGood,
  type OcspOptions,
  type OcspPost,
  ocspRequest,
} from "./ocsp.ts";
export { OCSP_MAX_BYTES, ocspOverHttp } from "./ocsp_http.ts";

/** What to verify a signer's certificate against. */
export interface CertificateTrust {
  /** The signer's certificate; only the first of several is used, as Apptainer does. */
  leaf: CertificateInfo;
  /** Certificates that may link the leaf to a root. */
  intermediates?: readonly CertificateInfo[];
  /** Trust anchors (required: load the system ones with `loadCertificates()`). */
  roots: readonly CertificateInfo[];
  /** Ask OCSP about every certificate of the chain but its root, with this POST. */
  ocsp?: OcspPost;
  /** Revocation lists to check the chain against. */
  crls?: readonly Crl[];
  /** When the chain must be valid and OCSP answers and CRLs current (default: now). */
  at?: Date;
}

/** A trusted signer certificate. */
export interface TrustedCertificate {
  /** The chain, leaf first, root last. */
  chain: CertificateInfo[];
  /** The leaf's public key, as `verifyEnvelope` (core/integrity/dsse.ts) takes it. */
  publicKey: KeyObject;
  /** The earliest notAfter of the chain: trust ends then. */
  notAfter: Date;
  /** The certificates OCSP said are good (empty without `ocsp`). */
  ocsp: OcspGood[];
}

/**
 * Verifies a signer's certificate: chain to a root with valid dates, CA issuers and the code
 * signing extended key usage, then the CRLs, then OCSP.
 * @throws X509Error with the kind of the first failure.
 */
export async function verifyCertificate(trust: CertificateTrust): Promise<TrustedCertificate> {
  const at = trust.at ?? new Date();
  const chain = buildChain({
    leaf: trust.leaf,
    intermediates: trust.intermediates ?? [],
    roots: trust.roots,
    at,
  });
  const publicKey = leafPublicKey(trust.leaf);
  if (trust.crls !== undefined) checkCrls(chain, trust.crls, at);
  const ocsp = trust.ocsp === undefined
    ? []
    : await checkOcsp(chain, { post: trust.ocsp, now: at });
  return { chain, publicKey, notAfter: earliestNotAfter(chain), ocsp };
}

/**
 * The certificate's public key, as DSSE verification (core/integrity/dsse.ts) uses keys:
 * RSA, ECDSA P-256/P-384/P-521 or Ed25519.
 * @throws X509Error `unsupported-key` for other key types.
 */
export function leafPublicKey(certificate: CertificateInfo): KeyObject {
  try {
    dsseKeyId(certificate.publicKey);
  } catch (error) {
    if (!(error instanceof DsseError)) throw error;
    throw new X509Error("unsupported-key", `certificate key: ${error.message}`, { cause: error });
  }
  return certificate.publicKey;
}

/**
 * Reads CRL files (PEM or DER).
 * @throws X509Error `crl-invalid` for a file that is not a CRL; Deno's errors when unreadable.
 */
export async function loadCrls(paths: readonly string[]): Promise<Crl[]> {
  return await Promise.all(paths.map(async (path) => readCrl(await Deno.readFile(path))));
}
