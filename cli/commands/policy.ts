/**
 * `siftrust policy lint FILE` and `siftrust policy show FILE`: check a site policy for
 * mistakes that load but do not do what the admin meant (rules that can never apply, signers
 * nobody requires, plain-http keyservers, trust that has ended or is about to), and print the
 * policy in effect with every default filled in.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import {
  type Document,
  Document as YamlDocument,
  isMap,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import {
  matchesGlob,
  type Policy,
  type Requirement,
  type Rule,
  type SignedBy,
  writersBesidesRoot,
} from "../../policy/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import { print, printJson } from "../output.ts";
import { loadPolicyOrExit } from "../policy_loading.ts";

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
type YamlPath = (string | number)[];

/** One lint finding: where (a path in the YAML document) and what. */
export interface LintWarning {
  path: YamlPath;
  message: string;
}

/** Adds `policy` (lint, show) to the program. */
export function registerPolicy(program: Command): void {
  const policy = program.command("policy")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust policy lint /etc/siftrust/policy.yaml\n  siftrust policy show --json site.yaml",
    )
    .description("check a site policy file, or show it with every default filled in");

  policy.command("lint")
    .description("load a policy and warn about what is probably not meant")
    .argument("<file>", "the policy file")
    .option("--strict", "exit 1 when there are warnings (default: exit 0 once the policy loads)")
    .addHelpText(
      "after",
      "\nExit codes: 2 when the policy does not load (each problem on stderr), else 0; with " +
        "--strict, 1 when there are warnings.\n\nExamples:\n" +
        "  siftrust policy lint /etc/siftrust/policy.yaml\n" +
        "  siftrust policy lint --strict site.yaml   # in CI, before installing it",
    )
    .action(async (file, options) => {
      const loaded = await loadPolicyOrExit(file);
      const warnings = [
        ...lintPolicy(loaded, new Date()),
        ...await fileWarnings(loaded),
      ];
      const text = await Deno.readTextFile(file);
      for (const line of formatWarnings(warnings, text, file)) print(`WARNING: ${line}\n`);
      if (warnings.length === 0) {
        print(`${file}: no problems found\n`);
        return;
      }
      print(`${file}: ${warnings.length} warning${warnings.length === 1 ? "" : "s"}\n`);
      if (options.strict) throw new CliError("", ExitCode.Failed);
    });

  policy.command("show")
    .description("print the policy in effect, with every default filled in")
    .argument("<file>", "the policy file")
    .option("--json", "print JSON instead of YAML (see docs/policy.md)")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust policy show /etc/siftrust/policy.yaml\n" +
        "  siftrust policy show --json site.yaml | jq .policy.rules",
    )
    .action(async (file, options) => {
      const loaded = await loadPolicyOrExit(file);
      if (options.json) {
        printJson({ path: loaded.path, digest: loaded.digest, policy: policyDocument(loaded) });
        return;
      }
      print(showYaml(loaded));
    });
}

// ------------------------------------------------------------------------------------------
// lint

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
 * The warnings that need the file system: key files that cannot be read, and a policy or key
 * file that others than its owner may change (whoever can write it decides what runs).
 */
