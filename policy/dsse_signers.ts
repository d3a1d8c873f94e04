/**
 * The policy's DSSE signers (`key: FILE` and `certificate: {…}`, docs/policy.md): their key
 * material, loaded and (for certificates) verified once per run, and the policy's verdict on a
 * DSSE signature made with it. A DSSE signature counts like an OpenPGP one when the key that
 * verifies it belongs to a declared signer whose trust holds now: the signer's `expires` has
 * not passed and, for a certificate, its chain verifies (roots, intermediates, validity, code
 * signing, CRLs, OCSP when asked).
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import {
  DsseError,
  dsseKeyId,
  envelopeKeyIds,
  readPemPublicKey,
  type SignatureCheck,
} from "../core/integrity/mod.ts";
import type { CertificateInfo, Crl, OcspPost, X509ErrorKind } from "../core/x509/mod.ts";

/** core/x509, loaded only for a policy with certificate signers (its ASN.1 libraries are large). */
type X509Module = typeof import("../core/x509/mod.ts");
import type {
  CertificateVerdict,
  Hint,
  PolicyAuthenticity,
  SignatureVerdict,
  VerdictReason,
} from "./decision.ts";
import type { Policy, Signer } from "./model.ts";

/** One DSSE signer's key, and for a certificate signer what its chain verification found. */
export interface DsseSignerKey {
  /** The declared signer. */
  signer: Signer;
  /** The public key its signatures verify with. */
  publicKey: KeyObject;
  /** That key's ID (`SHA256:…`, core/integrity/dsse.ts). */
  keyId: string;
  /** For a certificate signer: its subject, and whether and until when its chain holds. */
  certificate?: CertificateStatus;
}

/** What verifying a certificate signer's chain found. */
export interface CertificateStatus {
  /** The leaf's subject. */
  subject: string;
  /** Why the chain is not trusted, or null when it is. */
  problem: { kind: X509ErrorKind; detail: string } | null;
  /** When trust ends (ms since 1970): the chain's earliest notAfter or a CRL's nextUpdate. */
  trustedUntil: number | null;
  /** Whether OCSP was asked. */
  ocsp: boolean;
}

/** The DSSE signers of a policy, and the files their trust depends on. */
export interface DsseSigners {
  /** One entry per `key` or `certificate` signer, in policy order. */
  keys: DsseSignerKey[];
  /** Every key, certificate and CRL file read (for the verify-once cache). */
  files: string[];
}

/** Why a DSSE signer's files cannot be used: unreadable, not what they should be, shared. */
export type SignerKeyErrorKind = "unreadable" | "invalid" | "shared-key";

/** A DSSE signer's key material cannot be used; the message names the signer and file. */
export class SignerKeyError extends Error {
  /** Which failure this is. */
  readonly kind: SignerKeyErrorKind;

  /** Makes an error of `kind` with a one-line message. */
  constructor(kind: SignerKeyErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SignerKeyError";
    this.kind = kind;
  }
}

/** How certificate signers are checked. */
export interface DsseSignerOptions {
  /** The OCSP POST for signers with `ocsp: true`. */
  ocsp: OcspPost;
  /** When the chains must be valid (default: now). */
  now?: Date;
}

/**
 * Loads every `key` and `certificate` signer of a policy: each file read once, each chain
 * verified once (OCSP asked here, when a signer says `ocsp: true`). A chain that does not
 * verify is not an error: its signer's signatures are then not trusted, and say why.
 * @throws SignerKeyError when a file cannot be read or holds no usable key or certificate, or
 * when two signers hold the same key.
 */
