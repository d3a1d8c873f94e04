/**
 * The words for the policy's structured decisions (policy/decision.ts): reasons, requirements,
 * hints (with the command that would help), signature verdicts and cache problems. Every
 * report of `check` and `exec` (cli/render/check_text.ts) words them through here.
 *
 * @module
 */

import type {
  CacheProblem,
  Hint,
  ImageDecision,
  MismatchPart,
  Reason,
  RequirementSubject,
  SignedBy,
  VerdictReason,
} from "../../policy/mod.ts";

/** A `signed-by` expression as a person reads it: `any of alice, bob`, `2 of …`. */
export function signedByText(expression: SignedBy): string {
  const list = expression.names.join(", ");
  if (expression.kind === "any-of") return `any of ${list}`;
  if (expression.kind === "all-of") return `all of ${list}`;
  return `${expression.threshold} of ${list}`;
}

function mismatchText(part: MismatchPart, signature: number): string {
  const subject = `signature ${signature}`;
  switch (part.kind) {
    case "legacy-data":
      return `the data that ${subject} signs differs`;
    case "header":
      return `the image header (launch script or ID) differs from what ${subject} signed`;
    case "object-data":
    case "object-metadata": {
      const what = part.kind === "object-data" ? "data" : "metadata";
      return `the ${what} of object ${part.object} differs from what ${subject} signed`;
    }
    case "object-gone":
      return `object ${part.object}, which ${subject} signed, is gone`;
    case "unknown":
      return `${subject} does not match`;
  }
}

/** A reason in words. `image` is the path the decision is about. */
export function reasonText(reason: Reason, image: string): string {
  switch (reason.kind) {
    case "rule-action":
      return `rule ${reason.rule} ${reason.action === "allow" ? "allows" : "denies"} ${
        reason.paths.join(", ")
      } without looking at signatures`;
    case "digest-mismatch":
      return `${
        mismatchText(reason.part, reason.signature)
      }: the image changed after it was signed${
        reason.signerName ? ` by ${reason.signerName}` : ""
      }`;
    case "group-absent":
      return `group ${reason.group} is required, but the image has no group ${reason.group}`;
    case "group-signers": {
      const by = reason.signers.length === 0
        ? "no trusted signature covers it"
        : `trusted signatures by ${reason.signers.join(", ")}`;
      const every = reason.everyGroup ? " (unsigned-objects: deny covers every group)" : "";
      return `group ${reason.group}: ${by}; it needs ${signedByText(reason.needs)}${every}`;
    }
    case "ungrouped-object":
      return `object ${reason.object} is in no group, so no signature covers it (unsigned-objects: deny)`;
    case "no-groups":
      return "the image has no object groups, so nothing in it is signed";
    case "grouped-signature-object":
      return `object ${reason.object} is a signature inside group ${reason.group}, and no trusted signature of the group covers it`;
    case "signature-fails":
      return `signature ${reason.signature}${
        reason.signerName ? ` (${reason.signerName})` : ""
      } fails: ${verdictText(reason.because)}`;
    case "bad-image":
      return reason.message ?? `${image}: no such file`;
  }
}

/** What a requirement asks, in words. */
export function requirementText(subject: RequirementSubject): string {
  switch (subject.kind) {
    case "group-signed":
      return `group ${subject.group} signed by ${signedByText(subject.needs)}`;
    case "signature-matches":
      return `signature ${subject.signature} matches the image`;
    case "object-signed":
      return `object ${subject.object} is signed`;
    case "has-groups":
      return "the image has an object group";
    case "signature-verifies":
      return `signature ${subject.signature} verifies`;
  }
}

