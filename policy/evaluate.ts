/**
 * Deciding one image under a policy (docs/policy-v1.md, "How an image is decided"), from the
 * checks of all its signatures. Every step leaves a trace: a verdict per signature, a result
 * per requirement, and hints that would turn a deny into an allow.
 *
 * @module
 */

import type { Authenticity, SignatureCheck } from "../core/integrity/mod.ts";
import { DataType, type Descriptor, type SifImage } from "../core/sif/mod.ts";
import { matchesGlob } from "./glob.ts";
import type { Policy, Requirement, Rule, SignedBy, Signer } from "./model.ts";

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
  id: number;
  type: "pgp" | "dsse" | "legacy" | "unknown";
  group: number | null;
  object: number | null;
  /** The objects it covers. */
  objects: number[];
  /** The signer's primary fingerprint, or the descriptor's when the key was not found. */
  signer: string | null;
  /** The declared signer of that fingerprint. */
  signerName: string | null;
  keySource: string | null;
  integrity: "ok" | "mismatch" | "not-checked";
  authenticity: PolicyAuthenticity;
  trusted: boolean;
  /** Why it is or is not trusted, for a person. */
  why: string;
}

/** One requirement and whether it held. */
export interface RequirementResult {
  requirement: string;
  pass: boolean;
  why: string;
}

/** The decision about one image. */
export interface ImageDecision {
  image: string;
  decision: "allow" | "deny" | "error";
  exitCode: number;
  /** The rule that applied (`default` for the top-level requirement). */
  rule: string;
  /** Why, for a person: on a deny, each failed requirement. */
  reasons: string[];
  signatures: SignatureVerdict[];
  requirements: RequirementResult[];
  /** What would turn a deny into an allow, where something can. */
  hints: string[];
}

/** The rule that applies to a path: the first whose pattern matches. */
export function matchingRule(policy: Policy, path: string): Rule | undefined {
  return policy.rules.find((rule) => rule.paths.some((pattern) => matchesGlob(path, pattern)));
}

/** Whether a declared signer's trust has ended (after its `expires` day, UTC). */
export function signerExpired(signer: Signer, now: Date): boolean {
  return signer.expires !== undefined &&
    now.getTime() > Date.parse(`${signer.expires}T23:59:59.999Z`);
}

/** The exit code of a decision: warn mode makes a deny exit 0. */
function exitCodeOf(policy: Policy, decision: "allow" | "deny", keyMissing: boolean): number {
  if (decision === "allow" || policy.mode === "warn") return 0;
  return keyMissing ? 4 : 1;
}

/**
 * Decides an image. `path` is its absolute, symlink-resolved path; `checks` are the checks of
 * every signature object (see `analyzeSignatures`).
 */
