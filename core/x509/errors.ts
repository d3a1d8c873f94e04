/**
 * The one error type of X.509 verification, with a kind code callers branch on.
 *
 * @module
 */

/** Why a certificate, chain, OCSP answer or CRL was refused. */
export type X509ErrorKind =
  /** A file holds no PEM certificate, or a certificate or CRL does not parse. */
  | "bad-certificate"
  /** No roots were given and the system bundle cannot be read. */
  | "no-system-roots"
  /** A certificate of the chain is past its notAfter. */
  | "expired"
  /** A certificate of the chain is before its notBefore. */
  | "not-yet-valid"
  /** No chain from the leaf reaches a root. */
  | "untrusted-root"
  /** An issuer's signature over a certificate of the chain does not verify. */
  | "bad-chain-signature"
  /** An issuer lacks the CA basic constraint. */
  | "not-ca"
  /** An issuer's pathLenConstraint is exceeded. */
  | "path-length"
  /** A certificate of the chain has a critical extension that is not understood. */
  | "unhandled-critical-extension"
  /** The leaf (or an issuer's extended key usage) does not allow code signing. */
  | "no-code-signing-eku"
  /** The leaf key is of a type DSSE verification does not support. */
  | "unsupported-key"
  /** OCSP or a CRL says a certificate of the chain is revoked. */
  | "revoked"
  /** The OCSP responder does not know the certificate. */
  | "ocsp-unknown"
  /** The OCSP responder could not be reached or asked to try later. */
  | "ocsp-unreachable"
  /** The OCSP answer is malformed, stale, badly signed or from an unauthorized responder. */
  | "ocsp-invalid"
  /** A certificate to check names no OCSP responder (AIA extension). */
  | "ocsp-no-responder"
  /** A CRL is badly signed, not issued by the chain, not yet valid or expired. */
  | "crl-invalid";

/** A refused certificate; `message` is one line. */
export class X509Error extends Error {
  /** What went wrong, for callers to branch on. */
  readonly kind: X509ErrorKind;

  /** Makes an error of `kind` with a one-line message. */
  constructor(kind: X509ErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "X509Error";
    this.kind = kind;
  }
}
