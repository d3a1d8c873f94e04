/**
 * The verdict Apptainer reaches, derived from the signature checks: tasks in order, every
 * signature of a task in descriptor order, and the first failure ends it all. Each
 * signature examined yields an event (what Apptainer's callback prints).
 *
 * @module
 */

import { DataType, type Descriptor, type SifImage } from "../sif/mod.ts";
import type { Authenticity, ContentErrorKind, SignatureCheck } from "./analyze.ts";
import type { TaskErrorKind, VerifyTask } from "./tasks.ts";

/** What went wrong, for callers to branch on (the words are in `VerifyOutcome.error`). */
export type VerifyFailureKind =
  /** The request does not fit the image (see {@linkcode TaskErrorKind}). */
  | TaskErrorKind
  /** A non-signature object is in no object group. */
  | "ungrouped"
  /** A task found no signature (an unsigned image, group or object). */
  | "signature-not-found"
  /** The signature descriptor names a hash algorithm that is not supported. */
  | "unsupported-hash"
  /** The signature object is in no format the reference knows. */
  | "unrecognized-signature"
  /** No key material of the signature's kind was given (PGP keyrings, or a DSSE `--key`). */
  | "no-key-material"
  /** The signer's key is in none of the key sources. */
  | "key-unavailable"
  /** The signature does not verify with the signer's key. */
  | "bad-signature"
  /** The signer's key has expired. */
  | "key-expired"
  /** The signer's key is revoked. */
  | "key-revoked"
  /** The signed content cannot be read (metadata JSON, a digest, a DSSE payload). */
  | "invalid-metadata"
  /** The signature is linked to group 0 or to a group without objects. */
  | "invalid-group"
  /** The descriptor's fingerprint is not the signer's. */
  | "fingerprint-mismatch"
  /** An object of the group is not in the signed metadata. */
  | "object-not-signed"
  /** The signed metadata names an object the group does not have. */
  | "signed-object-not-found"
  /** The global header changed since signing. */
  | "header-mismatch"
  /** A descriptor changed since signing. */
  | "descriptor-mismatch"
  /** An object's data changed since signing. */
  | "object-mismatch";

/** A failure, structured: its kind and what it concerns. */
export interface VerifyFailure {
  /** What went wrong. */
  kind: VerifyFailureKind;
  /** The object group concerned. */
  group?: number;
  /** The object concerned (a data object, not a signature). */
  object?: number;
  /** The signature object that failed, when one did. */
  signature?: number;
  /** That signature descriptor's fingerprint (40 upper-case hex digits), when it has one. */
  fingerprint?: string;
}

/** One signature examined: the objects it verified, and its failure if any. */
export interface VerifyEvent {
  /** The signature examined. */
  check: SignatureCheck;
  /** The objects it verified (none when it failed). */
  verified: Descriptor[];
  /** The failure, without the `integrity: ` prefix. */
  error?: string;
  /** The failure, structured (set exactly when `error` is). */
  failure?: VerifyFailure;
}

/** The verdict. */
export interface VerifyOutcome {
  /** The signatures examined, in order, up to the first failure. */
  events: VerifyEvent[];
  /** The failure (`integrity: …`), or undefined when the image verified. */
  error?: string;
  /** The failure, structured (set exactly when `error` is). */
  failure?: VerifyFailure;
}

/** A task that cannot run: no signature to examine, or an invalid group. */
export interface TaskFailure {
  /** The failure, structured. */
  failure: VerifyFailure;
  /** The reference's words, without `integrity: `. */
  message: string;
}

