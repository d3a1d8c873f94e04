/**
 * Offline revocation with CRLs (PEM or DER): each CRL must be signed by a CA of the chain and
 * current; a certificate issued by that CA whose serial it lists is revoked.
 *
 * @module
 */

import { AsnConvert } from "@peculiar/asn1-schema";
import { CertificateList } from "@peculiar/asn1-x509";
import { fromBER, Integer, Sequence } from "asn1js";
import { type CertificateInfo, sameBytes, type SignedPart, toBigInt } from "./certificate.ts";
import { X509Error } from "./errors.ts";
import { signatureVerifies } from "./signature.ts";

/** A parsed certificate revocation list. */
export interface Crl {
  /** What the issuer signed, with which algorithm, and the signature. */
  readonly signed: SignedPart;
  /** DER of the issuer Name. */
  readonly issuerDer: Uint8Array;
  /** When it was issued. */
  readonly thisUpdate: Date;
  /** When the next one is due, if said. */
  readonly nextUpdate?: Date;
  /** Serial numbers it lists. */
  readonly revoked: ReadonlySet<bigint>;
}

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/;

/**
 * Reads a CRL file's bytes: PEM (`X509 CRL`) or DER.
 * @throws X509Error `crl-invalid` when it is neither.
 */
export function readCrl(bytes: Uint8Array): Crl {
  const pem = PEM_CRL.exec(new TextDecoder().decode(bytes));
  try {
    const der = pem
      ? Uint8Array.from(atob(pem[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0))
      : bytes;
    const asn = AsnConvert.parse(der, CertificateList);
    const tbs = asn.tbsCertList;
    const fields = tbsFields(asn);
    return {
      signed: {
        tbs: fields.tbs,
        algorithm: asn.signatureAlgorithm.algorithm,
        signature: new Uint8Array(asn.signature),
      },
      issuerDer: fields.issuer,
      thisUpdate: tbs.thisUpdate.getTime(),
      nextUpdate: tbs.nextUpdate?.getTime(),
      revoked: new Set(
        (tbs.revokedCertificates ?? []).map((r) => toBigInt(new Uint8Array(r.userCertificate))),
      ),
    };
  } catch (error) {
    if (error instanceof X509Error) throw error;
    throw new X509Error("crl-invalid", "not a PEM or DER certificate revocation list", {
      cause: error,
    });
  }
}

/**
 * Checks `chain` (leaf first, root last) against `crls`.
 * @throws X509Error `crl-invalid` when a CRL is signed by no CA of the chain, is not yet
 * valid or is past its nextUpdate at `now`; `revoked` when it lists a certificate of the chain.
 */
export function checkCrls(
  chain: readonly CertificateInfo[],
  crls: readonly Crl[],
  now: Date,
): void {
  for (const crl of crls) {
    const index = chain.findIndex((ca, i) => i > 0 && signs(ca, crl));
    if (index < 0) {
      throw new X509Error(
        "crl-invalid",
        "CRL is not signed by a certificate authority of the chain",
      );
    }
    const issuer = chain[index];
    if (crl.thisUpdate > now) {
      throw new X509Error("crl-invalid", `CRL of "${issuer.name}" is not yet valid`);
    }
    if (crl.nextUpdate !== undefined && crl.nextUpdate < now) {
      throw new X509Error(
        "crl-invalid",
        `CRL of "${issuer.name}" expired at ${crl.nextUpdate.toISOString()}`,
      );
    }
    const child = chain[index - 1];
    if (crl.revoked.has(child.serial)) {
      throw new X509Error(
        "revoked",
        `certificate "${child.name}" is revoked by the CRL of "${issuer.name}"`,
      );
    }
  }
}

function signs(ca: CertificateInfo, crl: Crl): boolean {
  const { tbs, algorithm, signature } = crl.signed;
  return sameBytes(ca.subjectDer, crl.issuerDer) &&
    signatureVerifies(algorithm, tbs, signature, ca.publicKey);
}

/** The to-be-signed DER and the exact DER of its issuer Name. */
function tbsFields(asn: CertificateList): { tbs: Uint8Array; issuer: Uint8Array } {
  const raw = asn.tbsCertListRaw;
  const parsed = raw && fromBER(raw);
  if (!parsed || parsed.offset === -1 || !(parsed.result instanceof Sequence)) {
    throw new X509Error("crl-invalid", "malformed CRL");
  }
  const fields = parsed.result.valueBlock.value;
  // version INTEGER is optional: the issuer follows it and the signature algorithm.
  const first = fields[0] instanceof Integer ? 1 : 0;
  return {
    tbs: new Uint8Array(raw),
    issuer: new Uint8Array(fields[first + 1].valueBeforeDecodeView),
  };
}
