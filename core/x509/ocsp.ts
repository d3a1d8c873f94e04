/**
 * OCSP (RFC 6960) for every certificate of a chain that is not its anchor, following the rules
 * of Apptainer's `verify --ocsp-verify`: a SHA-1 CertID request POSTed to the first AIA
 * responder, the answer signed by the issuer or by a delegated responder that the issuer
 * certified for OCSP signing (itself checked unless it carries id-pkix-ocsp-nocheck), fresh
 * (thisUpdate not in the future, nextUpdate not past), and good.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, id_kp_OCSPSigning } from "@peculiar/asn1-x509";
import {
  BasicOCSPResponse,
  CertID,
  id_pkix_ocsp_basic,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  type SingleResponse,
  TBSRequest,
} from "@peculiar/asn1-ocsp";
import {
  type CertificateInfo,
  parseCertificate,
  sameBytes,
  signedBy,
  toBigInt,
} from "./certificate.ts";
import { Constructed, fromBER, Sequence } from "asn1js";
import { X509Error } from "./errors.ts";
import { signatureVerifies } from "./signature.ts";

/** Sends `body` with `contentType` to `url` by POST and returns the response body. */
export type OcspPost = (url: string, body: Uint8Array, contentType: string) => Promise<Uint8Array>;

/** How to reach responders and which time answers must cover. */
export interface OcspOptions {
  /** The HTTP POST used for every request. */
  post: OcspPost;
  /**
   * The time of the check (default: when each answer arrives). An answer is taken while its
   * thisUpdate is at most {@linkcode OCSP_CLOCK_SKEW_MS} after it and its nextUpdate, if any, at most
   * that long before it.
   */
  now?: Date;
}

/**
 * How far an answer's times may lie beyond the time of the check: 5 minutes, openssl's default
 * (`openssl ocsp -validity_period`). A responder's clock is not this machine's, and a check
 * whose time was taken before the request was sent must still take an answer made a second later.
 */
export const OCSP_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A certificate the responder said is good. */
export interface OcspGood {
  /** Subject of the certificate checked. */
  subject: string;
  /** The responder asked. */
  url: string;
}

const HASHES: Record<string, string> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};
const SHA1_OID = "1.3.14.3.2.26";
/** A delegated responder's own certificate is checked, but not its responder's, and so on. */
const MAX_DEPTH = 2;

/**
 * Asks OCSP about every certificate of `chain` (leaf first) except its last, the trust anchor,
 * each with the next certificate as issuer.
 * @returns one entry per certificate found good, leaf first.
 * @throws X509Error `revoked`, `ocsp-unknown`, `ocsp-unreachable`, `ocsp-invalid` or
 * `ocsp-no-responder`; the message names the certificate.
 */
export async function checkOcsp(
  chain: readonly CertificateInfo[],
  options: OcspOptions,
): Promise<OcspGood[]> {
  const good: OcspGood[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const url = await checkCertificate(chain[i], chain[i + 1], options, 0);
    good.push({ subject: chain[i].subject, url });
  }
  return good;
}

/**
 * The DER OCSP request for `certificate` issued by `issuer`: one CertID hashed with SHA-1, no
 * nonce (as Go's `ocsp.CreateRequest`).
 */
export function ocspRequest(certificate: CertificateInfo, issuer: CertificateInfo): Uint8Array {
  const request = new OCSPRequest({
    tbsRequest: new TBSRequest({
      requestList: [new Request({ reqCert: certId(certificate, issuer, SHA1_OID) })],
    }),
  });
  return new Uint8Array(AsnConvert.serialize(request));
}

async function checkCertificate(
  certificate: CertificateInfo,
  issuer: CertificateInfo,
  options: OcspOptions,
  depth: number,
): Promise<string> {
  const fail = (kind: X509Error["kind"], detail: string, cause?: unknown) =>
    new X509Error(kind, `OCSP verification of "${certificate.name}" failed: ${detail}`, { cause });
  const url = certificate.ocspUrls[0];
  if (url === undefined) throw fail("ocsp-no-responder", "certificate does not support OCSP");
  let answer: Uint8Array;
  try {
    answer = await options.post(url, ocspRequest(certificate, issuer), "application/ocsp-request");
  } catch (error) {
    throw fail("ocsp-unreachable", `cannot reach ${url}: ${message(error)}`, error);
  }
  const now = options.now ?? new Date();
  const { basic, basicDer, single } = parseAnswer(answer, certificate, issuer, fail);
  const responder = responderOf(basic, basicDer, issuer, now, fail);
  const notYet = single.thisUpdate.getTime() > now.getTime() + OCSP_CLOCK_SKEW_MS;
  const expired = single.nextUpdate !== undefined &&
    single.nextUpdate.getTime() < now.getTime() - OCSP_CLOCK_SKEW_MS;
  if (notYet || expired) {
    throw fail("ocsp-invalid", "unreliable OCSP response");
  }
  if (single.certStatus.revoked) {
    const { revocationTime, revocationReason } = single.certStatus.revoked;
    throw fail(
      "revoked",
      `certificate revoked at '${revocationTime.toISOString()}'. Revocation reason code: '${
        revocationReason?.reason ?? 0
      }'`,
    );
  }
  if (single.certStatus.good === undefined) {
    throw fail("ocsp-unknown", "status unknown. certificate cannot be trusted");
  }
  if (responder !== issuer && !responder.ocspNoCheck) {
    if (depth >= MAX_DEPTH) throw fail("ocsp-invalid", "OCSP responder chain too deep");
    await checkCertificate(responder, issuer, options, depth + 1);
  }
  return url;
}

