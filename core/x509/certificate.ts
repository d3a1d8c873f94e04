/**
 * X.509 certificates as verification needs them: PEM bundles read into node:crypto's
 * `X509Certificate` (signatures, names, keys) plus the extensions node:crypto does not decode
 * (key IDs, basic constraints, extended key usage, AIA OCSP URLs), read with
 * `@peculiar/asn1-x509`.
 *
 * @module
 */

import { type KeyObject, X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  id_ad_ocsp,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_subjectKeyIdentifier,
  id_pe_authorityInfoAccess,
  SubjectKeyIdentifier,
} from "@peculiar/asn1-x509";
import { id_pkix_ocsp_nocheck } from "@peculiar/asn1-ocsp";
import { fromBER, Sequence } from "asn1js";
import { X509Error } from "./errors.ts";
import { signatureVerifies } from "./signature.ts";

/** The system's trust store on Debian and its derivatives. */
export const SYSTEM_ROOTS_PATH = "/etc/ssl/certs/ca-certificates.crt";

/** A signed DER structure's to-be-signed bytes, signature algorithm OID and signature. */
export interface SignedPart {
  /** The exact DER that was signed. */
  readonly tbs: Uint8Array;
  /** The signature algorithm OID. */
  readonly algorithm: string;
  /** The signature value. */
  readonly signature: Uint8Array;
}

/** One parsed certificate with the fields chain building, OCSP and CRLs read. */
export interface CertificateInfo {
  /** The DER encoding. */
  readonly der: Uint8Array;
  /** node:crypto's view (subject text, public key). */
  readonly x509: X509Certificate;
  /** What the issuer signed, with which algorithm, and the signature. */
  readonly signed: SignedPart;
  /** The serialNumber INTEGER's content octets. */
  readonly serialBytes: Uint8Array;
  /** The subjectPublicKey BIT STRING's key bits (what OCSP's issuerKeyHash hashes). */
  readonly publicKeyBits: Uint8Array;
  /** The subject as one line, `CN=a, O=b`. */
  readonly subject: string;
  /** The subject's common name, or the whole subject when it has none. */
  readonly name: string;
  /** The serial number. */
  readonly serial: bigint;
  /** DER of the subject Name. */
  readonly subjectDer: Uint8Array;
  /** DER of the issuer Name. */
  readonly issuerDer: Uint8Array;
  /** Start of the validity period. */
  readonly notBefore: Date;
  /** End of the validity period. */
  readonly notAfter: Date;
  /** Subject key identifier, lower-case hex. */
  readonly subjectKeyId?: string;
  /** Authority key identifier (keyIdentifier field), lower-case hex. */
  readonly authorityKeyId?: string;
  /** Whether basicConstraints says CA. */
  readonly ca: boolean;
  /** basicConstraints pathLenConstraint, when set. */
  readonly pathLength?: number;
  /** Extended key usage OIDs; undefined without the extension. */
  readonly extKeyUsage?: readonly string[];
  /** OCSP responder URLs from the AIA extension, in order. */
  readonly ocspUrls: readonly string[];
  /** Whether the certificate carries id-pkix-ocsp-nocheck. */
  readonly ocspNoCheck: boolean;
  /** The first critical extension chain validation does not handle, if any. */
  readonly unhandledCritical?: string;
  /** The subject public key. */
  readonly publicKey: KeyObject;
}

/** Extensions Go's verifier (Apptainer's) handles when critical; any other refuses a chain. */
const HANDLED_EXTENSIONS = new Set([
  "2.5.29.14", // subjectKeyIdentifier
  "2.5.29.15", // keyUsage
  "2.5.29.17", // subjectAltName
  "2.5.29.19", // basicConstraints
  "2.5.29.30", // nameConstraints
  "2.5.29.32", // certificatePolicies
  "2.5.29.33", // policyMappings
  "2.5.29.35", // authorityKeyIdentifier
  "2.5.29.36", // policyConstraints
  "2.5.29.37", // extKeyUsage
  "2.5.29.54", // inhibitAnyPolicy
]);

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Reads every PEM block of `text` as a certificate, as Apptainer's certificate pools do.
 * @throws X509Error `bad-certificate` (`failed to decode PEM`) without any block, or when a
 * block is not a certificate or does not parse.
 */
export function readCertificates(text: string): CertificateInfo[] {
  const certificates: CertificateInfo[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] !== "CERTIFICATE") {
      throw new X509Error("bad-certificate", `unexpected PEM block "${match[1]}"`);
    }
    certificates.push(parseCertificate(decodeBase64(match[2])));
  }
  if (certificates.length === 0) throw new X509Error("bad-certificate", "failed to decode PEM");
  return certificates;
}

/**
 * Reads the PEM certificates of a file (`path`), or the system bundle
 * ({@linkcode SYSTEM_ROOTS_PATH}) when `path` is undefined.
 * @throws X509Error `bad-certificate`, or `no-system-roots` when the system bundle is missing;
 * Deno's file errors for a given path that cannot be read.
 */