/** A hint in words, with the command that would help. `decision` holds the signatures named. */
export function hintText(hint: Hint, decision: ImageDecision): string {
  switch (hint.kind) {
    case "changed-after-signing":
      return "get an unmodified copy of the image, or have it signed again after the change";
    case "group-absent":
      return `the image has no group ${hint.group}: check the rule's groups list`;
    case "partial-group-signature":
      return `signature ${hint.signature} covers objects ${
        hint.signed.join(", ")
      } of group ${hint.group}, not all of ${
        hint.objects.join(", ")
      }: sign the whole group with \`siftrust sign --group-id ${hint.group} IMAGE\``;
    case "untrusted-signer": {
      const verdict = decision.signatures.find((s) => s.id === hint.signature);
      const why = verdict === undefined ? "" : verdictText(verdict.because);
      if (verdict?.because.kind === "certificate-refused") {
        return `signature ${hint.signature}: ${why}; renew the certificate, or fix its roots, intermediates or crls in the policy`;
      }
      return `signature ${hint.signature}: ${why}; declare that signer (or extend its expires) if you trust it`;
    }
    case "unsigned-group": {
      const who = hint.needs.kind === "all-of"
        ? hint.missing.join(" and ")
        : `one of ${hint.missing.join(", ")}`;
      return `group ${hint.group} needs a signature by ${who}: \`siftrust sign --group-id ${hint.group} IMAGE\` with that signer's key`;
    }
    case "legacy-ignored":
      return "the image has legacy (pre-3.6) signatures, which this requirement ignores: re-sign it with a current tool, or set legacy: true";
    case "dsse-ignored":
      return "the image has DSSE signatures, and the policy declares no key or certificate signer: declare one, or sign with an OpenPGP key of a declared signer";
    case "ocsp-unreachable":
      return `the OCSP responder of ${hint.signer}'s certificate could not be asked (${hint.detail}): try again when it answers`;
    case "key-unavailable":
      return `get ${hint.signer}'s public key (fingerprint ${hint.fingerprint}): \`siftrust key pull ${hint.fingerprint}\`, or list a keyring file holding it under keys.files`;
  }
}

/** Why a signature is or is not trusted, in words. */
export function verdictText(reason: VerdictReason): string {
  switch (reason.kind) {
    case "trusted":
      return `trusted: made by ${reason.signer} and matches the image`;
    case "mismatch":
      return "does not match the image";
    case "dsse":
      return "a DSSE signature, and the policy declares no key or certificate signer";
    case "certificate-refused":
      return `made by ${reason.signer}, whose certificate is not trusted now: ${reason.detail}`;
    case "unknown-format":
      return "not a signature format siftrust knows";
    case "legacy-ignored":
      return "a legacy (pre-3.6) signature, ignored (legacy: false)";
    case "unknown-key":
      return "made by a key siftrust could not find, of a signer the policy does not declare";
    case "key-unavailable":
      return `made by ${reason.signer}, whose public key could not be obtained`;
    case "invalid":
      return `the signature is not valid: ${reason.detail}`;
    case "fingerprint-mismatch":
      return "the fingerprint in its descriptor is not the signer's";
    case "claimed-fingerprint":
      return `its descriptor names ${reason.signer}, but ${reason.signer}'s key did not make it`;
    case "key-expired":
    case "key-revoked": {
      const who = reason.signer ?? "a signer the policy does not declare";
      return `made by ${who}, whose key ${
        reason.kind === "key-expired" ? "has expired" : "is revoked"
      }`;
    }
    case "no-key-material":
      return reason.detail ?? "no key material";
    case "unrecognized":
      return reason.detail ?? "not a recognized signature";
    case "undeclared-signer":
      return `made by ${reason.fingerprint}, who is not a declared signer`;
    case "signer-expired":
      return `made by ${reason.signer}, trusted only until ${reason.expires}`;
    case "integrity-not-checked":
      return "its digests could not be compared with the image";
  }
}

/** The reasons of a decision, in words. */
export function reasonTexts(decision: ImageDecision): string[] {
  return decision.reasons.map((reason) => reasonText(reason, decision.image));
}

/** A cache problem in words (a warning: the check goes on without the cache). */
export function cacheProblemText(problem: CacheProblem): string {
  switch (problem.kind) {
    case "unreadable-entry":
      return `cannot read the cache entry ${problem.path}: ${problem.detail}`;
    case "corrupt-entry":
      return `ignoring a corrupt cache entry ${problem.path}`;
    case "unwritable":
      return `cannot write the cache in ${problem.path}: ${problem.detail}`;
  }
}
