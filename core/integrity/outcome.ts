/**
 * The verdict Apptainer reaches, derived from the signature checks: tasks in order, every
 * signature of a task in descriptor order, and the first failure ends it all. Each
 * signature examined yields an event (what Apptainer's callback prints).
 *
 * @module
 */

import { DataType, type Descriptor, type SifImage } from "../sif/mod.ts";
import type { SignatureCheck } from "./analyze.ts";
import type { VerifyTask } from "./tasks.ts";

/** One signature examined: the objects it verified, and its failure if any. */
export interface VerifyEvent {
  check: SignatureCheck;
  verified: Descriptor[];
  /** The failure, without the `integrity: ` prefix. */
  error?: string;
}

/** The verdict. */
export interface VerifyOutcome {
  events: VerifyEvent[];
  /** The failure (`integrity: …`), or undefined when the image verified. */
  error?: string;
}

/** Runs the tasks over the checks, as the reference's `Verifier.Verify` does. */
export function apptainerOutcome(
  image: SifImage,
  tasks: VerifyTask[],
  checks: SignatureCheck[],
): VerifyOutcome {
  const events: VerifyEvent[] = [];
  const fail = (error: string): VerifyOutcome => ({ events, error: `integrity: ${error}` });
  const ungrouped = image.descriptors.some((d) =>
    d.groupId === 0 && d.dataType !== DataType.Signature
  );
  if (ungrouped) return fail("non-signature object not associated with object group");
  for (const task of tasks) {
    const signatures = taskSignatures(task, checks);
    if (typeof signatures === "string") return fail(signatures);
    for (const check of signatures) {
      const event = task.kind === "object"
        ? legacyObjectEvent(check, task.object)
        : groupEvent(check, task);
      events.push(event);
      if (event.error !== undefined) return fail(event.error);
    }
  }
  return { events };
}

/** The signatures a task examines, or why there are none. */
export function taskSignatures(
  task: VerifyTask,
  checks: SignatureCheck[],
): SignatureCheck[] | string {
  if (task.kind === "object") {
    const found = checks.filter((c) => "object" in c.target && c.target.object === task.object.id);
    return found.length > 0 ? found : `signature not found for object ${task.object.id}`;
  }
  if (task.group === 0) return "invalid group ID";
  const found = checks.filter((c) =>
    "group" in c.target && c.target.group === task.group && c.legacy === task.legacy
  );
  return found.length > 0 ? found : `signature not found for object group ${task.group}`;
}

function notValid(check: SignatureCheck): string | undefined {
  if (check.authenticity === "no-key-material" || check.authenticity === "unrecognized") {
    return check.authenticityError;
  }
  if (check.authenticity !== "ok") {
    return `signature object ${check.id} not valid: ${check.authenticityError}`;
  }
  return undefined;
}

const FINGERPRINT_MISMATCH = "fingerprint in descriptor does not correspond to signing entity";

function groupEvent(
  check: SignatureCheck,
  task: Extract<VerifyTask, { kind: "group" }>,
): VerifyEvent {
  const verified: Descriptor[] = [];
  const event = (error?: string): VerifyEvent => ({ check, verified, error });
  if (task.legacy) return legacyGroupEvent(check, task);
  if (check.signature.hashType < 1 || check.signature.hashType > 5) {
    return event("hash algorithm unsupported");
  }
  const invalid = notValid(check);
  if (invalid !== undefined) return event(invalid);
  if (check.contentError !== undefined) {
    const isJson = check.metadata === undefined &&
      check.contentError.startsWith("invalid metadata JSON");
    return event(
      isJson ? `signature object ${check.id} not valid: ${check.contentError}` : check.contentError,
    );
  }
  if (check.fingerprintMatches === false) return event(FINGERPRINT_MISMATCH);
  const signed = new Set(check.signedIds);
  if (!task.subset) {
    const unsigned = task.objects.find((d) => !signed.has(d.id));
    if (unsigned !== undefined) return event(`object ${unsigned.id}: object not signed`);
    const members = new Set(task.objects.map((d) => d.id));
    const notFound = [...signed].sort((a, b) => a - b).find((id) => !members.has(id));
    if (notFound !== undefined) return event(`object ${notFound}: signed object not found`);
  }
  if (!check.headerOk) return event("header integrity compromised");
  for (const d of task.objects) {
    const result = check.objects.find((o) => o.descriptor.id === d.id);
    if (result === undefined) return event(`object ${d.id}: object not signed`);
    if (!result.descriptorOk) return event(`data object descriptor integrity compromised: ${d.id}`);
    if (!result.objectOk) return event(`data object integrity compromised: ${d.id}`);
    verified.push(d);
  }
  return event();
}

function legacyChecks(check: SignatureCheck): string | undefined {
  const invalid = notValid(check);
  if (invalid !== undefined) {
    return check.authenticity === "unrecognized"
      ? `signature object ${check.id} not valid: ${invalid}`
      : invalid;
  }
  if (check.signature.hashType < 1 || check.signature.hashType > 5) {
    return "hash algorithm unsupported";
  }
  if (check.fingerprintMatches === false) return FINGERPRINT_MISMATCH;
  return check.contentError;
}

function legacyGroupEvent(
  check: SignatureCheck,
  task: Extract<VerifyTask, { kind: "group" }>,
): VerifyEvent {
  const error = legacyChecks(check) ??
    (check.legacyOk ? undefined : "data object integrity compromised");
  return { check, verified: error === undefined ? task.objects : [], error };
}

function legacyObjectEvent(check: SignatureCheck, object: Descriptor): VerifyEvent {
  const error = legacyChecks(check) ??
    (check.legacyOk ? undefined : `data object integrity compromised: ${object.id}`);
  return { check, verified: error === undefined ? [object] : [], error };
}