/** Runs the tasks over the checks, as the reference's `Verifier.Verify` does. */
export function apptainerOutcome(
  image: SifImage,
  tasks: VerifyTask[],
  checks: SignatureCheck[],
): VerifyOutcome {
  const events: VerifyEvent[] = [];
  const fail = (message: string, failure: VerifyFailure): VerifyOutcome => ({
    events,
    error: `integrity: ${message}`,
    failure,
  });
  const ungrouped = image.descriptors.find((d) =>
    d.groupId === 0 && d.dataType !== DataType.Signature
  );
  if (ungrouped !== undefined) {
    return fail("non-signature object not associated with object group", {
      kind: "ungrouped",
      object: ungrouped.id,
    });
  }
  for (const task of tasks) {
    const signatures = taskSignatures(task, checks);
    if (!Array.isArray(signatures)) return fail(signatures.message, signatures.failure);
    for (const check of signatures) {
      const event = task.kind === "object"
        ? legacyObjectEvent(check, task.object)
        : groupEvent(check, task);
      events.push(event);
      if (event.error !== undefined) return fail(event.error, event.failure!);
    }
  }
  return { events };
}

/** The signatures a task examines, or why there are none. */
export function taskSignatures(
  task: VerifyTask,
  checks: SignatureCheck[],
): SignatureCheck[] | TaskFailure {
  if (task.kind === "object") {
    const found = checks.filter((c) => "object" in c.target && c.target.object === task.object.id);
    if (found.length > 0) return found;
    return {
      failure: { kind: "signature-not-found", object: task.object.id },
      message: `signature not found for object ${task.object.id}`,
    };
  }
  if (task.group === 0) {
    return { failure: { kind: "invalid-group-id", group: 0 }, message: "invalid group ID" };
  }
  const found = checks.filter((c) =>
    "group" in c.target && c.target.group === task.group && c.legacy === task.legacy
  );
  if (found.length > 0) return found;
  return {
    failure: { kind: "signature-not-found", group: task.group },
    message: `signature not found for object group ${task.group}`,
  };
}

/** A failure of one signature: its kind, the reference's words, and the object concerned. */
interface Problem {
  kind: VerifyFailureKind;
  message: string;
  object?: number;
}

const AUTHENTICITY_FAILURES: Record<Exclude<Authenticity, "ok">, VerifyFailureKind> = {
  "unknown-key": "key-unavailable",
  "bad-signature": "bad-signature",
  expired: "key-expired",
  revoked: "key-revoked",
  "no-key-material": "no-key-material",
  unrecognized: "unrecognized-signature",
};

const CONTENT_FAILURES: Record<ContentErrorKind, VerifyFailureKind> = {
  "metadata-json": "invalid-metadata",
  digest: "invalid-metadata",
  envelope: "invalid-metadata",
  group: "invalid-group",
  "unsupported-hash": "unsupported-hash",
};

/** The event of a signature: verified objects, or the failure (with the signature's identity). */
function eventOf(check: SignatureCheck, verified: Descriptor[], problem?: Problem): VerifyEvent {
  if (problem === undefined) return { check, verified };
  const { kind, message, object } = problem;
  const target = check.target;
  const failure: VerifyFailure = {
    kind,
    ...("group" in target ? { group: target.group } : { object: target.object }),
    ...(object === undefined ? {} : { object }),
    signature: check.id,
    ...(check.signature.fingerprint === undefined
      ? {}
      : { fingerprint: check.signature.fingerprint }),
  };
  return { check, verified, error: message, failure };
}

function notValid(check: SignatureCheck): Problem | undefined {
  if (check.authenticity === "ok") return undefined;
  const kind = AUTHENTICITY_FAILURES[check.authenticity];
  const cause = check.authenticityError ?? "";
  if (check.authenticity === "no-key-material" || check.authenticity === "unrecognized") {
    return { kind, message: cause };
  }
  return { kind, message: `signature object ${check.id} not valid: ${cause}` };
}

function contentProblem(check: SignatureCheck): Problem | undefined {
  if (check.contentError === undefined) return undefined;
  return { kind: CONTENT_FAILURES[check.contentErrorKind!], message: check.contentError };
}

const UNSUPPORTED_HASH: Problem = {
  kind: "unsupported-hash",
  message: "hash algorithm unsupported",
};

