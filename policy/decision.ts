/**
 * What the policy decides about one image, as data: the decision, the mode it was made in, and
 * structured reasons and hints. The policy words nothing and picks no exit code; the command
 * line does both (cli/exit.ts, cli/render/check_text.ts).
 *
 * @module
 */

import type { SifErrorKind } from "../core/sif/mod.ts";
import type { X509ErrorKind } from "../core/x509/mod.ts";
import type { SignedBy } from "./model.ts";

/** The policy's word on a signature's authenticity. */
export type PolicyAuthenticity =
  | "ok"
  | "bad-signature"
  | "unknown-key"
  | "key-unavailable"
  | "expired"
  | "revoked"
  | "untrusted-signer"
  | "not-checked";

/** What the policy makes of one signature. */
export interface SignatureVerdict {
  /** The signature object's ID. */
  id: number;
  /** Its format. */
  type: "pgp" | "dsse" | "legacy" | "unknown";
  /** The group it signs, if it signs a group. */
  group: number | null;
  /** The object it signs, if it signs one object (legacy signatures). */
  object: number | null;
  /** The objects it covers. */
  objects: number[];
  /**
   * Who signed: OpenPGP, the signer's primary fingerprint (the descriptor's when the key was not
   * found); DSSE, the certificate's subject for a certificate signer, else the key ID
   * (`SHA256:…`) that verified it or that the envelope names.
   */
  signer: string | null;
  /** The declared signer of that fingerprint. */
  signerName: string | null;
  /**
   * Where the key was found (`global`, `local`, `file`, `remote`; DSSE: `key` or
   * `certificate`), or null.
   */
  keySource: string | null;
  /** Whether the image still matches what was signed. */
  integrity: "ok" | "mismatch" | "not-checked";
  /** The verdict on who signed. */
  authenticity: PolicyAuthenticity;
  /** Whether this signature counts. */
  trusted: boolean;
  /** Why it is or is not trusted. */
  because: VerdictReason;
  /** The X.509 certificate of the DSSE signer whose key verified it, if any. */
  certificate?: CertificateVerdict;
}

/** What a DSSE signature's certificate signer was found to be, once per run. */
export interface CertificateVerdict {
  /** The leaf's subject. */
  subject: string;
  /**
   * When trust in the chain ends (ISO 8601): its earliest notAfter, or an earlier CRL
   * nextUpdate; null when the chain is not trusted.
   */
  trustedUntil: string | null;
  /** Whether an OCSP responder was asked (the answer depended on the network). */
  ocsp: boolean;
}

/** Why a signature is or is not trusted. */
export type VerdictReason =
  /** Made by this declared signer, and it matches the image. */
  | { kind: "trusted"; signer: string }
  /** Made by a trusted signer, but the image changed since. */
  | { kind: "mismatch" }
  /** A DSSE signature, and the policy declares no `key` or `certificate` signer. */
  | { kind: "dsse" }
  /**
   * Made with the key of a declared certificate signer whose certificate is not trusted now
   * (`problem`: why; `detail`: the verifier's words).
   */
  | { kind: "certificate-refused"; signer: string; problem: X509ErrorKind; detail: string }
  | { kind: "unknown-format" }
  /** A legacy signature under `legacy: false`. */
  | { kind: "legacy-ignored" }
  /** An undeclared signer's key that could not be found. */
  | { kind: "unknown-key" }
  /** A declared signer's key that could not be obtained. */
  | { kind: "key-unavailable"; signer: string }
  /** The signature does not verify; `detail` is the verifier's word. */
  | { kind: "invalid"; detail: string | null }
  /** It verifies, but with a key whose fingerprint is not the one its descriptor names. */
  | { kind: "fingerprint-mismatch" }
  /**
   * Its descriptor names this declared signer, whose key is at hand, but another key made it:
   * a claimed fingerprint is not a key.
   */
  | { kind: "claimed-fingerprint"; signer: string }
  /** Made with an expired or a revoked key (of this declared signer, if any). */
  | { kind: "key-expired" | "key-revoked"; signer: string | null }
  /** No key material or not a recognized signature; `detail` is the verifier's word. */
  | { kind: "no-key-material" | "unrecognized"; detail: string | null }
  /** Valid, but by a signer the policy does not declare. */
  | { kind: "undeclared-signer"; fingerprint: string }
  /** Valid, but by a declared signer whose `expires` day has passed. */
  | { kind: "signer-expired"; signer: string; expires: string }
  /** Valid and by a trusted signer, but its digests could not be compared with the image. */
  | { kind: "integrity-not-checked" };

/** Why an image could not be decided: a `SifError` kind, or `not-found` (no such path). */
export type ImageErrorKind = SifErrorKind | "not-found";

/** Which part of an image no longer matches what a signature signed. */
export type MismatchPart =
  /** The data a legacy signature signs. */
  | { kind: "legacy-data" }
  /** The header (launch script or image ID). */
  | { kind: "header" }
  /** An object's data or its descriptor's metadata. */
  | { kind: "object-data" | "object-metadata"; object: number }
  /** An object that the signature signed is no longer in the image. */
  | { kind: "object-gone"; object: number }
  | { kind: "unknown" };

