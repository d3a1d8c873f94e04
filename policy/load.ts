/**
 * Loading a policy file: YAML with positions, the strict schema, then the checks the schema
 * cannot express (declared signers, shared fingerprints, threshold ranges, http keyservers,
 * absolute rule paths). Every problem is reported as `file:line:column: message`; nothing is
 * evaluated with a policy that did not load.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";
import type { z } from "zod";
import { compileGlob, GlobError } from "./glob.ts";
import { effectivePolicy, type Policy } from "./model.ts";
import { type PolicyFile, PolicySchema, type SignedByExpression } from "./schema.ts";

/** A policy that did not load: one line per problem, each naming file, line and column. */
export class PolicyError extends Error {
  /** The problems, each `file:line:column: message`. */
  readonly problems: string[];

  /** A policy error with these problems, each `file:line:column: message`. */
  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.name = "PolicyError";
    this.problems = problems;
  }
}

type Path = (string | number)[];

/** Reads, parses and checks a policy file. */
export async function loadPolicy(path: string): Promise<Policy> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file: pass --policy FILE, or install one at /etc/siftrust/policy.yaml"
      : (error as Error).message;
    throw new PolicyError([`${path}: cannot read the policy: ${reason}`]);
  }
  const absolute = await Deno.realPath(path);
  const folder = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const file = parsePolicy(new TextDecoder().decode(bytes), path);
  return effectivePolicy(file, absolute, createHash("sha256").update(bytes).digest("hex"), folder);
}