const FINGERPRINT_MISMATCH: Problem = {
  kind: "fingerprint-mismatch",
  message: "fingerprint in descriptor does not correspond to signing entity",
};

function hashTypeSupported(check: SignatureCheck): boolean {
  return check.signature.hashType >= 1 && check.signature.hashType <= 5;
}

function groupEvent(
  check: SignatureCheck,
  task: Extract<VerifyTask, { kind: "group" }>,
): VerifyEvent {
  if (task.legacy) return legacyGroupEvent(check, task);
  const verified: Descriptor[] = [];
  const problem = groupProblem(check, task, verified);
  return eventOf(check, verified, problem);
}

/** The first problem of a current signature; fills `verified` with the objects it verified. */
function groupProblem(
  check: SignatureCheck,
  task: Extract<VerifyTask, { kind: "group" }>,
  verified: Descriptor[],
): Problem | undefined {
  if (!hashTypeSupported(check)) return UNSUPPORTED_HASH;
  const invalid = notValid(check);
  if (invalid !== undefined) return invalid;
  const content = contentProblem(check);
  if (content !== undefined) {
    const isJson = check.metadata === undefined && check.contentErrorKind === "metadata-json";
    return isJson
      ? { ...content, message: `signature object ${check.id} not valid: ${content.message}` }
      : content;
  }
  if (check.fingerprintMatches === false) return FINGERPRINT_MISMATCH;
  const signed = new Set(check.signedIds);
  if (!task.subset) {
    const unsigned = task.objects.find((d) => !signed.has(d.id));
    if (unsigned !== undefined) return notSigned(unsigned.id);
    const members = new Set(task.objects.map((d) => d.id));
    const notFound = [...signed].sort((a, b) => a - b).find((id) => !members.has(id));
    if (notFound !== undefined) {
      return {
        kind: "signed-object-not-found",
        message: `object ${notFound}: signed object not found`,
        object: notFound,
      };
    }
  }
  if (!check.headerOk) return { kind: "header-mismatch", message: "header integrity compromised" };
  for (const d of task.objects) {
    const result = check.objects.find((o) => o.descriptor.id === d.id);
    if (result === undefined) return notSigned(d.id);
    if (!result.descriptorOk) {
      return {
        kind: "descriptor-mismatch",
        message: `data object descriptor integrity compromised: ${d.id}`,
        object: d.id,
      };
    }
    if (!result.objectOk) return objectMismatch(d.id);
    verified.push(d);
  }
  return undefined;
}

function notSigned(id: number): Problem {
  return { kind: "object-not-signed", message: `object ${id}: object not signed`, object: id };
}

function objectMismatch(id?: number): Problem {
  return {
    kind: "object-mismatch",
    message: id === undefined
      ? "data object integrity compromised"
      : `data object integrity compromised: ${id}`,
    object: id,
  };
}

function legacyChecks(check: SignatureCheck): Problem | undefined {
  const invalid = notValid(check);
  if (invalid !== undefined) {
    return check.authenticity === "unrecognized"
      ? { ...invalid, message: `signature object ${check.id} not valid: ${invalid.message}` }
      : invalid;
  }
  if (!hashTypeSupported(check)) return UNSUPPORTED_HASH;
  if (check.fingerprintMatches === false) return FINGERPRINT_MISMATCH;
  return contentProblem(check);
}

function legacyGroupEvent(
  check: SignatureCheck,
  task: Extract<VerifyTask, { kind: "group" }>,
): VerifyEvent {
  const problem = legacyChecks(check) ?? (check.legacyOk ? undefined : objectMismatch());
  return eventOf(check, problem === undefined ? task.objects : [], problem);
}

function legacyObjectEvent(check: SignatureCheck, object: Descriptor): VerifyEvent {
  const problem = legacyChecks(check) ??
    (check.legacyOk ? undefined : objectMismatch(object.id));
  return eventOf(check, problem === undefined ? [object] : [], problem);
}