export async function loadDsseSigners(
  policy: Policy,
  options: DsseSignerOptions,
): Promise<DsseSigners> {
  const x509: X509Module | undefined = policy.signers.some((s) => s.certificate !== undefined)
    ? await import("../core/x509/mod.ts")
    : undefined;
  const certificates = new Map<string, Promise<CertificateInfo[]>>();
  const readCertificates = (signer: Signer, path: string) => {
    if (!certificates.has(path)) {
      certificates.set(path, fileContent(signer, path, x509!.loadCertificates, x509));
    }
    return certificates.get(path)!;
  };
  const keys: DsseSignerKey[] = [];
  for (const signer of policy.signers) {
    if (signer.key !== undefined) {
      const publicKey = await fileContent(
        signer,
        signer.key,
        async (path) => readPemPublicKey(await Deno.readTextFile(path)),
      );
      keys.push({ signer, publicKey, keyId: dsseKeyId(publicKey) });
    } else if (signer.certificate !== undefined) {
      const spec = signer.certificate;
      const [leaf] = await readCertificates(signer, spec.file);
      const roots = await readCertificates(signer, spec.roots);
      const intermediates = spec.intermediates === undefined
        ? []
        : await readCertificates(signer, spec.intermediates);
      const crls = await Promise.all(
        spec.crls.map((path) =>
          fileContent(signer, path, async () => (await x509!.loadCrls([path]))[0], x509)
        ),
      );
      const status = await certificateStatus(
        x509!,
        leaf,
        { roots, intermediates, crls },
        spec.ocsp,
        options,
      );
      let keyId: string;
      try {
        keyId = dsseKeyId(leaf.publicKey);
      } catch (error) {
        if (!(error instanceof DsseError)) throw error;
        throw new SignerKeyError(
          "invalid",
          `signer ${signer.name}: ${spec.file}: ${error.message}`,
        );
      }
      keys.push({ signer, publicKey: leaf.publicKey, keyId, certificate: status });
    }
  }
  const owner = new Map<string, string>();
  for (const { signer, keyId } of keys) {
    const other = owner.get(keyId);
    if (other !== undefined) {
      throw new SignerKeyError(
        "shared-key",
        `signers ${other} and ${signer.name} share the key ${keyId}: a key may belong to one signer`,
      );
    }
    owner.set(keyId, signer.name);
  }
  return { keys, files: dsseSignerFiles(policy) };
}

/**
 * Reads a signer's file with `read`, turning failures into a {@linkcode SignerKeyError}
 * (`x509`: when loaded, its errors are the file's fault too).
 */
async function fileContent<T>(
  signer: Signer,
  path: string,
  read: (path: string) => Promise<T>,
  x509?: X509Module,
): Promise<T> {
  try {
    return await read(path);
  } catch (error) {
    const where = `signer ${signer.name}: ${path}`;
    if ((x509 !== undefined && error instanceof x509.X509Error) || error instanceof DsseError) {
      throw new SignerKeyError("invalid", `${where}: ${error.message}`, { cause: error });
    }
    if (error instanceof Deno.errors.NotFound) {
      throw new SignerKeyError("unreadable", `${where}: no such file`, { cause: error });
    }
    if (Object.values(Deno.errors).some((kind) => error instanceof kind)) {
      const reason = (error as Error).message;
      throw new SignerKeyError("unreadable", `${where}: ${reason}`, { cause: error });
    }
    throw error;
  }
}

/** Verifies a certificate signer's chain now; a refusal is a status, not an error. */
async function certificateStatus(
  x509: X509Module,
  leaf: CertificateInfo,
  pools: { roots: CertificateInfo[]; intermediates: CertificateInfo[]; crls: Crl[] },
  ocsp: boolean,
  options: DsseSignerOptions,
): Promise<CertificateStatus> {
  try {
    const trusted = await x509.verifyCertificate({
      leaf,
      intermediates: pools.intermediates,
      roots: pools.roots,
      crls: pools.crls.length > 0 ? pools.crls : undefined,
      ocsp: ocsp ? options.ocsp : undefined,
      at: options.now,
    });
    const nextUpdates = pools.crls.flatMap((crl) =>
      crl.nextUpdate === undefined ? [] : [crl.nextUpdate.getTime()]
    );
    return {
      subject: leaf.subject,
      problem: null,
      trustedUntil: Math.min(trusted.notAfter.getTime(), ...nextUpdates),
      ocsp,
    };
  } catch (error) {
    if (!(error instanceof x509.X509Error)) throw error;
    return {
      subject: leaf.subject,
      problem: { kind: error.kind, detail: error.message },
      trustedUntil: null,
      ocsp,
    };
  }
}

/**
 * The key, certificate and CRL files of a policy's `key` and `certificate` signers: whoever can
 * write one decides what those signers' signatures are worth.
 */
export function dsseSignerFiles(policy: Policy): string[] {
  return [
    ...new Set(policy.signers.flatMap(({ key, certificate }) => [
      ...(key === undefined ? [] : [key]),
      ...(certificate === undefined ? [] : [
        certificate.file,
        certificate.roots,
        ...(certificate.intermediates === undefined ? [] : [certificate.intermediates]),
        ...certificate.crls,
      ]),
    ])),
  ];
}

/** Whether a declared signer's trust has ended (after its `expires` day, UTC). */
function expired(signer: Signer, now: Date): boolean {
  return signer.expires !== undefined &&
    now.getTime() > Date.parse(`${signer.expires}T23:59:59.999Z`);
}