/** Parses and checks a policy's text; `path` is used in messages. */
export function parsePolicy(text: string, path: string): PolicyFile {
  const lineCounter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
      logLevel: "error", // no warnings on stderr: every problem is reported below
    });
  } catch (error) {
    // The parser bounds nesting as it builds values, but its first pass recurses once per
    // level: values nested thousands deep (`- - - …`) can exhaust the stack before that.
    if (!(error instanceof RangeError)) throw error;
    throw new PolicyError([`${path}:${deepestLine(text)}:1: ${TOO_DEEP}`]);
  }
  const at = (offset: number | undefined) => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return `${path}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    refuse(
      doc.errors.map((e) => ({ offset: e.pos[0], line: `${at(e.pos[0])}: ${yamlProblem(e)}` })),
      at,
    );
  }
  const unresolved = unresolvedAlias(doc);
  if (unresolved !== undefined) {
    throw new PolicyError([
      `${
        at(unresolved.range?.[0])
      }: the alias *${unresolved.source} names no anchor (&${unresolved.source})`,
    ]);
  }
  const bomb = aliasBomb(doc);
  if (bomb !== undefined) {
    const problem = bomb.cyclic
      ? "is inside the value it names"
      : `makes the policy expand to more than ${MAX_ALIAS_EXPANSION} values: write the values out`;
    throw new PolicyError([
      `${at(bomb.alias.range?.[0])}: the alias *${bomb.alias.source} ${problem}`,
    ]);
  }
  // aliasBomb bounds the expansion, so the parser's own alias count limit is not needed.
  const parsed = PolicySchema.safeParse(doc.toJS({ maxAliasCount: -1 }) ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [node, message] = describe(doc, issue);
      return { offset: node?.range?.[0] ?? 0, line: `${at(node?.range?.[0])}: ${message}` };
    });
    refuse(problems, at);
  }
  const problems = semanticProblems(parsed.data, doc).map(([nodePath, message]) => {
    const node = doc.getIn(nodePath, true) as Node | undefined;
    return { offset: node?.range?.[0] ?? 0, line: `${at(node?.range?.[0])}: ${message}` };
  });
  if (problems.length > 0) {
    refuse(problems, at);
  }
  return parsed.data;
}

/** The most problems reported for one policy; the rest are counted. */
const MAX_PROBLEMS = 50;

/** Throws the problems, in file order, the first {@linkcode MAX_PROBLEMS} of them. */
function refuse(
  problems: { offset: number; line: string }[],
  at: (offset: number) => string,
): never {
  const sorted = problems.sort((a, b) => a.offset - b.offset);
  const lines = sorted.slice(0, MAX_PROBLEMS).map((p) => p.line);
  if (sorted.length > MAX_PROBLEMS) {
    lines.push(
      `${at(sorted[MAX_PROBLEMS].offset)}: and ${sorted.length - MAX_PROBLEMS} more problems`,
    );
  }
  throw new PolicyError(lines);
}

const TOO_DEEP = "the policy nests values too deeply to be read";

/**
 * The line (1-based) that opens the most nested values at its start (`- `, `? `, `[`, `{`):
 * where a policy too deep for the parser is deepest. Linear in the text.
 */
function deepestLine(text: string): number {
  let deepest = { line: 1, depth: -1 };
  let line = 1;
  for (let start = 0; start <= text.length; line++) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline;
    let depth = 0;
    for (let i = start; i < end; i++) {
      const c = text[i];
      if (c === "[" || c === "{") depth++;
      else if ((c === "-" || c === "?") && (i + 1 === end || text[i + 1] === " ")) depth++;
      else if (c !== " " && c !== "\t") break;
    }
    if (depth > deepest.depth) deepest = { line, depth };
    start = end + 1;
  }
  return deepest.line;
}

/** A YAML parser message for people: first line, without the parser's own position. */
function yamlProblem(error: YAMLError): string {
  if (error.code === "MULTIPLE_DOCS") {
    return "a policy file holds one YAML document: remove the extra `---` section";
  }
  if (error.code === "RESOURCE_EXHAUSTION") return TOO_DEEP;
  return error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/** The first alias that names no anchor, if any (the parser leaves those to be found later). */
function unresolvedAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        found = node;
        return visit.BREAK;
      }
    },
  });
  return found;
}

/** How many values aliases may add to a policy when they are expanded. */
export const MAX_ALIAS_EXPANSION = 10_000;

/**
 * The alias that expands the most, when aliases add more than {@linkcode MAX_ALIAS_EXPANSION}
 * values to the policy (a "billion laughs" document) or refer to themselves. Sizes are
 * counted once per node, so this takes time linear in the document's size.
 */
function aliasBomb(doc: Document): { alias: Alias; cyclic: boolean } | undefined {
  const sizes = new Map<unknown, number>();
  const aliases: Alias[] = [];
  const size = (node: unknown): number => {
    if (node === null || node === undefined) return 0;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    sizes.set(node, Infinity); // a node met again while being counted is a cycle
    let total = 1;
    if (isAlias(node)) {
      aliases.push(node);
      total = size(node.resolve(doc));
    } else if (isMap(node)) {
      for (const pair of node.items) total += size(pair.key) + size(pair.value);
    } else if (isSeq(node)) {
      for (const item of node.items) total += size(item);
    }
    sizes.set(node, total);
    return total;
  };
  let plain = 0;
  visit(doc, { Node: () => void plain++ });
  const expanded = size(doc.contents);
  if (expanded - plain <= MAX_ALIAS_EXPANSION) return undefined;
  const worst = aliases.reduce((worst, alias) => size(alias) > size(worst) ? alias : worst);
  return { alias: worst, cyclic: size(worst) === Infinity };
}

const FIELDS: Record<string, string[]> = {
  "": ["version", "mode", "signers", "keys", "remote", "require", "rules"],
  signer: ["fingerprint", "key", "certificate", "expires"],
  certificate: ["file", "roots", "intermediates", "ocsp", "crls"],
  keys: ["files", "local", "keyservers", "offline"],
  keyserver: ["uri", "insecure"],
  remote: ["name", "uri", "exclusive"],
  require: ["signed-by", "groups", "unsigned-objects", "legacy"],
  "signed-by": ["any-of", "all-of", "threshold", "of"],
  rule: ["name", "paths", "require", "action"],
};

/** Which kind of mapping a path leads to, for "did you mean" hints. */
function mappingKind(path: Path): string {
  const names = path.filter((p) => typeof p === "string") as string[];
  if (names.length === 0) return "";
  if (path[0] === "signers" && path.length === 2) return "signer";
  if (path[0] === "keys" && path[1] === "keyservers") return "keyserver";
  if (path[0] === "rules" && path.length === 2) return "rule";
  return names.at(-1)!;
}

function describe(doc: Document, issue: z.core.$ZodIssue): [Node | undefined, string] {
  const path = issue.path as Path;
  const field = path.length === 0 ? "the policy" : path.join(".");
  const node = doc.getIn(path, true) as Node | undefined;
  switch (issue.code) {
    case "unrecognized_keys": {
      const parent = doc.getIn(path, true);
      const key = issue.keys[0];
      const pair = isMap(parent)
        ? parent.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key)
        : undefined;
      const known = FIELDS[mappingKind(path)] ?? [];
      const hint = closest(key, known);
      const where = path.length === 0 ? "" : ` in ${field}`;
      return [
        (pair?.key as Node) ?? node,
        `unknown field "${key}"${where}${hint ? ` (did you mean "${hint}"?)` : ""}`,
      ];
    }
    case "invalid_type":
      if (
        node === undefined ||
        (node as { value?: unknown }).value === undefined && !isMap(node) && !isSeq(node)
      ) {
        return [nearest(doc, path), `${field} is required`];
      }
      return [
        node,
        `${field} must be ${article(issue.expected)}${
          issue.expected === "string" && path.at(-1) === "fingerprint" ? " (quote it)" : ""
        }`,
      ];
    case "invalid_value":
      return [node, `${field} must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`];
    case "invalid_union":
      return [
        node,
        path.at(-1) === "groups"
          ? `${field} must be all, or a list of group numbers such as [1, 2]`
          : `${field} has the wrong form`,
      ];
    case "invalid_key": {
      const parent = doc.getIn(path.slice(0, -1), true);
      const key = String(path.at(-1));
      const pair = isMap(parent)
        ? parent.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === key)
        : undefined;
      const reason = issue.issues[0]?.message ?? "not a valid name";
      return [(pair?.key as Node) ?? node, `"${key}": ${reason}`];
    }
    default:
      return [
        node ?? nearest(doc, path),
        path.length === 0 || issue.code === "custom" ? issue.message : `${field}: ${issue.message}`,
      ];
  }
}

function article(expected: string): string {
  return {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a mapping",
  }[expected] ?? expected;
}

/** The deepest node on a path that exists (for a field that is missing). */
function nearest(doc: Document, path: Path): Node | undefined {
  for (let n = path.length - 1; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node !== undefined && n > 0) return node;
  }
  return doc.contents ?? undefined;
}

/** The known name closest to a misspelt one, if close enough. */
function closest(word: string, names: string[]): string | undefined {
  let best: [string, number] | undefined;
  for (const name of names) {
    const d = distance(word, name);
    if (d <= 2 && (best === undefined || d < best[1])) best = [name, d];
  }
  return best?.[0];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** Checks across fields: each problem is the path of the node at fault and a message. */
function semanticProblems(policy: PolicyFile, doc: Document): [Path, string][] {
  const problems: [Path, string][] = [];
  const declared = new Set(Object.keys(policy.signers));
  const checkSignedBy = (expression: SignedByExpression | undefined, base: Path) => {
    if (expression === undefined) return;
    for (const key of ["any-of", "all-of", "of"] as const) {
      for (const [i, name] of (expression[key] ?? []).entries()) {
        if (!declared.has(name)) {
          problems.push([[...base, key, i], `signer "${name}" is not declared under signers`]);
        } else if (expression[key]!.indexOf(name) !== i) {
          problems.push([[...base, key, i], `signer "${name}" is listed twice`]);
        }
      }
    }
    if (
      expression.threshold !== undefined && expression.of !== undefined &&
      expression.threshold > expression.of.length
    ) {
      problems.push([
        [...base, "threshold"],
        `threshold ${expression.threshold} is more than the ${expression.of.length} signers of the list`,
      ]);
    }
  };
  checkSignedBy(policy.require?.["signed-by"], ["require", "signed-by"]);
  for (const [i, rule] of (policy.rules ?? []).entries()) {
    checkSignedBy(rule.require?.["signed-by"], ["rules", i, "require", "signed-by"]);
    for (const [j, pattern] of rule.paths.entries()) {
      if (!pattern.startsWith("/")) {
        problems.push([
          ["rules", i, "paths", j],
          `path pattern "${pattern}" must be absolute (start with /)`,
        ]);
      }
      try {
        compileGlob(pattern);
      } catch (error) {
        if (!(error instanceof GlobError)) throw error;
        problems.push([["rules", i, "paths", j], `path pattern "${pattern}": ${error.message}`]);
      }
    }
  }
  problems.push(...signerProblems(policy));
  for (const [i, keyserver] of (policy.keys?.keyservers ?? []).entries()) {
    if (keyserver.uri.startsWith("http://") && keyserver.insecure !== true) {
      problems.push([
        ["keys", "keyservers", i, "uri"],
        `${keyserver.uri} is plain http: add insecure: true to use it`,
      ]);
    }
  }
  if (doc.contents === null) problems.push([[], "the policy is empty"]);
  return problems;
}

/**
 * Signers that share a fingerprint, a key file or a certificate file, and certificate signers
 * that ask OCSP in an offline policy. Two files holding the same key are found when the keys
 * are loaded (policy/dsse_signers.ts).
 */
function signerProblems(policy: PolicyFile): [Path, string][] {
  const problems: [Path, string][] = [];
  const owner = new Map<string, string>();
  const claim = (identity: string, name: string, path: Path, what: string) => {
    const other = owner.get(identity);
    if (other !== undefined) problems.push([path, `signers ${other} and ${name} share ${what}`]);
    else owner.set(identity, name);
  };
  for (const [name, signer] of Object.entries(policy.signers)) {
    if (signer.fingerprint !== undefined) {
      const fingerprint = signer.fingerprint;
      claim(
        `pgp:${fingerprint}`,
        name,
        ["signers", name, "fingerprint"],
        `the fingerprint ${fingerprint}`,
      );
    }
    const file = signer.key ?? signer.certificate?.file;
    if (file !== undefined) {
      const path = signer.key !== undefined
        ? ["signers", name, "key"]
        : ["signers", name, "certificate", "file"];
      claim(`file:${normalize(file)}`, name, path, `the key file ${file}`);
    }
    if (signer.certificate?.ocsp === true && policy.keys?.offline === true) {
      problems.push([
        ["signers", name, "certificate", "ocsp"],
        "ocsp: true asks the network, but keys.offline is true: drop one, or check revocation offline with crls: [FILE]",
      ]);
    }
  }
  return problems;
}

/** A path without `.` segments, repeated or trailing slashes (to compare paths as written). */
function normalize(path: string): string {
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  return (path.startsWith("/") ? "/" : "") + segments.join("/");
}
