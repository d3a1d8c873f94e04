/**
 * Chain building as Go's `x509.Certificate.Verify` does for Apptainer's `verify
 * --certificate`: the leaf must be valid now, parents are found among the roots then the
 * intermediates by issuer name and key ID, each link's signature, validity, CA constraint and
 * path length are checked, and the leaf must allow code signing.
 *
 * @module
 */

import { anyExtendedKeyUsage, id_kp_codeSigning } from "@peculiar/asn1-x509";
import { type CertificateInfo, sameBytes, signedBy } from "./certificate.ts";
import { X509Error } from "./errors.ts";

/** The longest chain accepted (leaf and root included). */
const MAX_CHAIN = 10;

/** Where a chain is built from. */
export interface ChainInput {
  /** The signer's certificate. */
  leaf: CertificateInfo;
  /** Certificates that may link the leaf to a root. */
  intermediates: readonly CertificateInfo[];
  /** Trust anchors. */
  roots: readonly CertificateInfo[];
  /** When the certificates must be valid. */
  at: Date;
}

interface Hint {
  error: X509Error;
  candidate: CertificateInfo;
}

/**
 * Builds the chain leaf → intermediates → root.
 * @returns the chain, leaf first, a root last.
 * @throws X509Error: `expired`/`not-yet-valid`/`unhandled-critical-extension` for the leaf; for no chain, the kind of the
 * reason the best candidate parent failed (`bad-chain-signature`, `expired`, `not-yet-valid`,
 * `not-ca`, `path-length`) or `untrusted-root`; `no-code-signing-eku` when the chain does not
 * allow code signing.
 */
export function buildChain(input: ChainInput): CertificateInfo[] {
  const leafError = certificateError(input.leaf, input.at);
  if (leafError) throw leafError;
  const hints: Hint[] = [];
  const chain = input.roots.some((root) => sameBytes(root.der, input.leaf.der))
    ? [input.leaf]
    : extend([input.leaf], input, hints);
  if (chain === undefined) throw unknownAuthority(hints[0]);
  if (!allowsCodeSigning(chain)) {
    throw new X509Error(
      "no-code-signing-eku",
      "x509: certificate specifies an incompatible key usage",
    );
  }
  return chain;
}

/** The earliest notAfter of `chain`. */
export function earliestNotAfter(chain: readonly CertificateInfo[]): Date {
  return new Date(Math.min(...chain.map((certificate) => certificate.notAfter.getTime())));
}

function extend(
  chain: CertificateInfo[],
  input: ChainInput,
  hints: Hint[],
): CertificateInfo[] | undefined {
  if (chain.length >= MAX_CHAIN) return undefined;
  const child = chain[chain.length - 1];
  const candidates = [
    ...parents(child, input.roots).map((c) => ({ c, root: true })),
    ...parents(child, input.intermediates).map((c) => ({ c, root: false })),
  ];
  for (const { c, root } of candidates) {
    if (chain.some((link) => sameBytes(link.der, c.der))) continue;
    const error = linkError(child, c, chain.length - 1, input.at);
    if (error) {
      hints.push({ error, candidate: c });
      continue;
    }
    if (root) return [...chain, c];
    const longer = extend([...chain, c], input, hints);
    if (longer) return longer;
  }
  return undefined;
}

/** Certificates of `pool` whose subject is `child`'s issuer, matching key IDs first. */
function parents(child: CertificateInfo, pool: readonly CertificateInfo[]): CertificateInfo[] {
  const named = pool.filter((c) => sameBytes(c.subjectDer, child.issuerDer));
  const rank = (c: CertificateInfo) => {
    if (child.authorityKeyId === undefined || c.subjectKeyId === undefined) return 1;
    return child.authorityKeyId === c.subjectKeyId ? 0 : 2;
  };
  return named.sort((a, b) => rank(a) - rank(b));
}

/** Why `parent` cannot have issued `child` with `below` intermediates under it, if it cannot. */
function linkError(
  child: CertificateInfo,
  parent: CertificateInfo,
  below: number,
  at: Date,
): X509Error | undefined {
  if (!signedBy(child, parent)) {
    return new X509Error("bad-chain-signature", "x509: signature does not verify");
  }
  if (!parent.ca) {
    return new X509Error(
      "not-ca",
      "x509: certificate is not authorized to sign other certificates",
    );
  }
  if (parent.pathLength !== undefined && below > parent.pathLength) {
    return new X509Error("path-length", "x509: too many intermediates for path length constraint");
  }
  return certificateError(parent, at);
}

function certificateError(certificate: CertificateInfo, at: Date): X509Error | undefined {
  if (certificate.unhandledCritical !== undefined) {
    return new X509Error(
      "unhandled-critical-extension",
      `x509: unhandled critical extension (${certificate.unhandledCritical})`,
    );
  }
  const prefix = "x509: certificate has expired or is not yet valid: current time";
  if (at < certificate.notBefore) {
    return new X509Error(
      "not-yet-valid",
      `${prefix} ${stamp(at)} is before ${stamp(certificate.notBefore)}`,
    );
  }
  if (at > certificate.notAfter) {
    return new X509Error(
      "expired",
      `${prefix} ${stamp(at)} is after ${stamp(certificate.notAfter)}`,
    );
  }
  return undefined;
}

function unknownAuthority(hint: Hint | undefined): X509Error {
  const base = "x509: certificate signed by unknown authority";
  if (hint === undefined) return new X509Error("untrusted-root", base);
  return new X509Error(
    hint.error.kind,
    `${base} (possibly because of "${hint.error.message}" while trying to verify candidate ` +
      `authority certificate "${hint.candidate.name}")`,
  );
}

/**
 * The leaf must list code signing (or any usage); an issuer that restricts extended key usage
 * must allow it too.
 */
function allowsCodeSigning(chain: readonly CertificateInfo[]): boolean {
  const allows = (usages: readonly string[]) =>
    usages.includes(id_kp_codeSigning) || usages.includes(anyExtendedKeyUsage);
  const [leaf, ...issuers] = chain;
  if (leaf.extKeyUsage === undefined || !allows(leaf.extKeyUsage)) return false;
  return issuers.every((c) => c.extKeyUsage === undefined || allows(c.extKeyUsage));
}

function stamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
