/**
 * The effective policy: what a file says, with every default filled in (docs/policy.md,
 * "Fields"), ready to evaluate.
 *
 * @module
 */

import type { PolicyTrust } from "../core/config/mod.ts";
import type {
  CertificateEntry,
  PolicyFile,
  RequirementEntry,
  SignedByExpression,
} from "./schema.ts";

/** An X.509 signer: files resolved against the policy's folder. */
export interface CertificateSigner {
  /** The signer's certificate (PEM; the first certificate is the leaf). */
  file: string;
  /** The trust anchors it must chain to (PEM). */
  roots: string;
  /** Certificates that may link it to a root (PEM), if any. */
  intermediates?: string;
  /** Whether every certificate of the chain but its root is checked with OCSP. */
  ocsp: boolean;
  /** Revocation lists (PEM or DER) the chain is checked against. */
  crls: string[];
}

/**
 * A trusted signer: exactly one of `fingerprint` (OpenPGP signatures), `key` or `certificate`
 * (DSSE signatures).
 */
export interface Signer {
  /** The name the policy gives it. */
  name: string;
  /** OpenPGP: the primary key fingerprint, 40 upper-case hex digits. */
  fingerprint?: string;
  /** DSSE: a PEM public key file (absolute). */
  key?: string;
  /** DSSE: an X.509 certificate that must chain to its roots. */
  certificate?: CertificateSigner;
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
  /**
   * Where keys come from: keyring files (resolved against the policy's folder), the local
   * keyrings, ordered keyservers (undefined: the remote's), offline.
   */
  keys: PolicyTrust["keys"];
  /** The remote whose keyservers to use, if the policy names one. */
  remote?: PolicyTrust["remote"];
  /** The top-level requirement (rule `default`). */
  require: Requirement;
  /** Path rules, first match wins. */
  rules: Rule[];
  /** `siftrust exec`: the root-owned folder an image others can write is copied into, if any. */
  exec: { copyWritable?: string };
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

function certificateSigner(
  entry: CertificateEntry,
  resolve: (path: string) => string,
): CertificateSigner {
  return {
    file: resolve(entry.file),
    roots: resolve(entry.roots),
    ...(entry.intermediates !== undefined ? { intermediates: resolve(entry.intermediates) } : {}),
    ocsp: entry.ocsp ?? false,
    crls: (entry.crls ?? []).map(resolve),
  };
}

/** Fills in every default. `folder` is where relative key files are found. */
export function effectivePolicy(
  file: PolicyFile,
  path: string,
  digest: string,
  folder: string,
): Policy {
  const resolve = (path: string) => path.startsWith("/") ? path : `${folder}/${path}`;
  const signers = Object.entries(file.signers).map(([name, s]): Signer => ({
    name,
    ...(s.fingerprint !== undefined ? { fingerprint: s.fingerprint } : {}),
    ...(s.key !== undefined ? { key: resolve(s.key) } : {}),
    ...(s.certificate !== undefined
      ? { certificate: certificateSigner(s.certificate, resolve) }
      : {}),
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
      files: (file.keys?.files ?? []).map(resolve),
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
    exec: { copyWritable: file.exec?.["copy-writable"] },
  };
}
