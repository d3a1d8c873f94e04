/**
 * `check`'s report for people: one line per image, and with `--explain` the decision trace —
 * each signature, each requirement, and what would turn a deny into an allow.
 *
 * @module
 */

import type { ImageDecision, Policy, SignatureVerdict } from "../../policy/mod.ts";

const LABEL = { allow: "ALLOW", deny: "DENY ", error: "ERROR" } as const;

/** The one-line verdict of an image. */
export function decisionLine(decision: ImageDecision, policy: Policy, cached: boolean): string {
  const warn = decision.decision === "deny" && policy.mode === "warn"
    ? " (warn mode: not enforced)"
    : "";
  const from = cached ? " (cached)" : "";
  if (decision.decision === "error") {
    return `ERROR  ${decision.reasons.join("; ")}\n`;
  }
  const why = decision.decision === "deny" ? `: ${decision.reasons.join("; ")}` : "";
  return `${
    LABEL[decision.decision]
  }  ${decision.image}  [rule ${decision.rule}]${warn}${from}${why}\n`;
}

function signatureLine(s: SignatureVerdict): string {
  const what = s.group !== null ? `group ${s.group}` : `object ${s.object}`;
  const objects = s.objects.length > 0 ? `, objects ${s.objects.join(",")}` : "";
  const signer = s.signer === null ? "no signer" : `${s.signerName ?? "undeclared"} (${s.signer})`;
  const source = s.keySource === null ? "" : `, key from ${s.keySource}`;
  return `    signature ${s.id} ${s.type.toUpperCase()} ${what}${objects}: ${signer}${source}; ` +
    `integrity ${s.integrity}, authenticity ${s.authenticity}: ${
      s.trusted ? "TRUSTED" : "not trusted"
    } — ${s.why}\n`;
}

/** The decision trace of an image (`--explain`). */
export function explainText(decision: ImageDecision, policy: Policy): string {
  const lines = [
    `${decision.image}: ${decision.decision.toUpperCase()} under ${policy.path} (rule ${decision.rule}, mode ${policy.mode})\n`,
  ];
  if (decision.decision === "error") {
    lines.push(...decision.reasons.map((r) => `  ${r}\n`));
    return lines.join("");
  }
  if (decision.requirements.length === 0 && decision.signatures.length === 0) {
    lines.push(...decision.reasons.map((r) => `  ${r}\n`));
    return lines.join("") + "\n";
  }
  lines.push("  signatures:\n");
  if (decision.signatures.length === 0) lines.push("    none\n");
  lines.push(...decision.signatures.map(signatureLine));
  lines.push("  requirements:\n");
  lines.push(
    ...decision.requirements.map((r) =>
      `    [${r.pass ? "pass" : "FAIL"}] ${r.requirement}: ${r.why}\n`
    ),
  );
  if (decision.hints.length > 0) {
    lines.push("  to allow it:\n");
    lines.push(...decision.hints.map((h) => `    - ${h}\n`));
  }
  return lines.join("") + "\n";
}

/** The JSON of an image's decision (docs/policy.md). */
export function decisionJson(decision: ImageDecision, cached: boolean): Record<string, unknown> {
  return { ...decision, cached };
}
