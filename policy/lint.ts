/**
 * Linting a site policy: mistakes that load but do not do what the admin meant (rules that
 * can never apply, signers nobody requires, plain-http keyservers, trust that has ended or
 * is about to, files others can change). Findings are structured (a code and its data, and
 * where in the YAML document); the command words them.
 *
 * @module
 */

import { type Document, isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { writersBesidesRoot } from "./file_trust.ts";
import { matchesGlob } from "./glob.ts";
import type { Policy, Rule, SignedBy } from "./model.ts";

/** Signers whose trust ends within this many days are reported. */
export const EXPIRY_NOTICE_DAYS = 30;

/**
 * Fingerprints whose secret keys are public: siftrust's demo key (`examples/`). A policy that
 * trusts one trusts anybody.
 */
const PUBLIC_SECRET_KEYS: Record<string, string> = {
  "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A": "siftrust's example key (examples/example-key)",
};

/** A path in the policy's YAML document (as `Document.getIn` takes it). */
export type YamlPath = (string | number)[];

/** An earlier rule's pattern that matches every path a later pattern does. */
export interface Coverage {
  /** The earlier rule's name. */
  rule: string;
  /** Its pattern. */
  outer: string;
  /** The later rule's pattern it covers. */
  inner: string;
}

/** What a lint finding is about: its code and the data to word it. */
export type LintFinding =
  /** Others than root can change the policy file (`who` says who). */
  | { code: "policy-writable"; who: string }
  /** A key file cannot be read: missing, or `reason` (the system's words). */
  | { code: "key-file-unreadable"; file: string; missing: boolean; reason: string }
  /** A key file is not a regular file. */
  | { code: "key-file-not-a-file"; file: string }
  /** Others than root can change a key file. */
  | { code: "key-file-writable"; file: string; who: string }
  /** A signer in no signed-by: its signatures never count. */
  | { code: "signer-unused"; signer: string }
  /** A signer whose secret key is public (`key` says which key it is). */
  | { code: "signer-public-key"; signer: string; key: string }
  /** A signer whose trust has ended. */
  | { code: "signer-expired"; signer: string; expires: string }
  /** A signer whose trust ends within {@linkcode EXPIRY_NOTICE_DAYS} days (0: today). */
  | { code: "signer-expiring"; signer: string; expires: string; days: number }
  /** Two rules share a name (1-based positions). */
  | { code: "duplicate-rule-name"; name: string; first: number; second: number }
  /** A name listed twice in one signed-by (`threshold`: in a threshold's `of`). */
  | { code: "duplicate-signer"; signer: string; threshold: boolean }
  /** A keyserver reached over plain http. */
  | { code: "plain-http-keyserver"; uri: string }
  /** The remote is reached over plain http. */
  | { code: "plain-http-remote"; name: string; uri: string }
  /** OpenPGP signers, but offline, no local keyrings and no key files: none can be checked. */
  | { code: "no-key-material" }
  /** A rule that never applies: each of its patterns is covered by an earlier rule. */
  | { code: "rule-unreachable"; rule: string; coveredBy: Coverage[] }
  /** One pattern of a rule never applies. */
  | { code: "pattern-unreachable"; rule: string; coverage: Coverage };

/** One lint finding, and where it is (a path in the YAML document; empty: the whole file). */
export type LintWarning = LintFinding & { path: YamlPath };

/** The warnings about a loaded policy that need no file system; `now` is when expiry is judged. */
export function lintPolicy(policy: Policy, now: Date): LintWarning[] {
  return [
    ...signerWarnings(policy, now),
    ...keyWarnings(policy),
    ...duplicates(policy),
    ...unreachableRules(policy),
  ];
}

/**
 * The warnings that need the file system: key files (keyrings, and the key, certificate and CRL
 * files of DSSE signers) that cannot be read, and a policy or key file that others than its
 * owner may change (whoever can write it decides what runs).
 */
export async function fileWarnings(policy: Policy): Promise<LintWarning[]> {
  const warnings: LintWarning[] = [];
  try {
    const who = writersBesidesRoot(await Deno.stat(policy.path));
    if (who !== undefined) warnings.push({ path: [], code: "policy-writable", who });
  } catch {
    // it loaded a moment ago; nothing more to say
  }
  const files: [YamlPath, string][] = [
    ...policy.keys.files.map((file, i): [YamlPath, string] => [["keys", "files", i], file]),
    ...signerFilePaths(policy),
  ];
  for (const [path, file] of files) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(file);
    } catch (error) {
      const missing = error instanceof Deno.errors.NotFound;
      const reason = error instanceof Error ? error.message : String(error);
      warnings.push({ path, code: "key-file-unreadable", file, missing, reason });
      continue;
    }
    const who = writersBesidesRoot(info);
    if (!info.isFile) warnings.push({ path, code: "key-file-not-a-file", file });
    else if (who !== undefined) warnings.push({ path, code: "key-file-writable", file, who });
  }
  return warnings;
}

