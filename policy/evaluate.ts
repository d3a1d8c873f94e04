/**
 * Deciding one image under a policy (docs/policy.md, "How an image is decided"), from the
 * checks of all its signatures. Every step leaves a trace: a verdict per signature, a result
 * per requirement, and hints that would turn a deny into an allow, all as data
 * (policy/decision.ts).
 *
 * @module
 */

import type { Authenticity, SignatureCheck } from "../core/integrity/mod.ts";
import { DataType, type Descriptor, type SifImage } from "../core/sif/mod.ts";
import type {
  Hint,
  ImageDecision,
  MismatchPart,
  PolicyAuthenticity,
  RequirementResult,
  SignatureVerdict,
  VerdictReason,
} from "./decision.ts";
import { type DsseSignerKey, dsseUnavailableHint, dsseVerdict } from "./dsse_signers.ts";
import { matchesGlob } from "./glob.ts";
import type { Policy, Requirement, Rule, SignedBy, Signer } from "./model.ts";

/** The rule that applies to a path: the first whose pattern matches. */
export function matchingRule(policy: Policy, path: string): Rule | undefined {
  return policy.rules.find((rule) => rule.paths.some((pattern) => matchesGlob(path, pattern)));
}

/** Whether a declared signer's trust has ended (after its `expires` day, UTC). */
export function signerExpired(signer: Signer, now: Date): boolean {
  return signer.expires !== undefined &&
    now.getTime() > Date.parse(`${signer.expires}T23:59:59.999Z`);
}

/**
 * Decides an image. `path` is its absolute, symlink-resolved path; `checks` are the checks of
 * every signature object (see `analyzeSignatures`, given the keys of `dsseSigners`); `claimed`
 * holds the IDs of signatures whose key was not found although the key of the declared signer
 * their descriptor names is at hand (see `claimedKeysAtHand`): another key made them;
 * `dsseSigners` are the policy's `key` and `certificate` signers (`PolicyKeys.dsse.keys`).
 */
export function evaluateImage(
  policy: Policy,
  path: string,
  image: SifImage,
  checks: SignatureCheck[],
  now: Date = new Date(),
  claimed: ReadonlySet<number> = new Set(),
  dsseSigners: readonly DsseSignerKey[] = [],
): ImageDecision {
  const rule = matchingRule(policy, path);
  const ruleName = rule?.name ?? "default";
  if (rule?.action !== undefined) {
    return {
      image: path,
      decision: rule.action,
      mode: policy.mode,
      keyUnavailable: false,
      rule: ruleName,
      reasons: [{ kind: "rule-action", rule: rule.name, action: rule.action, paths: rule.paths }],
      signatures: [],
      requirements: [],
      hints: [],
    };
  }
  const requirement = rule?.require ?? policy.require;
  const verdicts = checks.map((check) =>
    check.signature.format === "dsse"
      ? dsseVerdict(check, dsseSigners, now)
      : signatureVerdict(policy, requirement, check, now, claimed.has(check.id))
  );
  const requirements: RequirementResult[] = [];
  const hints: Hint[] = [];

  // Integrity first, whoever signed: a mismatch means the image changed after signing.
  for (const [i, verdict] of verdicts.entries()) {
    const counts = !checks[i].legacy || requirement.legacy;
    if (counts && verdict.integrity === "mismatch") {
      requirements.push({
        subject: { kind: "signature-matches", signature: verdict.id },
        pass: false,
        reason: {
          kind: "digest-mismatch",
          signature: verdict.id,
          signerName: verdict.signerName,
          part: mismatchPart(checks[i]),
        },
      });
      hints.push({ kind: "changed-after-signing" });
    }
  }

  const members = groupMembers(image);
  const wanted = requirement.groups === "all"
    ? [...members.keys()].sort((a, b) => a - b)
    : requirement.groups;
  if (members.size === 0 && requirement.groups === "all") {
    // As the reference's verify ("no groups found"): nothing in the image is signed.
    requirements.push({
      subject: { kind: "has-groups" },
      pass: false,
      reason: { kind: "no-groups" },
    });
  }
  const checked = new Set(requirement.unsignedObjects === "deny" ? members.keys() : []);
  for (const group of wanted) if (members.has(group)) checked.add(group);
  requirements.push(...failingSignatures(requirement, image, checked, checks, verdicts));
  requirements.push(...uncoveredSignatureObjects(image, checked, checks, verdicts));
  const satisfied = new Map<number, boolean>();
  for (const group of wanted) {
    const result = groupResult(requirement, group, members.get(group), checks, verdicts, false);
    satisfied.set(group, result.pass);
    requirements.push(result);
    if (!result.pass) {
      hints.push(...groupHints(requirement, group, members.get(group), checks, verdicts));
    }
  }
  if (requirement.unsignedObjects === "deny") {
    for (const d of image.descriptors) {
      if (d.dataType === DataType.Signature && d.groupId === 0) continue;
      if (d.groupId === 0) {
        requirements.push({
          subject: { kind: "object-signed", object: d.id },
          pass: false,
          reason: { kind: "ungrouped-object", object: d.id },
        });
        continue;
      }
      if (!satisfied.has(d.groupId)) {
        const objects = members.get(d.groupId);
        const result = groupResult(requirement, d.groupId, objects, checks, verdicts, true);
        satisfied.set(d.groupId, result.pass);
        if (!result.pass) {
          requirements.push(result);
          hints.push(...groupHints(requirement, d.groupId, objects, checks, verdicts));
        }
      }
    }
  }

  const failed = requirements.filter((r) => !r.pass);
  const decision = failed.length === 0 ? "allow" : "deny";
  if (verdicts.some((v) => v.type === "legacy" && v.authenticity === "not-checked")) {
    hints.push({ kind: "legacy-ignored" });
  }
  if (verdicts.some((v) => v.type === "dsse" && v.because.kind === "dsse")) {
    hints.push({ kind: "dsse-ignored" });
  }
  const unavailable = verdicts.filter((v) => v.authenticity === "key-unavailable");
  for (const verdict of unavailable) {
    if (verdict.type === "dsse") {
      hints.push(dsseUnavailableHint(verdict));
      continue;
    }
    hints.push({
      kind: "key-unavailable",
      signer: verdict.signerName!,
      fingerprint: verdict.signer!,
    });
  }
  return {
    image: path,
    decision,
    mode: policy.mode,
    keyUnavailable: unavailable.length > 0,
    rule: ruleName,
    reasons: failed.map((r) => r.reason),
    signatures: verdicts,
    requirements,
    hints: decision === "deny" ? distinct(hints) : [],
  };
}