export async function fileWarnings(policy: Policy): Promise<LintWarning[]> {
  const warnings: LintWarning[] = [];
  const writable = writersBesidesRoot;
  try {
    const who = writable(await Deno.stat(policy.path));
    if (who !== undefined) {
      warnings.push({
        path: [],
        message: `${who}: whoever can change the policy decides what runs ` +
          "(chmod go-w, and keep it owned by root)",
      });
    }
  } catch {
    // it loaded a moment ago; nothing more to say
  }
  for (const [i, path] of policy.keys.files.entries()) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "no such file"
        : (error as Error).message;
      warnings.push({
        path: ["keys", "files", i],
        message: `key file ${path}: ${reason}: \`siftrust check\` will refuse this policy (exit 2)`,
      });
      continue;
    }
    const who = writable(info);
    if (!info.isFile) {
      warnings.push({
        path: ["keys", "files", i],
        message:
          `key file ${path} is not a file: \`siftrust check\` will refuse this policy (exit 2)`,
      });
    } else if (who !== undefined) {
      warnings.push({
        path: ["keys", "files", i],
        message: `key file ${path}: ${who}, so it can slip in a key of its own choosing ` +
          "(chmod go-w)",
      });
    }
  }
  return warnings;
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
  for (const signer of policy.signers) {
    if (!referenced.has(signer.name)) {
      warnings.push({
        path: ["signers", signer.name],
        message: `signer ${signer.name} is in no signed-by: its signatures never count ` +
          "(add it to a requirement, or remove it)",
      });
    }
    const public_ = PUBLIC_SECRET_KEYS[signer.fingerprint];
    if (public_ !== undefined) {
      warnings.push({
        path: ["signers", signer.name, "fingerprint"],
        message: `signer ${signer.name} is ${public_}, whose secret key is public: anybody can ` +
          "sign as this signer. Never trust it outside the demo",
      });
    }
    if (signer.expires !== undefined) {
      const last = Date.parse(`${signer.expires}T00:00:00Z`);
      const days = Math.round((last - today) / 86_400_000);
      if (days < 0) {
        warnings.push({
          path: ["signers", signer.name, "expires"],
          message: `signer ${signer.name} expired on ${signer.expires}: its signatures no longer ` +
            "count (extend expires, or remove the signer)",
        });
      } else if (days <= EXPIRY_NOTICE_DAYS) {
        const when = days === 0
          ? "today is the last day"
          : `${days} day${days === 1 ? "" : "s"} left`;
        warnings.push({
          path: ["signers", signer.name, "expires"],
          message: `signer ${signer.name} is trusted only until ${signer.expires} (${when}): ` +
            "images signed only by this signer will be denied after that",
        });
      }
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
        message: `rules ${first + 1} and ${j + 1} are both named ${rule.name}: ` +
          "decisions and audit records name the rule, so give each its own name",
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
        message: `${name} is listed twice in this signed-by: list each signer once` +
          (signedBy.kind === "threshold" ? " (a threshold counts different signers)" : ""),
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

function keyWarnings(policy: Policy): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const [i, keyserver] of (policy.keys.keyservers ?? []).entries()) {
    if (/^http:\/\//i.test(keyserver.uri)) {
      warnings.push({
        path: ["keys", "keyservers", i, "uri"],
        message: `keyserver ${keyserver.uri} is plain http: anyone on the network path can ` +
          "see which keys are asked for, and withhold them (use https)",
      });
    }
  }
  if (policy.remote !== undefined && /^http:\/\//i.test(policy.remote.uri)) {
    warnings.push({
      path: ["remote", "uri"],
      message: `remote ${policy.remote.name} is plain http (${policy.remote.uri}): use https`,
    });
  }
  if (policy.keys.offline && !policy.keys.local && policy.keys.files.length === 0) {
    warnings.push({
      path: ["keys"],
      message: "no key material: offline, local: false and no keys.files, so no signature can " +
        "be checked and every image that needs one is denied",
    });
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

/** How an earlier pattern covers a later one, for a person. */
function coverage([earlier, outer, inner]: [Rule, string, string]): string {
  return outer === inner
    ? `"${inner}" is also rule ${earlier.name}'s`
    : `rule ${earlier.name}'s "${outer}" covers "${inner}"`;
}

function unreachableRules(policy: Policy): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const [j, rule] of policy.rules.entries()) {
    const coveredBy = rule.paths.map((pattern) => {
      for (const earlier of policy.rules.slice(0, j)) {
        const outer = earlier.paths.find((p) => patternCovers(p, pattern));
        if (outer !== undefined) return [earlier, outer, pattern] as [Rule, string, string];
      }
      return undefined;
    });
    if (coveredBy.every((c) => c !== undefined)) {
      warnings.push({
        path: ["rules", j],
        message: `rule ${rule.name} never applies: an earlier rule matches every path it does ` +
          `(${coveredBy.map(coverage).join("; ")}); the first matching rule wins, so move it ` +
          "up or remove it",
      });
      continue;
    }
    for (const [k, covered] of coveredBy.entries()) {
      if (covered === undefined) continue;
      warnings.push({
        path: ["rules", j, "paths", k],
        message: `pattern "${covered[2]}" of rule ${rule.name} never applies: ` +
          `${coverage(covered)}, and the first matching rule wins`,
      });
    }
  }
  return warnings;
}