export function evaluateImage(
  policy: Policy,
  path: string,
  image: SifImage,
  checks: SignatureCheck[],
  now: Date = new Date(),
): ImageDecision {
  const rule = matchingRule(policy, path);
  const ruleName = rule?.name ?? "default";
  if (rule?.action !== undefined) {
    return {
      image: path,
      decision: rule.action,
      exitCode: exitCodeOf(policy, rule.action, false),
      rule: ruleName,
      reasons: [
        `rule ${rule.name} ${rule.action === "allow" ? "allows" : "denies"} ${
          rule.paths.join(", ")
        } without looking at signatures`,
      ],
      signatures: [],
      requirements: [],
      hints: [],
    };
  }
  const requirement = rule?.require ?? policy.require;
  const verdicts = checks.map((check) => signatureVerdict(policy, requirement, check, now));
  const requirements: RequirementResult[] = [];
  const hints: string[] = [];

  // Integrity first, whoever signed: a mismatch means the image changed after signing.
  for (const [i, verdict] of verdicts.entries()) {
    const counts = !checks[i].legacy || requirement.legacy;
    if (counts && verdict.integrity === "mismatch") {
      requirements.push({
        requirement: `signature ${verdict.id} matches the image`,
        pass: false,
        why: `${mismatchDetail(checks[i])}: the image changed after it was signed${
          verdict.signerName ? ` by ${verdict.signerName}` : ""
        }`,
      });
      hints.push("get an unmodified copy of the image, or have it signed again after the change");
    }
  }

  const members = groupMembers(image);
  const wanted = requirement.groups === "all"
    ? [...members.keys()].sort((a, b) => a - b)
    : requirement.groups;
  const satisfied = new Map<number, boolean>();
  for (const group of wanted) {
    const result = groupResult(requirement, group, members.get(group), checks, verdicts);
    satisfied.set(group, result.pass);
    requirements.push(result);
    if (!result.pass) {
      hints.push(...groupHints(requirement, group, members.get(group), checks, verdicts));
    }
  }
  if (requirement.unsignedObjects === "deny") {
    for (const d of image.descriptors) {
      if (d.dataType === DataType.Signature) continue;
      if (d.groupId === 0) {
        requirements.push({
          requirement: `object ${d.id} is signed`,
          pass: false,
          why: `object ${d.id} is in no group, so no signature covers it (unsigned-objects: deny)`,
        });
        continue;
      }
      if (!satisfied.has(d.groupId)) {
        const result = groupResult(
          requirement,
          d.groupId,
          members.get(d.groupId),
          checks,
          verdicts,
        );
        satisfied.set(d.groupId, result.pass);
        if (!result.pass) {
          requirements.push({
            ...result,
            why: `${result.why} (unsigned-objects: deny covers every group)`,
          });
          hints.push(
            ...groupHints(requirement, d.groupId, members.get(d.groupId), checks, verdicts),
          );
        }
      }
    }
  }

  const failed = requirements.filter((r) => !r.pass);
  const decision = failed.length === 0 ? "allow" : "deny";
  const keyMissing = verdicts.some((v) => v.authenticity === "key-unavailable");
  if (verdicts.some((v) => v.type === "legacy" && v.authenticity === "not-checked")) {
    hints.push(
      "the image has legacy (pre-3.6) signatures, which this requirement ignores: re-sign it with a current tool, or set legacy: true",
    );
  }
  if (verdicts.some((v) => v.type === "dsse")) {
    hints.push(
      "the image has DSSE signatures, which policy version 1 does not trust: sign it with an OpenPGP key of a declared signer",
    );
  }
  for (const verdict of verdicts.filter((v) => v.authenticity === "key-unavailable")) {
    hints.push(
      `get ${verdict.signerName}'s public key (fingerprint ${verdict.signer}): \`siftrust key pull ${verdict.signer}\`, or list a keyring file holding it under keys.files`,
    );
  }
  return {
    image: path,
    decision,
    exitCode: exitCodeOf(policy, decision, keyMissing),
    rule: ruleName,
    reasons: failed.map((r) => r.why),
    signatures: verdicts,
    requirements,
    hints: decision === "deny" ? [...new Set(hints)] : [],
  };
}

/** The non-signature objects of each group. */
function groupMembers(image: SifImage): Map<number, Descriptor[]> {
  const groups = new Map<number, Descriptor[]>();
  for (const d of image.descriptors) {
    if (d.dataType === DataType.Signature || d.groupId === 0) continue;
    groups.set(d.groupId, [...groups.get(d.groupId) ?? [], d]);
  }
  return groups;
}

function signatureVerdict(
  policy: Policy,
  requirement: Requirement,
  check: SignatureCheck,
  now: Date,
): SignatureVerdict {
  const fingerprint = check.signer?.fingerprint ?? check.signature.fingerprint ?? null;
  const declared = fingerprint === null
    ? undefined
    : policy.signers.find((s) => s.fingerprint === fingerprint);
  const [authenticity, why] = authenticityOf(check, requirement, declared, now);
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
    why: trusted
      ? `trusted: made by ${declared!.name} and matches the image`
      : integrity === "mismatch" && authenticity === "ok"
      ? "does not match the image"
      : why,
  };
}

