/**
 * The header of an Apptainer definition file (a build recipe), read as Apptainer's parser
 * reads it: stages start at each `Bootstrap:` line, and a stage's header is the `key: value`
 * lines before its first `%section`.
 *
 * @module
 */

/** The header of one stage of a definition file. */
export interface DefinitionHeader {
  /** Keys lower-cased; values trimmed, comments dropped. */
  fields: Record<string, string>;
  /** The `Fingerprints:` list: split on `,`, items trimmed; empty when absent or blank. */
  fingerprints: string[];
}

/** Why Apptainer's parser would refuse a header. */
export type DefinitionErrorKind =
  /** A header line has no `:`. */
  | "no-value"
  /** A header key is not one Apptainer knows. */
  | "invalid-keyword";

/** A definition file that Apptainer's parser would refuse. The message is Apptainer's. */
export class DefinitionError extends Error {
  /** Which failure this is. */
  readonly kind: DefinitionErrorKind;
  /** The key (or the line without a value) at fault. */
  readonly key: string;

  /** Creates an error for `key`, worded as Apptainer words it. */
  constructor(kind: DefinitionErrorKind, key: string) {
    super(
      kind === "no-value" ? `header key ${key} had no val` : `invalid header keyword found: ${key}`,
    );
    this.name = "DefinitionError";
    this.kind = kind;
    this.key = key;
  }
}

/** Header keywords Apptainer accepts (`otherurl<N>` too). */
const HEADER_KEYWORDS = new Set([
  "bootstrap",
  "from",
  "includecmd",
  "mirrorurl",
  "updateurl",
  "osversion",
  "include",
  "library",
  "registry",
  "namespace",
  "stage",
  "product",
  "user",
  "regcode",
  "productpgp",
  "registerurl",
  "modules",
  "fingerprints",
  "confurl",
  "setopt",
]);

/**
 * Splits a definition file into its stages (a new stage starts at each line that begins with
 * `Bootstrap:`, any case) and reads each stage's header: the lines before the first line
 * whose first word starts with `%`. A stage of only comments and blank lines is skipped.
 *
 * @throws DefinitionError when a header line has no value or an unknown key
 */
export function parseDefinition(text: string): DefinitionHeader[] {
  const starts = [...text.matchAll(/^bootstrap:/gim)].map((m) => m.index!);
  const bounds = [0, ...starts.filter((s) => s > 0), text.length];
  const stages: DefinitionHeader[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const header = headerOf(text.slice(bounds[i], bounds[i + 1]));
    if (header !== undefined) stages.push(header);
  }
  return stages;
}

function headerOf(stage: string): DefinitionHeader | undefined {
  const lines = stage.split(/\r?\n/);
  const end = lines.findIndex((line) => line.trim().split(/\s+/)[0].startsWith("%"));
  const fields: Record<string, string> = {};
  let continued: { key: string; value: string } | undefined;
  for (const raw of end === -1 ? lines : lines.slice(0, end)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) {
      if (continued !== undefined) fields[continued.key] = continued.value;
      continued = undefined;
      continue;
    }
    const text = line.split("#")[0];
    let key: string;
    let value: string;
    if (continued === undefined) {
      const colon = text.indexOf(":");
      if (colon === -1) throw new DefinitionError("no-value", text);
      key = text.slice(0, colon).trim().toLowerCase();
      value = text.slice(colon + 1).trim();
    } else {
      key = continued.key;
      value = continued.value + text.trim();
      continued = undefined;
    }
    if (value.endsWith("\\")) {
      let rest = value.slice(0, -1);
      if (rest.endsWith("\\n")) rest = `${rest.slice(0, -2)}\n`;
      // An empty value does not continue: the key is dropped and the next line read afresh.
      continued = rest === "" ? undefined : { key, value: rest };
      continue;
    }
    if (!HEADER_KEYWORDS.has(key) && !/^otherurl\d+$/.test(key)) {
      throw new DefinitionError("invalid-keyword", key);
    }
    fields[key] = value;
  }
  if (Object.keys(fields).length === 0 && end === -1) return undefined;
  const list = fields.fingerprints?.trim() ?? "";
  return {
    fields,
    fingerprints: list === "" ? [] : list.split(",").map((item) => item.trim()),
  };
}