/** How a refused certificate counts: expiry and revocation as for keys, OCSP as unavailable. */
const CERTIFICATE_AUTHENTICITY: Partial<Record<X509ErrorKind, PolicyAuthenticity>> = {
  expired: "expired",
  revoked: "revoked",
  "ocsp-unreachable": "key-unavailable",
};

/**
 * The policy's verdict on a DSSE signature (`check` from `analyzeSignatures` with the keys of
 * `signers`): trusted when a declared signer's key verifies it, that signer's trust holds now
 * and the image matches it. A signature that names a declared signer's key ID but does not
 * verify is a `bad-signature`; one by any other key is reported (`unknown-key`) and ignored.
 */
export function dsseVerdict(
  check: SignatureCheck,
  signers: readonly DsseSignerKey[],
  now: Date,
): SignatureVerdict {
  const [authenticity, reason, by, keyId] = dsseAuthenticity(check, signers, now);
  const integrity = check.integrity;
  const trusted = authenticity === "ok" && integrity === "ok";
  const certificate = by?.certificate;
  return {
    id: check.id,
    type: "dsse",
    group: "group" in check.target ? check.target.group : null,
    object: "object" in check.target ? check.target.object : null,
    objects: [...check.signedIds ?? []].sort((a, b) => a - b),
    signer: certificate?.subject ?? keyId,
    signerName: by?.signer.name ?? null,
    keySource: by === undefined ? null : certificate !== undefined ? "certificate" : "key",
    integrity,
    authenticity,
    trusted,
    because: trusted
      ? { kind: "trusted", signer: by!.signer.name }
      : authenticity !== "ok"
      ? reason!
      : integrity === "mismatch"
      ? { kind: "mismatch" }
      : { kind: "integrity-not-checked" },
    ...(certificate === undefined ? {} : { certificate: certificateVerdict(certificate) }),
  };
}

function certificateVerdict(status: CertificateStatus): CertificateVerdict {
  return {
    subject: status.subject,
    trustedUntil: status.trustedUntil === null ? null : new Date(status.trustedUntil).toISOString(),
    ocsp: status.ocsp,
  };
}

/** Who made a DSSE signature, and the policy's word on it. */
function dsseAuthenticity(
  check: SignatureCheck,
  signers: readonly DsseSignerKey[],
  now: Date,
): [PolicyAuthenticity, VerdictReason | null, DsseSignerKey | undefined, string | null] {
  const claimed = envelopeKeyIds(check.signature.data);
  if (check.authenticity === "no-key-material") {
    return ["not-checked", { kind: "dsse" }, undefined, claimed[0] ?? null];
  }
  if (check.authenticity !== "ok") {
    const named = signers.find((s) => claimed.includes(s.keyId));
    if (named !== undefined) {
      const detail = check.authenticityError ?? null;
      return ["bad-signature", { kind: "invalid", detail }, named, named.keyId];
    }
    if (check.authenticity === "bad-signature") {
      return ["unknown-key", { kind: "unknown-key" }, undefined, claimed[0] ?? null];
    }
    return [
      "not-checked",
      { kind: "unrecognized", detail: check.authenticityError ?? null },
      undefined,
      null,
    ];
  }
  const verified = check.dsseKeyIds ?? [];
  const by = signers.find((s) => verified.includes(s.keyId));
  if (by === undefined) {
    return ["unknown-key", { kind: "unknown-key" }, undefined, verified[0] ?? null];
  }
  const problem = by.certificate?.problem;
  if (problem != null) {
    return [
      CERTIFICATE_AUTHENTICITY[problem.kind] ?? "untrusted-signer",
      {
        kind: "certificate-refused",
        signer: by.signer.name,
        problem: problem.kind,
        detail: problem.detail,
      },
      by,
      by.keyId,
    ];
  }
  if (expired(by.signer, now)) {
    return [
      "untrusted-signer",
      { kind: "signer-expired", signer: by.signer.name, expires: by.signer.expires! },
      by,
      by.keyId,
    ];
  }
  return ["ok", null, by, by.keyId];
}

/** The hint for a DSSE signature whose signer's OCSP responder could not be asked. */
export function dsseUnavailableHint(verdict: SignatureVerdict): Hint {
  const reason = verdict.because;
  return {
    kind: "ocsp-unreachable",
    signer: verdict.signerName ?? "",
    detail: reason.kind === "certificate-refused" ? reason.detail : "",
  };
}
