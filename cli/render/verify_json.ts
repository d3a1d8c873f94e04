/**
 * `verify --json` (documented in docs/signing.md): the verdict and its failure kind, and one entry per signature
 * examined with what it covers, who signed it, where the key came from, and the integrity and
 * authenticity verdicts. And Apptainer's own, smaller document (`--json-format apptainer`).
 *
 * @module
 */

import type { VerifyReport } from "../../core/integrity/mod.ts";
import { dataTypeName, type Descriptor } from "../../core/sif/mod.ts";

/** The JSON report of a verification. */
export function verifyJson(image: string, report: VerifyReport): Record<string, unknown> {
  const errors = new Map(
    report.outcome.events.map((event) => [event.check.id, event.error ?? null]),
  );
  return {
    image,
    verified: report.outcome.error === undefined,
    error: report.outcome.error ?? null,
    failure: report.outcome.failure ?? null,
    signatures: report.checks.map((check) => ({
      id: check.id,
      type: check.signature.format,
      group: "group" in check.target ? check.target.group : null,
      object: "object" in check.target ? check.target.object : null,
      objects: [...check.signedIds ?? []].sort((a, b) => a - b),
      signer: check.signer?.fingerprint ?? check.signature.fingerprint ?? null,
      signerName: check.signer?.userId ?? null,
      keySource: check.signer?.source.kind ?? null,
      keyLocation: check.signer?.source.location ?? null,
      dsseKeyIds: check.dsseKeyIds ?? [],
      integrity: check.integrity,
      authenticity: check.authenticity === "no-key-material" ? "not-checked" : check.authenticity,
      examined: errors.has(check.id),
      error: errors.get(check.id) ?? null,
    })),
  };
}

/** One entry of Apptainer's `verify --json`: an object a signature covers, and its signer. */
interface ApptainerEntry {
  Partition: string;
  Name: string;
  Fingerprint: string;
  KeyLocal: boolean;
  KeyCheck: boolean;
  DataCheck: boolean;
}

/**
 * Apptainer's `verify --json` document (`--json-format apptainer`, see docs/signing.md):
 * `Signatures`, the count of signatures examined, and `SignerKeys`, one entry per object a
 * signature verified (`DataCheck: true`) and one for the object whose data no longer matches
 * (`DataCheck: false`). `KeyLocal` is true for a key from the user's keyring (or a
 * `--keyring` file); `KeyCheck`, whenever the signer's key was found. Printed as Go's
 * encoder prints it: two-space indent, `<`, `>`, `&` escaped, `null` for no entry.
 */
export function apptainerVerifyJson(
  report: VerifyReport,
  descriptors: readonly Descriptor[],
): string {
  const entries: ApptainerEntry[] = [];
  for (const event of report.outcome.events) {
    const signer = event.check.signer;
    const about = {
      Name: signer?.userId ?? "unknown",
      Fingerprint: signer?.fingerprint.toLowerCase() ?? "",
      KeyLocal: signer?.source.kind === "local" || signer?.source.kind === "file",
      KeyCheck: signer !== undefined,
    };
    const entry = (d: Descriptor, dataCheck: boolean): ApptainerEntry => ({
      Partition: dataTypeName(d.dataType),
      ...about,
      DataCheck: dataCheck,
    });
    entries.push(...event.verified.map((d) => entry(d, true)));
    const failure = event.failure;
    if (failure?.kind === "object-mismatch" && failure.object !== undefined) {
      const changed = descriptors.find((d) => d.id === failure.object);
      if (changed !== undefined) entries.push(entry(changed, false));
    }
  }
  const signerKeys = entries.length === 0
    ? "null"
    : `[\n${
      entries.map((e) => `    {\n      "Signer": ${goObject(e, "      ")}\n    }`).join(",\n")
    }\n  ]`;
  return `{\n  "Signatures": ${report.outcome.events.length},\n  "SignerKeys": ${signerKeys}\n}\n`;
}

/** A flat object as Go's indenting encoder prints it, its fields one level below `indent`. */
function goObject(value: ApptainerEntry, indent: string): string {
  const fields = Object.entries(value).map(([name, field]) =>
    `${indent}  "${name}": ${typeof field === "string" ? goString(field) : String(field)}`
  );
  return `{\n${fields.join(",\n")}\n${indent}}`;
}

/** Go's (≥ 1.22) short escapes; other control characters are written `\u00XX`. */
const GO_SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** A string as Go's JSON encoder writes it (HTML-safe: `<`, `>`, `&`, U+2028/9 escaped). */
function goString(text: string): string {
  const escaped = [...text].map((c) => {
    const code = c.codePointAt(0)!;
    const hex = () => `\\u${code.toString(16).padStart(4, "0")}`;
    return GO_SHORT_ESCAPES[c] ?? (code < 0x20 || "<>&\u2028\u2029".includes(c) ? hex() : c);
  });
  return `"${escaped.join("")}"`;
}