export async function loadCertificates(path?: string): Promise<CertificateInfo[]> {
  if (path !== undefined) return readCertificates(await Deno.readTextFile(path));
  let text: string;
  try {
    text = await Deno.readTextFile(SYSTEM_ROOTS_PATH);
  } catch (error) {
    throw new X509Error(
      "no-system-roots",
      `x509: failed to load system roots and no roots provided (${SYSTEM_ROOTS_PATH})`,
      { cause: error },
    );
  }
  return readCertificates(text);
}

/**
 * Parses one DER certificate.
 * @throws X509Error `bad-certificate` when it does not parse.
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  let x509: X509Certificate;
  let asn: Certificate;
  try {
    x509 = new X509Certificate(der);
    asn = AsnConvert.parse(der, Certificate);
  } catch (error) {
    throw new X509Error("bad-certificate", `x509: malformed certificate: ${message(error)}`, {
      cause: error,
    });
  }
  const tbs = asn.tbsCertificate;
  const names = nameFields(asn);
  const extension = (oid: string) => tbs.extensions?.find((e) => e.extnID === oid)?.extnValue;
  const aki = extension(id_ce_authorityKeyIdentifier);
  const ski = extension(id_ce_subjectKeyIdentifier);
  const basic = extension(id_ce_basicConstraints);
  const eku = extension(id_ce_extKeyUsage);
  const aia = extension(id_pe_authorityInfoAccess);
  const constraints = basic && AsnConvert.parse(basic, BasicConstraints);
  const keyId = aki && AsnConvert.parse(aki, AuthorityKeyIdentifier).keyIdentifier;
  const subject = x509.subject.split("\n").join(", ");
  return {
    der,
    x509,
    signed: {
      tbs: names.tbs,
      algorithm: asn.signatureAlgorithm.algorithm,
      signature: new Uint8Array(asn.signatureValue),
    },
    serialBytes: new Uint8Array(tbs.serialNumber),
    publicKeyBits: new Uint8Array(tbs.subjectPublicKeyInfo.subjectPublicKey),
    subject,
    name: /(?:^|, )CN=([^,]*)/.exec(subject)?.[1] ?? subject,
    serial: toBigInt(new Uint8Array(tbs.serialNumber)),
    subjectDer: names.subject,
    issuerDer: names.issuer,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    subjectKeyId: ski && toHex(AsnConvert.parse(ski, SubjectKeyIdentifier).buffer),
    authorityKeyId: keyId && toHex(keyId.buffer),
    ca: constraints?.cA ?? false,
    pathLength: constraints?.pathLenConstraint,
    extKeyUsage: eku && [...AsnConvert.parse(eku, ExtendedKeyUsage)],
    ocspUrls: aia
      ? AsnConvert.parse(aia, AuthorityInfoAccessSyntax)
        .filter((d) => d.accessMethod === id_ad_ocsp)
        .flatMap((d) => d.accessLocation.uniformResourceIdentifier ?? [])
      : [],
    ocspNoCheck: extension(id_pkix_ocsp_nocheck) !== undefined,
    unhandledCritical: tbs.extensions?.find((e) => e.critical && !HANDLED_EXTENSIONS.has(e.extnID))
      ?.extnID,
    publicKey: x509.publicKey,
  };
}

/** Whether `issuer`'s key made the signature on `certificate`. */
export function signedBy(certificate: CertificateInfo, issuer: CertificateInfo): boolean {
  const { tbs, algorithm, signature } = certificate.signed;
  return signatureVerifies(algorithm, tbs, signature, issuer.publicKey);
}

/** Whether `certificate` names itself as issuer (subject equals issuer). */
export function selfIssued(certificate: CertificateInfo): boolean {
  return sameBytes(certificate.subjectDer, certificate.issuerDer);
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Unsigned big-endian bytes as a bigint (serial numbers). */
export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

/** The to-be-signed DER and the exact DER of its issuer and subject Names. */
function nameFields(
  asn: Certificate,
): { tbs: Uint8Array; issuer: Uint8Array; subject: Uint8Array } {
  const raw = asn.tbsCertificateRaw;
  const parsed = raw && fromBER(raw);
  if (!parsed || parsed.offset === -1 || !(parsed.result instanceof Sequence)) {
    throw new X509Error("bad-certificate", "x509: malformed tbs certificate");
  }
  const fields = parsed.result.valueBlock.value;
  const first = fields[0]?.idBlock.tagClass === 3 ? 1 : 0; // [0] version is optional
  return {
    tbs: new Uint8Array(raw),
    issuer: new Uint8Array(fields[first + 2].valueBeforeDecodeView),
    subject: new Uint8Array(fields[first + 4].valueBeforeDecodeView),
  };
}

function decodeBase64(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  try {
    return Uint8Array.from(atob(compact), (c) => c.charCodeAt(0));
  } catch {
    throw new X509Error("bad-certificate", "failed to decode PEM");
  }
}

function toHex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}