// ------------------------------------------------------------------------------------------
// positions

/**
 * `file:line:column: message` for each warning, by finding its node in the file's YAML (the
 * key of a mapping entry where there is one), sorted by position.
 */
export function formatWarnings(warnings: LintWarning[], text: string, file: string): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const located = warnings.map((warning) => {
    const offset = offsetOf(doc, warning.path);
    if (offset === undefined) return { offset: -1, line: `${file}: ${warning.message}` };
    const { line, col } = lineCounter.linePos(offset);
    return { offset, line: `${file}:${line}:${col}: ${warning.message}` };
  });
  return located.sort((a, b) => a.offset - b.offset).map((l) => l.line);
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

// ------------------------------------------------------------------------------------------
// show

function signedByDocument(signedBy: SignedBy): Record<string, unknown> {
  if (signedBy.kind === "threshold") return { threshold: signedBy.threshold, of: signedBy.names };
  return { [signedBy.kind]: signedBy.names };
}

function requirementDocument(requirement: Requirement): Record<string, unknown> {
  return {
    "signed-by": signedByDocument(requirement.signedBy),
    groups: requirement.groups,
    "unsigned-objects": requirement.unsignedObjects,
    legacy: requirement.legacy,
  };
}

/**
 * The effective policy in the policy file's own format: every default written out, key files
 * as absolute paths. `keys.keyservers` is null when the policy leaves it to the remote.
 */
export function policyDocument(policy: Policy): Record<string, unknown> {
  return {
    version: 1,
    mode: policy.mode,
    signers: Object.fromEntries(
      policy.signers.map((s) => [
        s.name,
        { fingerprint: s.fingerprint, ...(s.expires === undefined ? {} : { expires: s.expires }) },
      ]),
    ),
    keys: {
      files: policy.keys.files,
      local: policy.keys.local,
      keyservers: policy.keys.keyservers?.map((k) => ({
        uri: k.uri,
        insecure: k.insecure ?? false,
      })) ?? null,
      offline: policy.keys.offline,
    },
    ...(policy.remote === undefined ? {} : { remote: { ...policy.remote } }),
    require: requirementDocument(policy.require),
    rules: policy.rules.map((rule) => ({
      name: rule.name,
      paths: rule.paths,
      ...(rule.action !== undefined
        ? { action: rule.action }
        : { require: requirementDocument(rule.require!) }),
    })),
  };
}

/** The effective policy as YAML that loads as the same policy (a comment says whence). */
function showYaml(policy: Policy): string {
  const document = policyDocument(policy);
  const keys = document.keys as Record<string, unknown>;
  const leftToRemote = keys.keyservers === null;
  if (leftToRemote) delete keys.keyservers;
  const doc = new YamlDocument(document);
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  let body = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  if (leftToRemote && !policy.keys.offline) {
    body = body.replace(
      /^(\s+)offline: /m,
      `$1# keyservers: not set: those of ${
        policy.remote === undefined ? "the user's current remote" : `remote ${policy.remote.name}`
      } are used\n$1offline: `,
    );
  }
  return `# the effective policy of ${policy.path}\n# sha256 ${policy.digest}\n${body}`;
}