/** Hints without repeats, in order. */
function distinct(hints: Hint[]): Hint[] {
  const seen = new Set<string>();
  return hints.filter((hint) => {
    const key = JSON.stringify(hint);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The objects of each group. As in the reference, a signature-typed object inside a group is
 * one of its objects: a signature of the group must cover it too.
 */
function groupMembers(image: SifImage): Map<number, Descriptor[]> {
  const groups = new Map<number, Descriptor[]>();
  for (const d of image.descriptors) {
    if (d.groupId === 0) continue;
    groups.set(d.groupId, [...groups.get(d.groupId) ?? [], d]);
  }
  return groups;
}

/** The group a signature is about: its linked group, or the group of its linked object. */
function targetGroup(image: SifImage, check: SignatureCheck): number | undefined {
  if ("group" in check.target) return check.target.group;
  return image.descriptor(check.target.object)?.groupId;
}

/**
 * Whether a counted signature fails with a key at hand, as the reference's verify would refuse
 * it: not valid (or made by another key than its descriptor names), by an expired or revoked
 * key, with signed content that cannot be read, or in no format anyone can check. A signature
 * whose key nobody has, a valid one by an undeclared signer, and a DSSE signature do not
 * fail here (docs/policy.md, "How an image is decided"); a digest mismatch is its own reason.
 */
function failsWithKeyAtHand(check: SignatureCheck, verdict: SignatureVerdict): boolean {
  if (check.signature.format === "dsse") return false;
  if (verdict.because.kind === "legacy-ignored") return false;
  switch (verdict.authenticity) {
    case "bad-signature":
    case "expired":
    case "revoked":
      return true;
    case "ok":
    case "untrusted-signer":
      return check.contentError !== undefined;
    case "not-checked":
      return verdict.because.kind === "unknown-format" || verdict.because.kind === "unrecognized";
    default:
      return false;
  }
}

/** A failed requirement for each counted signature of a checked group that fails. */
function failingSignatures(
  requirement: Requirement,
  image: SifImage,
  checked: ReadonlySet<number>,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): RequirementResult[] {
  const results: RequirementResult[] = [];
  for (const [i, check] of checks.entries()) {
    const group = targetGroup(image, check);
    if (group === undefined || !checked.has(group)) continue;
    if (check.legacy && !requirement.legacy) continue;
    const verdict = verdicts[i];
    if (!failsWithKeyAtHand(check, verdict)) continue;
    results.push({
      subject: { kind: "signature-verifies", signature: check.id },
      pass: false,
      reason: {
        kind: "signature-fails",
        signature: check.id,
        signerName: verdict.signerName,
        because: verdict.because,
      },
    });
  }
  return results;
}

/**
 * A failed requirement for each signature-typed object inside a checked group that no trusted
 * signature of that group covers (the reference's verify refuses it: "object not signed").
 */
function uncoveredSignatureObjects(
  image: SifImage,
  checked: ReadonlySet<number>,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): RequirementResult[] {
  const results: RequirementResult[] = [];
  for (const d of image.descriptors) {
    if (d.dataType !== DataType.Signature || !checked.has(d.groupId)) continue;
    const covered = checks.some((check, i) =>
      verdicts[i].trusted && "group" in check.target && check.target.group === d.groupId &&
      (check.signedIds ?? []).includes(d.id)
    );
    if (covered) continue;
    results.push({
      subject: { kind: "object-signed", object: d.id },
      pass: false,
      reason: { kind: "grouped-signature-object", object: d.id, group: d.groupId },
    });
  }
  return results;
}

function signatureVerdict(
  policy: Policy,
  requirement: Requirement,
  check: SignatureCheck,
  now: Date,
  claimed: boolean,
): SignatureVerdict {
  const fingerprint = check.signer?.fingerprint ?? check.signature.fingerprint ?? null;
  const declared = fingerprint === null
    ? undefined
    : policy.signers.find((s) => s.fingerprint === fingerprint);
  const [authenticity, reason] = authenticityOf(check, requirement, declared, now, claimed);
  const integrity = check.integrity;
  const trusted = authenticity === "ok" && integrity === "ok";
  return {
    id: check.id,
    type: check.signature.format,
    group: "group" in check.target ? check.target.group : null,
    object: "object" in check.target ? check.target.object : null,
    objects: [...check.signedIds ?? []].sort((a, b) => a - b),
    signer: fingerprint,
    signerName: declared?.name ?? null,
    keySource: check.signer?.source.kind ?? null,
    integrity,
    authenticity,
    trusted,
    because: trusted
      ? { kind: "trusted", signer: declared!.name }
      : authenticity !== "ok"
      ? reason!
      : integrity === "mismatch"
      ? { kind: "mismatch" }
      : { kind: "integrity-not-checked" },
  };
}

/** The policy's verdict on who made a signature, and why when it is not `ok`. */
function authenticityOf(
  check: SignatureCheck,
  requirement: Requirement,
  declared: Signer | undefined,
  now: Date,
  claimed: boolean,
): [PolicyAuthenticity, VerdictReason | null] {
  const format = check.signature.format;
  if (format === "unknown") return ["not-checked", { kind: "unknown-format" }];
  if (check.legacy && !requirement.legacy) return ["not-checked", { kind: "legacy-ignored" }];
  if (!check.legacy && (check.signature.hashType < 1 || check.signature.hashType > 5)) {
    // As the reference: a descriptor naming no known hash algorithm fails, whoever signed.
    return ["bad-signature", { kind: "invalid", detail: "hash algorithm unsupported" }];
  }
  const signer = declared?.name ?? null;
  const detail = check.authenticityError ?? null;
  const map: Record<Authenticity, [PolicyAuthenticity, VerdictReason | null]> = {
    ok: ["ok", null],
    "unknown-key": declared === undefined
      ? ["unknown-key", { kind: "unknown-key" }]
      : claimed
      ? ["bad-signature", { kind: "claimed-fingerprint", signer: declared.name }]
      : ["key-unavailable", { kind: "key-unavailable", signer: declared.name }],
    "bad-signature": ["bad-signature", { kind: "invalid", detail }],
    expired: ["expired", { kind: "key-expired", signer }],
    revoked: ["revoked", { kind: "key-revoked", signer }],
    "no-key-material": ["not-checked", { kind: "no-key-material", detail }],
    unrecognized: ["not-checked", { kind: "unrecognized", detail }],
  };
  const [authenticity, reason] = map[check.authenticity];
  if (authenticity !== "ok") return [authenticity, reason];
  if (check.fingerprintMatches === false) {
    return ["bad-signature", { kind: "fingerprint-mismatch" }];
  }
  if (declared === undefined) {
    return [
      "untrusted-signer",
      { kind: "undeclared-signer", fingerprint: check.signer?.fingerprint ?? "" },
    ];
  }
  if (signerExpired(declared, now)) {
    return [
      "untrusted-signer",
      { kind: "signer-expired", signer: declared.name, expires: declared.expires! },
    ];
  }
  return ["ok", null];
}

/** Which part of the image differs from what a signature signed. */
function mismatchPart(check: SignatureCheck): MismatchPart {
  if (check.legacy) return { kind: "legacy-data" };
  if (check.headerOk === false) return { kind: "header" };
  const object = check.objects.find((o) => !o.descriptorOk || !o.objectOk);
  if (object !== undefined) {
    return {
      kind: object.objectOk ? "object-metadata" : "object-data",
      object: object.descriptor.id,
    };
  }
  if (check.missing.length > 0) return { kind: "object-gone", object: check.missing[0] };
  return { kind: "unknown" };
}

/** Whether a trusted signature covers exactly the objects of a group. */
function coversGroup(check: SignatureCheck, group: number, objects: Descriptor[]): boolean {
  const ids = new Set(objects.map((d) => d.id));
  if ("object" in check.target) return ids.size === 1 && ids.has(check.target.object);
  if (check.target.group !== group) return false;
  if (check.legacy) return true;
  const signed = new Set(check.signedIds ?? []);
  return signed.size === ids.size && [...ids].every((id) => signed.has(id));
}

/** The declared signers of the trusted signatures that cover exactly a group. */
function groupSigners(
  group: number,
  objects: Descriptor[],
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): Set<string> {
  const names = new Set<string>();
  for (const [i, check] of checks.entries()) {
    if (verdicts[i].trusted && coversGroup(check, group, objects)) {
      names.add(verdicts[i].signerName!);
    }
  }
  return names;
}

/** Whether these signers satisfy an expression. */
export function satisfies(expression: SignedBy, signers: Set<string>): boolean {
  const names = [...new Set(expression.names)];
  const present = names.filter((name) => signers.has(name)).length;
  if (expression.kind === "any-of") return present >= 1;
  if (expression.kind === "all-of") return present === names.length;
  return present >= expression.threshold;
}

/**
 * Whether a group satisfies the requirement. `everyGroup`: it is checked because
 * `unsigned-objects: deny` covers every group.
 */
function groupResult(
  requirement: Requirement,
  group: number,
  objects: Descriptor[] | undefined,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
  everyGroup: boolean,
): RequirementResult {
  const subject = { kind: "group-signed", group, needs: requirement.signedBy } as const;
  if (objects === undefined) {
    return { subject, pass: false, reason: { kind: "group-absent", group } };
  }
  const signers = groupSigners(group, objects, checks, verdicts);
  return {
    subject,
    pass: satisfies(requirement.signedBy, signers),
    reason: {
      kind: "group-signers",
      group,
      signers: [...signers],
      needs: requirement.signedBy,
      everyGroup,
    },
  };
}

/** Concrete steps that would satisfy a group's requirement. */
function groupHints(
  requirement: Requirement,
  group: number,
  objects: Descriptor[] | undefined,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): Hint[] {
  if (objects === undefined) return [{ kind: "group-absent", group }];
  const signers = groupSigners(group, objects, checks, verdicts);
  const missing = requirement.signedBy.names.filter((name) => !signers.has(name));
  const hints: Hint[] = [];
  const partial = checks.filter((c, i) =>
    verdicts[i].trusted && "group" in c.target && c.target.group === group &&
    !coversGroup(c, group, objects)
  );
  for (const check of partial) {
    hints.push({
      kind: "partial-group-signature",
      signature: check.id,
      group,
      signed: [...check.signedIds ?? []],
      objects: objects.map((d) => d.id),
    });
  }
  for (const verdict of verdicts) {
    if (verdict.group === group && verdict.authenticity === "untrusted-signer") {
      hints.push({ kind: "untrusted-signer", signature: verdict.id });
    }
  }
  if (missing.length > 0) {
    hints.push({ kind: "unsigned-group", group, needs: requirement.signedBy, missing });
  }
  return hints;
}