function authenticityOf(
  check: SignatureCheck,
  requirement: Requirement,
  declared: Signer | undefined,
  now: Date,
): [PolicyAuthenticity, string] {
  const format = check.signature.format;
  if (format === "dsse") {
    return ["not-checked", "a DSSE signature: policy version 1 trusts OpenPGP signatures only"];
  }
  if (format === "unknown") return ["not-checked", "not a signature format siftrust knows"];
  if (check.legacy && !requirement.legacy) {
    return ["not-checked", "a legacy (pre-3.6) signature, ignored (legacy: false)"];
  }
  const who = declared === undefined ? "a signer the policy does not declare" : declared.name;
  const map: Record<Authenticity, [PolicyAuthenticity, string]> = {
    ok: ["ok", ""],
    "unknown-key": declared === undefined
      ? [
        "unknown-key",
        "made by a key siftrust could not find, of a signer the policy does not declare",
      ]
      : ["key-unavailable", `made by ${declared.name}, whose public key could not be obtained`],
    "bad-signature": ["bad-signature", `the signature is not valid: ${check.authenticityError}`],
    expired: ["expired", `made by ${who}, whose key has expired`],
    revoked: ["revoked", `made by ${who}, whose key is revoked`],
    "no-key-material": ["not-checked", check.authenticityError ?? "no key material"],
    unrecognized: ["not-checked", check.authenticityError ?? "not a recognized signature"],
  };
  const [authenticity, why] = map[check.authenticity];
  if (authenticity !== "ok") return [authenticity, why];
  if (check.fingerprintMatches === false) {
    return ["bad-signature", "the fingerprint in its descriptor is not the signer's"];
  }
  if (declared === undefined) {
    return [
      "untrusted-signer",
      `made by ${check.signer?.fingerprint}, who is not a declared signer`,
    ];
  }
  if (signerExpired(declared, now)) {
    return ["untrusted-signer", `made by ${declared.name}, trusted only until ${declared.expires}`];
  }
  return ["ok", ""];
}

function mismatchDetail(check: SignatureCheck): string {
  const subject = `signature ${check.id}`;
  if (check.legacy) return `the data that ${subject} signs differs`;
  if (check.headerOk === false) {
    return `the image header (launch script or ID) differs from what ${subject} signed`;
  }
  const object = check.objects.find((o) => !o.descriptorOk || !o.objectOk);
  if (object !== undefined) {
    const part = object.objectOk ? "metadata" : "data";
    return `the ${part} of object ${object.descriptor.id} differs from what ${subject} signed`;
  }
  if (check.missing.length > 0) {
    return `object ${check.missing[0]}, which ${subject} signed, is gone`;
  }
  return `${subject} does not match`;
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

/** An expression as a person reads it. */
export function describeSignedBy(expression: SignedBy): string {
  const list = expression.names.join(", ");
  if (expression.kind === "any-of") return `any of ${list}`;
  if (expression.kind === "all-of") return `all of ${list}`;
  return `${expression.threshold} of ${list}`;
}

function groupResult(
  requirement: Requirement,
  group: number,
  objects: Descriptor[] | undefined,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): RequirementResult {
  const what = `group ${group} signed by ${describeSignedBy(requirement.signedBy)}`;
  if (objects === undefined) {
    return {
      requirement: what,
      pass: false,
      why: `group ${group} is required, but the image has no group ${group}`,
    };
  }
  const signers = groupSigners(group, objects, checks, verdicts);
  const pass = satisfies(requirement.signedBy, signers);
  const by = signers.size === 0
    ? "no trusted signature covers it"
    : `trusted signatures by ${[...signers].join(", ")}`;
  return {
    requirement: what,
    pass,
    why: `group ${group}: ${by}; it needs ${describeSignedBy(requirement.signedBy)}`,
  };
}

/** Concrete steps that would satisfy a group's requirement. */
function groupHints(
  requirement: Requirement,
  group: number,
  objects: Descriptor[] | undefined,
  checks: SignatureCheck[],
  verdicts: SignatureVerdict[],
): string[] {
  if (objects === undefined) {
    return [`the image has no group ${group}: check the rule's groups list`];
  }
  const signers = groupSigners(group, objects, checks, verdicts);
  const missing = requirement.signedBy.names.filter((name) => !signers.has(name));
  const hints: string[] = [];
  const partial = checks.filter((c, i) =>
    verdicts[i].trusted && "group" in c.target && c.target.group === group &&
    !coversGroup(c, group, objects)
  );
  for (const check of partial) {
    hints.push(
      `signature ${check.id} covers objects ${
        check.signedIds?.join(", ")
      } of group ${group}, not all of ${
        objects.map((d) => d.id).join(", ")
      }: sign the whole group with \`siftrust sign --group-id ${group} IMAGE\``,
    );
  }
  const untrusted = verdicts.filter((v) =>
    v.group === group && v.authenticity === "untrusted-signer"
  );
  for (const verdict of untrusted) {
    hints.push(
      `signature ${verdict.id}: ${verdict.why}; declare that signer (or extend its expires) if you trust it`,
    );
  }
  const who = requirement.signedBy.kind === "all-of"
    ? missing.join(" and ")
    : `one of ${missing.join(", ")}`;
  if (missing.length > 0) {
    hints.push(
      `group ${group} needs a signature by ${who}: \`siftrust sign --group-id ${group} IMAGE\` with that signer's key`,
    );
  }
  return hints;
}