/** The key, certificate and CRL files of `key` and `certificate` signers, with their places. */
function signerFilePaths(policy: Policy): [YamlPath, string][] {
  return policy.signers.flatMap(({ name, key, certificate }): [YamlPath, string][] => {
    if (key !== undefined) return [[["signers", name, "key"], key]];
    if (certificate === undefined) return [];
    const at = (field: string): YamlPath => ["signers", name, "certificate", field];
    return [
      [at("file"), certificate.file],
      [at("roots"), certificate.roots],
      ...(certificate.intermediates === undefined
        ? []
        : [[at("intermediates"), certificate.intermediates] as [YamlPath, string]]),
      ...certificate.crls.map((crl, i): [YamlPath, string] => [[...at("crls"), i], crl]),
    ];
  });
}

function signerWarnings(policy: Policy, now: Date): LintWarning[] {
  const warnings: LintWarning[] = [];
  const referenced = new Set<string>();
  const requirements = [
    policy.require,
    ...policy.rules.flatMap((rule) => rule.require === undefined ? [] : [rule.require]),
  ];
  for (const requirement of requirements) {
    for (const name of requirement.signedBy.names) referenced.add(name);
  }
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (const { name: signer, fingerprint, expires } of policy.signers) {
    if (!referenced.has(signer)) {
      warnings.push({ path: ["signers", signer], code: "signer-unused", signer });
    }
    const key = fingerprint === undefined ? undefined : PUBLIC_SECRET_KEYS[fingerprint];
    if (key !== undefined) {
      warnings.push({
        path: ["signers", signer, "fingerprint"],
        code: "signer-public-key",
        signer,
        key,
      });
    }
    if (expires === undefined) continue;
    const days = Math.round((Date.parse(`${expires}T00:00:00Z`) - today) / 86_400_000);
    const path = ["signers", signer, "expires"];
    if (days < 0) warnings.push({ path, code: "signer-expired", signer, expires });
    else if (days <= EXPIRY_NOTICE_DAYS) {
      warnings.push({ path, code: "signer-expiring", signer, expires, days });
    }
  }
  return warnings;
}

/** Rules that share a name, and names listed twice in one signed-by. */
function duplicates(policy: Policy): LintWarning[] {
  const warnings: LintWarning[] = [];
  const seen = new Map<string, number>();
  for (const [j, rule] of policy.rules.entries()) {
    const first = seen.get(rule.name);
    if (first === undefined) seen.set(rule.name, j);
    else {
      warnings.push({
        path: ["rules", j, "name"],
        code: "duplicate-rule-name",
        name: rule.name,
        first: first + 1,
        second: j + 1,
      });
    }
  }
  const check = (signedBy: SignedBy, base: YamlPath) => {
    const key = signedBy.kind === "threshold" ? "of" : signedBy.kind;
    const counted = new Set<string>();
    for (const [i, name] of signedBy.names.entries()) {
      if (!counted.has(name)) {
        counted.add(name);
        continue;
      }
      warnings.push({
        path: [...base, "signed-by", key, i],
        code: "duplicate-signer",
        signer: name,
        threshold: signedBy.kind === "threshold",
      });
    }
  };
  check(policy.require.signedBy, ["require"]);
  for (const [j, rule] of policy.rules.entries()) {
    // A rule that does not write its own signed-by shares the top-level one.
    if (rule.require !== undefined && rule.require.signedBy !== policy.require.signedBy) {
      check(rule.require.signedBy, ["rules", j, "require"]);
    }
  }
  return warnings;
}

function isPlainHttp(uri: string): boolean {
  return uri.slice(0, 7).toLowerCase() === "http://";
}