/** Why a requirement held or failed, or why an image was decided as it was. */
export type Reason =
  /** A rule with an `action` decided without looking at signatures. */
  | { kind: "rule-action"; rule: string; action: "allow" | "deny"; paths: string[] }
  /** A signature's digests differ from the image: it changed after it was signed. */
  | {
    kind: "digest-mismatch";
    signature: number;
    /** The declared signer who made it, if any. */
    signerName: string | null;
    part: MismatchPart;
  }
  /** A required group is not in the image. */
  | { kind: "group-absent"; group: number }
  /**
   * The trusted signers of a group, against what it needs. `everyGroup`: the group is checked
   * because `unsigned-objects: deny` covers every group, not because the rule names it.
   */
  | {
    kind: "group-signers";
    group: number;
    signers: string[];
    needs: SignedBy;
    everyGroup: boolean;
  }
  /** An object in no group, which no signature can cover. */
  | { kind: "ungrouped-object"; object: number }
  /** The image has no object group at all, so nothing in it can be signed. */
  | { kind: "no-groups" }
  /** A signature-typed object inside a group, which no trusted signature of the group covers. */
  | { kind: "grouped-signature-object"; object: number; group: number }
  /**
   * A signature of a checked group that fails with a key at hand (not valid, another key
   * than its descriptor names, an expired or revoked key, unreadable content, an unknown
   * format): the reference refuses such an image, so the policy does too.
   */
  | {
    kind: "signature-fails";
    signature: number;
    /** The declared signer it names or was made by, if any. */
    signerName: string | null;
    because: VerdictReason;
  }
  /** The image could not be read. `message` is the reader's (none for `not-found`). */
  | { kind: "bad-image"; error: ImageErrorKind; message: string | null };

/** What a requirement is about. */
export type RequirementSubject =
  /** A group signed as `signed-by` says. */
  | { kind: "group-signed"; group: number; needs: SignedBy }
  /** A signature matches the image. */
  | { kind: "signature-matches"; signature: number }
  /** An object is signed. */
  | { kind: "object-signed"; object: number }
  /** The image has at least one object group. */
  | { kind: "has-groups" }
  /** A signature of a checked group verifies (or is by a key nobody has). */
  | { kind: "signature-verifies"; signature: number };

/** One requirement and whether it held. */
export interface RequirementResult {
  /** What was required. */
  subject: RequirementSubject;
  /** Whether it held. */
  pass: boolean;
  /** Why it held or failed. */
  reason: Reason;
}

/** A step that would turn a deny into an allow. */
export type Hint =
  /** The image changed after it was signed: an unmodified copy, or a new signature. */
  | { kind: "changed-after-signing" }
  /** A listed group the image lacks: the rule's `groups` may be wrong. */
  | { kind: "group-absent"; group: number }
  /** A trusted signature covers only some of a group's objects: sign the whole group. */
  | {
    kind: "partial-group-signature";
    signature: number;
    group: number;
    signed: number[];
    objects: number[];
  }
  /** A valid signature by a signer the policy does not trust (now): declare it, if trusted. */
  | { kind: "untrusted-signer"; signature: number }
  /** A group lacks signatures by these signers. */
  | { kind: "unsigned-group"; group: number; needs: SignedBy; missing: string[] }
  /** Legacy signatures that the requirement ignores. */
  | { kind: "legacy-ignored" }
  /** DSSE signatures, and the policy declares no `key` or `certificate` signer. */
  | { kind: "dsse-ignored" }
  /** A certificate signer's OCSP responder could not be asked: try again when it answers. */
  | { kind: "ocsp-unreachable"; signer: string; detail: string }
  /** A declared signer's public key could not be obtained. */
  | { kind: "key-unavailable"; signer: string; fingerprint: string };

/** The decision about one image. */
export interface ImageDecision {
  /** The image's absolute, symlink-resolved path (as given, when it could not be resolved). */
  image: string;
  /** `error`: the image could not be read. */
  decision: "allow" | "deny" | "error";
  /** The policy's mode: in `warn` mode a deny is reported but not enforced. */
  mode: "enforce" | "warn";
  /**
   * Whether a declared signer signed the image but its key could not be obtained: a deny
   * may then turn into an allow once the key is had.
   */
  keyUnavailable: boolean;
  /** The rule that applied (`default` for the top-level requirement, `none` on an error). */
  rule: string;
  /** Why: on a deny, each failed requirement; the rule's verdict; the error. */
  reasons: Reason[];
  /** One verdict per signature object (none for an action rule or an error). */
  signatures: SignatureVerdict[];
  /** Each requirement checked, passed or not. */
  requirements: RequirementResult[];
  /** What would turn a deny into an allow, where something can. */
  hints: Hint[];
}