type Fail = (kind: X509Error["kind"], detail: string, cause?: unknown) => X509Error;

function parseAnswer(
  answer: Uint8Array,
  certificate: CertificateInfo,
  issuer: CertificateInfo,
  fail: Fail,
): { basic: BasicOCSPResponse; basicDer: Uint8Array; single: SingleResponse } {
  let response: OCSPResponse;
  let basic: BasicOCSPResponse;
  let basicDer: Uint8Array;
  try {
    response = AsnConvert.parse(answer, OCSPResponse);
    if (response.responseStatus !== OCSPResponseStatus.successful) {
      const status = OCSPResponseStatus[response.responseStatus] ?? response.responseStatus;
      const busy = response.responseStatus === OCSPResponseStatus.tryLater ||
        response.responseStatus === OCSPResponseStatus.internalError;
      throw fail(busy ? "ocsp-unreachable" : "ocsp-invalid", `error from server: ${status}`);
    }
    if (response.responseBytes?.responseType !== id_pkix_ocsp_basic) {
      throw fail("ocsp-invalid", "bad OCSP response type");
    }
    basicDer = new Uint8Array(response.responseBytes.response.buffer);
    basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  } catch (error) {
    if (error instanceof X509Error) throw error;
    throw fail("ocsp-invalid", `malformed OCSP response: ${message(error)}`, error);
  }
  if ((basic.certs?.length ?? 0) > 1) {
    throw fail("ocsp-invalid", "OCSP response contains bad number of certificates");
  }
  const single = basic.tbsResponseData.responses.find((r) =>
    matches(r.certID, certificate, issuer)
  );
  if (single === undefined) throw fail("ocsp-invalid", "no response matching the certificate");
  if (single.singleExtensions?.some((e) => e.critical)) {
    throw fail("ocsp-invalid", "unsupported critical extension");
  }
  return { basic, basicDer, single };
}

/**
 * The certificate whose key signed the answer, if the responder is authorized (RFC 6960
 * §4.2.2.2): the issuer itself, or a certificate for id-kp-OCSPSigning the issuer signed,
 * valid now.
 */
function responderOf(
  basic: BasicOCSPResponse,
  basicDer: Uint8Array,
  issuer: CertificateInfo,
  now: Date,
  fail: Fail,
): CertificateInfo {
  let embedded: CertificateInfo | undefined;
  try {
    embedded = embeddedCertificate(basicDer);
  } catch (error) {
    throw fail("ocsp-invalid", `malformed responder certificate: ${message(error)}`, error);
  }
  const responder = embedded === undefined || samePublicKey(embedded, issuer) ? issuer : embedded;
  const raw = basic.tbsResponseDataRaw;
  if (
    raw === undefined ||
    !signatureVerifies(
      basic.signatureAlgorithm.algorithm,
      new Uint8Array(raw),
      new Uint8Array(basic.signature),
      responder.publicKey,
    )
  ) {
    throw fail("ocsp-invalid", "bad OCSP signature");
  }
  if (responder === issuer) return issuer;
  const delegated = responder.extKeyUsage?.includes(id_kp_OCSPSigning) === true &&
    signedBy(responder, issuer) && responder.notBefore <= now && now <= responder.notAfter;
  if (!delegated) throw fail("ocsp-invalid", "ocsp response is rejected");
  return responder;
}

/** The first certificate of a BasicOCSPResponse's `certs`, parsed from its own bytes. */
function embeddedCertificate(basicDer: Uint8Array): CertificateInfo | undefined {
  const parsed = fromBER(basicDer);
  if (parsed.offset === -1 || !(parsed.result instanceof Sequence)) return undefined;
  const tagged = parsed.result.valueBlock.value.find((field) =>
    field.idBlock.tagClass === 3 && field.idBlock.tagNumber === 0
  );
  if (!(tagged instanceof Constructed)) return undefined;
  const list = tagged.valueBlock.value[0];
  if (!(list instanceof Sequence) || list.valueBlock.value.length === 0) return undefined;
  return parseCertificate(new Uint8Array(list.valueBlock.value[0].valueBeforeDecodeView));
}

function samePublicKey(a: CertificateInfo, b: CertificateInfo): boolean {
  const der = (c: CertificateInfo) =>
    new Uint8Array(c.publicKey.export({ type: "spki", format: "der" }));
  return sameBytes(der(a), der(b));
}

function certId(certificate: CertificateInfo, issuer: CertificateInfo, hashOid: string): CertID {
  const hash = (data: Uint8Array) =>
    new OctetString(createHash(HASHES[hashOid]).update(data).digest());
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: hashOid, parameters: null }),
    issuerNameHash: hash(issuer.subjectDer),
    issuerKeyHash: hash(issuer.publicKeyBits),
    serialNumber: certificate.serialBytes.slice().buffer,
  });
}

/** Whether a response's CertID names `certificate` under `issuer` (serial and both hashes). */
function matches(id: CertID, certificate: CertificateInfo, issuer: CertificateInfo): boolean {
  const hashOid = id.hashAlgorithm.algorithm;
  if (HASHES[hashOid] === undefined) return false;
  if (toBigInt(new Uint8Array(id.serialNumber)) !== certificate.serial) return false;
  const expected = certId(certificate, issuer, hashOid);
  return sameBytes(bytes(id.issuerNameHash), bytes(expected.issuerNameHash)) &&
    sameBytes(bytes(id.issuerKeyHash), bytes(expected.issuerKeyHash));
}

function bytes(octets: OctetString): Uint8Array {
  return new Uint8Array(octets.buffer);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}