function keyWarnings(policy: Policy): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const [i, { uri }] of (policy.keys.keyservers ?? []).entries()) {
    if (isPlainHttp(uri)) {
      warnings.push({ path: ["keys", "keyservers", i, "uri"], code: "plain-http-keyserver", uri });
    }
  }
  if (policy.remote !== undefined && isPlainHttp(policy.remote.uri)) {
    const { name, uri } = policy.remote;
    warnings.push({ path: ["remote", "uri"], code: "plain-http-remote", name, uri });
  }
  const pgpSigners = policy.signers.some((signer) => signer.fingerprint !== undefined);
  if (pgpSigners && policy.keys.offline && !policy.keys.local && policy.keys.files.length === 0) {
    warnings.push({ path: ["keys"], code: "no-key-material" });
  }
  return warnings;
}

// ------------------------------------------------------------------------------------------
// unreachable rules

const GLOB_CHARS = /[*?[]/;

/** The segments of an absolute pattern (`/a/b` → `a`, `b`). */
function segments(pattern: string): string[] {
  return pattern.split("/").slice(1);
}

/** Whether one segment pattern matches every path segment that another one matches. */
function segmentCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (inner.includes("**")) return false;
  if (outer === "*") return true;
  if (GLOB_CHARS.test(inner) || outer.includes("**")) return false;
  return matchesGlob(`/${inner}`, `/${outer}`);
}

/**
 * Whether every path that `inner` matches is also matched by `outer`. Conservative: true is
 * certain, false may be wrong (then no warning is given). Covered: identical patterns; an
 * earlier `PREFIX/**` whose prefix covers the start of the later pattern, segment by segment;
 * and a later pattern without wildcards that the earlier one matches.
 */
export function patternCovers(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  if (!GLOB_CHARS.test(inner)) return matchesGlob(inner, outer);
  if (!outer.endsWith("/**")) return false;
  const prefix = segments(outer.slice(0, -3));
  const rest = segments(inner);
  if (outer === "/**") return inner.startsWith("/") && inner.length > 1;
  if (rest.length <= prefix.length) return false;
  if (rest.slice(prefix.length).join("/") === "") return false;
  return prefix.every((segment, i) => segmentCovers(segment, rest[i]));
}

/** The earlier rule and pattern that cover one pattern of rule `j`, if any. */
function coverageOf(rules: readonly Rule[], j: number, pattern: string): Coverage | undefined {
  for (const earlier of rules.slice(0, j)) {
    const outer = earlier.paths.find((p) => patternCovers(p, pattern));
    if (outer !== undefined) return { rule: earlier.name, outer, inner: pattern };
  }
  return undefined;
}

function unreachableRules(policy: Policy): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const [j, rule] of policy.rules.entries()) {
    const coveredBy = rule.paths.map((pattern) => coverageOf(policy.rules, j, pattern));
    if (coveredBy.every((c) => c !== undefined)) {
      warnings.push({
        path: ["rules", j],
        code: "rule-unreachable",
        rule: rule.name,
        coveredBy: coveredBy as Coverage[],
      });
      continue;
    }
    for (const [k, coverage] of coveredBy.entries()) {
      if (coverage === undefined) continue;
      warnings.push({
        path: ["rules", j, "paths", k],
        code: "pattern-unreachable",
        rule: rule.name,
        coverage,
      });
    }
  }
  return warnings;
}

// ------------------------------------------------------------------------------------------
// positions

/** A warning and where it starts in the policy file (1-based), when its node is found. */
export interface LocatedWarning {
  /** The warning. */
  warning: LintWarning;
  /** Its line (1-based), when its node is found. */
  line?: number;
  /** Its column (1-based), when its node is found. */
  column?: number;
}

/**
 * Finds each warning's node in the policy file's YAML (the key of a mapping entry where there
 * is one), and sorts the warnings by position; those without one (the whole file) come first.
 */
export function locateWarnings(warnings: LintWarning[], text: string): LocatedWarning[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const located = warnings.map((warning) => {
    const offset = offsetOf(doc, warning.path);
    if (offset === undefined) return { offset: -1, located: { warning } };
    const { line, col } = lineCounter.linePos(offset);
    return { offset, located: { warning, line, column: col } };
  });
  return located.sort((a, b) => a.offset - b.offset).map((l) => l.located);
}

/** Where a path's node starts: the key of its mapping entry, else the node. */
function offsetOf(doc: Document, path: YamlPath): number | undefined {
  if (path.length === 0) return undefined;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path.at(-1);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
    const key = pair?.key as Node | undefined;
    if (key?.range) return key.range[0];
  }
  const node = doc.getIn(path, true) as Node | undefined;
  return node?.range?.[0];
}
