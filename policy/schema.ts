/**
 * The site policy, version 1 (docs/policy.md): its schema, and the TypeScript types
 * derived from it. Parsing is strict: unknown fields and wrong types are errors.
 *
 * @module
 */

import { z } from "zod";

/** A signer name: letters, digits, `.`, `_`, `-`. */
const SignerName = z.string().regex(
  /^[A-Za-z0-9._-]+$/,
  "a signer name may hold only letters, digits, '.', '_' and '-'",
);

/** 40 hex digits, case-insensitive, spaces ignored; normalised to upper case. */
const Fingerprint = z.string()
  .transform((text) => text.replace(/\s+/g, "").toUpperCase())
  .refine(
    (hex) => /^[0-9A-F]{40}$/.test(hex),
    "a fingerprint must be 40 hex digits (spaces are allowed)",
  );

/** A day, `YYYY-MM-DD` (UTC), that exists in the calendar (no February 30th). */
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a date must be written YYYY-MM-DD")
  .refine(isCalendarDay, "not a valid date: no such day in the calendar");

/** Whether `YYYY-MM-DD` names a real day: `Date` would roll 2027-02-30 over to March 2nd. */
function isCalendarDay(day: string): boolean {
  const [year, month, date] = day.split("-").map(Number);
  const parsed = new Date(0);
  parsed.setUTCFullYear(year, month - 1, date);
  return parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 &&
    parsed.getUTCDate() === date;
}

/** A file path; relative paths resolve against the policy's folder (policy/model.ts). */
const FilePath = z.string().min(1);

/** An X.509 signer: its leaf, the roots it must chain to, and how revocation is checked. */
const CertificateEntry = z.strictObject({
  file: FilePath,
  roots: FilePath,
  intermediates: FilePath.optional(),
  ocsp: z.boolean().optional(),
  crls: z.array(FilePath).optional(),
});

/**
 * A signer: exactly one of `fingerprint` (OpenPGP), `key` (a PEM public key, for DSSE) or
 * `certificate` (an X.509 leaf, for DSSE); `expires` in every form.
 */
const Signer = z.strictObject({
  fingerprint: Fingerprint.optional(),
  key: FilePath.optional(),
  certificate: CertificateEntry.optional(),
  expires: Day.optional(),
}).check((ctx) => {
  const forms = [ctx.value.fingerprint, ctx.value.key, ctx.value.certificate]
    .filter((form) => form !== undefined).length;
  if (forms !== 1) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: forms === 0
        ? "a signer needs one of: fingerprint (OpenPGP), key: FILE (PEM public key) or certificate: {file, roots}"
        : "a signer has exactly one of fingerprint, key or certificate",
    });
  }
});

/** `{any-of: […]}`, `{all-of: […]}`, or `{threshold: N, of: […]}`. */
const SignedBy = z.strictObject({
  "any-of": z.array(SignerName).min(1).optional(),
  "all-of": z.array(SignerName).min(1).optional(),
  threshold: z.int().min(1).optional(),
  of: z.array(SignerName).min(1).optional(),
}).check((ctx) => {
  const value = ctx.value;
  const forms = [
    value["any-of"] !== undefined,
    value["all-of"] !== undefined,
    value.threshold !== undefined || value.of !== undefined,
  ];
  if (forms.filter(Boolean).length !== 1) {
    ctx.issues.push({
      code: "custom",
      input: value,
      message:
        "signed-by takes exactly one of: any-of: [names], all-of: [names], or threshold: N with of: [names]",
    });
  } else if ((value.threshold === undefined) !== (value.of === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: value,
      message: "threshold and of go together: threshold: N, of: [names]",
    });
  }
});

const Requirement = z.strictObject({
  "signed-by": SignedBy.optional(),
  groups: z.union([z.literal("all"), z.array(z.int().min(1)).min(1)]).optional(),
  "unsigned-objects": z.enum(["deny", "allow"]).optional(),
  legacy: z.boolean().optional(),
});

const Rule = z.strictObject({
  name: z.string().min(1),
  paths: z.array(z.string().min(1)).min(1),
  require: Requirement.optional(),
  action: z.enum(["allow", "deny"]).optional(),
}).check((ctx) => {
  if (ctx.value.require !== undefined && ctx.value.action !== undefined) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: "a rule has either require or action, not both",
    });
  }
});

const Keyserver = z.strictObject({ uri: z.string().min(1), insecure: z.boolean().optional() });

const Keys = z.strictObject({
  files: z.array(z.string().min(1)).optional(),
  local: z.boolean().optional(),
  keyservers: z.array(Keyserver).optional(),
  offline: z.boolean().optional(),
});

const Remote = z.strictObject({
  name: z.string().min(1),
  uri: z.string().min(1),
  exclusive: z.boolean().optional(),
});

/** `exec:` settings: where `siftrust exec` copies an image that others than root can write. */
const Exec = z.strictObject({
  "copy-writable": z.string().min(1).refine(
    (path) => path.startsWith("/"),
    "copy-writable must be an absolute folder",
  ).optional(),
});

/** The schema of a policy file as written. */
export const PolicySchema = z.strictObject({
  version: z.literal(1, "version must be 1, the only version"),
  mode: z.enum(["enforce", "warn"]).optional(),
  signers: z.record(SignerName, Signer).refine(
    (signers) => Object.keys(signers).length > 0,
    "declare at least one signer",
  ),
  keys: Keys.optional(),
  remote: Remote.optional(),
  require: Requirement.optional(),
  rules: z.array(Rule).optional(),
  exec: Exec.optional(),
});

/** A policy as written (fingerprints normalised). */
export type PolicyFile = z.output<typeof PolicySchema>;
/** A signer as written. */
export type SignerEntry = z.output<typeof Signer>;
/** A certificate signer's `certificate` block as written. */
export type CertificateEntry = z.output<typeof CertificateEntry>;
/** A `signed-by` expression as written. */
export type SignedByExpression = z.output<typeof SignedBy>;
/** A requirement as written. */
export type RequirementEntry = z.output<typeof Requirement>;
/** A rule as written. */
export type RuleEntry = z.output<typeof Rule>;
/** A keyserver entry. */
export type KeyserverEntry = z.output<typeof Keyserver>;
