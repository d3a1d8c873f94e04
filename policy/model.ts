/**
 * The effective policy: what a file says, with every default filled in (docs/policy.md,
 * "Fields"), ready to evaluate.
 *
 * @module
 */

import type { PolicyFile, RequirementEntry, SignedByExpression } from "./schema.ts";

/** A trusted signer. */
export interface Signer {
  /** The name the policy gives it. */
  name: string;
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** The last day (UTC, `YYYY-MM-DD`) the signer is trusted, if limited. */
  expires?: string;
}

/** Who must have signed: a normalised `signed-by`. */
export type SignedBy =
  | { kind: "any-of"; names: string[] }
  | { kind: "all-of"; names: string[] }
  | { kind: "threshold"; threshold: number; names: string[] };

/** What an image must satisfy. */
export interface Requirement {
  /** Who must have signed. */
  signedBy: SignedBy;
  /** `all`, or these group IDs. */
  groups: "all" | number[];
  /** `deny`: every object must lie in a group that satisfies `signedBy`. */
  unsignedObjects: "deny" | "allow";
  /** Whether legacy (pre-3.6) signatures count. */
  legacy: boolean;
}

/** A path rule: a requirement of its own, or a fixed decision. */
export interface Rule {
  /** Its name, reported with each decision it makes. */
  name: string;
  /** Path patterns (policy/glob.ts). */
  paths: string[];
  /** The requirement (defaults from the top-level one), unless the rule has an action. */
  require?: Requirement;
  /** A decision made without looking at signatures. */
  action?: "allow" | "deny";
}

/** The policy in effect. */
export interface Policy {
  /** The file it was read from. */
  path: string;
  /** SHA-256 of the file's bytes: identifies this policy in caches and audit logs. */
  digest: string;
  /** `warn`: a deny is reported but not enforced. */
  mode: "enforce" | "warn";
  /** The declared signers. */
  signers: Signer[];
  /** Where keys come from. */
  keys: {
    /** Keyring files, resolved against the policy's folder. */
    files: string[];
    local: boolean;
    /** Ordered keyservers; undefined means the remote's. */
    keyservers?: { uri: string; insecure?: boolean }[];
    offline: boolean;
  };
  /** The remote whose keyservers to use, if the policy names one. */
  remote?: { name: string; uri: string; exclusive: boolean };
  /** The top-level requirement (rule `default`). */
  require: Requirement;
  /** Path rules, first match wins. */
  rules: Rule[];
}

function signedBy(expression: SignedByExpression): SignedBy {
  if (expression["any-of"] !== undefined) return { kind: "any-of", names: expression["any-of"] };
  if (expression["all-of"] !== undefined) return { kind: "all-of", names: expression["all-of"] };
  return { kind: "threshold", threshold: expression.threshold!, names: expression.of! };
}

function requirement(entry: RequirementEntry | undefined, base: Requirement): Requirement {
  return {
    signedBy: entry?.["signed-by"] === undefined ? base.signedBy : signedBy(entry["signed-by"]),
    groups: entry?.groups ?? base.groups,
    unsignedObjects: entry?.["unsigned-objects"] ?? base.unsignedObjects,
    legacy: entry?.legacy ?? base.legacy,
  };
}

/** Fills in every default. `folder` is where relative key files are found. */
export function effectivePolicy(
  file: PolicyFile,
  path: string,
  digest: string,
  folder: string,
): Policy {
  const signers = Object.entries(file.signers).map(([name, s]) => ({
    name,
    fingerprint: s.fingerprint,
    expires: s.expires,
  }));
  const defaults: Requirement = {
    signedBy: { kind: "any-of", names: signers.map((s) => s.name) },
    groups: "all",
    unsignedObjects: "deny",
    legacy: false,
  };
  const top = requirement(file.require, defaults);
  return {
    path,
    digest,
    mode: file.mode ?? "enforce",
    signers,
    keys: {
      files: (file.keys?.files ?? []).map((f) => f.startsWith("/") ? f : `${folder}/${f}`),
      local: file.keys?.local ?? true,
      keyservers: file.keys?.keyservers,
      offline: file.keys?.offline ?? false,
    },
    remote: file.remote === undefined
      ? undefined
      : { ...file.remote, exclusive: file.remote.exclusive ?? false },
    require: top,
    rules: (file.rules ?? []).map((rule) => ({
      name: rule.name,
      paths: rule.paths,
      ...(rule.action !== undefined
        ? { action: rule.action }
        : { require: requirement(rule.require, top) }),
    })),
  };
}
