/**
 * `check`'s report for people: one line per image, and with `--explain` the decision trace —
 * each signature, each requirement, and what would turn a deny into an allow; and the JSON of
 * a decision. The policy decides in data (policy/decision.ts); the words come from
 * cli/render/decision_words.ts, the exit code from cli/exit.ts.
 *
 * @module
 */

import type { ImageDecision, Policy, SignatureVerdict } from "../../policy/mod.ts";
import { decisionExitCode } from "../exit.ts";
import { displayText as shown } from "../output.ts";
import {
  hintText,
  reasonText,
  reasonTexts,
  requirementText,
  verdictText,
} from "./decision_words.ts";

const LABEL = { allow: "ALLOW", deny: "DENY ", error: "ERROR" } as const;

/**
 * The one-line verdict of an image. Paths and messages may hold anything a file name can:
 * every field is escaped (cli/output.ts, `displayText`), so it stays one line.
 */
export function decisionLine(decision: ImageDecision, cached: boolean): string {
  const reasons = reasonTexts(decision).map(shown);
  if (decision.decision === "error") return `ERROR  ${reasons.join("; ")}\n`;
  const warn = decision.decision === "deny" && decision.mode === "warn"
    ? " (warn mode: not enforced)"
    : "";
  const from = cached ? " (cached)" : "";
  const why = decision.decision === "deny" ? `: ${reasons.join("; ")}` : "";
  return `${LABEL[decision.decision]}  ${shown(decision.image)}  [rule ${
    shown(decision.rule)
  }]${warn}${from}${why}\n`;
}

function signatureLine(s: SignatureVerdict): string {
  const what = s.group !== null ? `group ${s.group}` : `object ${s.object}`;
  const objects = s.objects.length > 0 ? `, objects ${s.objects.join(",")}` : "";
  const signer = s.signer === null
    ? "no signer"
    : `${shown(s.signerName ?? "undeclared")} (${shown(s.signer)})`;
  const source = s.keySource === null ? "" : `, key from ${s.keySource}`;
  return `    signature ${s.id} ${s.type.toUpperCase()} ${what}${objects}: ${signer}${source}; ` +
    `integrity ${s.integrity}, authenticity ${s.authenticity}: ${
      s.trusted ? "TRUSTED" : "not trusted"
    } — ${shown(verdictText(s.because))}\n`;
}

/**
 * The decision trace of an image (`--explain`) under the policy that made it, every field
 * escaped as in {@linkcode decisionLine}.
 */
export function explainText(decision: ImageDecision, policy: Policy): string {
  const lines = [
    `${shown(decision.image)}: ${decision.decision.toUpperCase()} under ${
      shown(policy.path)
    } (rule ${shown(decision.rule)}, mode ${decision.mode})\n`,
  ];
  const reasons = reasonTexts(decision).map((r) => `  ${shown(r)}\n`);
  if (decision.decision === "error") return lines.join("") + reasons.join("");
  if (decision.requirements.length === 0 && decision.signatures.length === 0) {
    return lines.join("") + reasons.join("") + "\n";
  }
  lines.push("  signatures:\n");
  if (decision.signatures.length === 0) lines.push("    none\n");
  lines.push(...decision.signatures.map(signatureLine));
  lines.push("  requirements:\n");
  lines.push(
    ...decision.requirements.map((r) =>
      `    [${r.pass ? "pass" : "FAIL"}] ${shown(requirementText(r.subject))}: ${
        shown(reasonText(r.reason, decision.image))
      }\n`
    ),
  );
  if (decision.hints.length > 0) {
    lines.push("  to allow it:\n");
    lines.push(...decision.hints.map((h) => `    - ${shown(hintText(h, decision))}\n`));
  }
  return lines.join("") + "\n";
}

/** A signature's verdict as `--json` prints it: `because` in words, as `why`. */
function signatureJson(s: SignatureVerdict): Record<string, unknown> {
  const { because, ...fields } = s;
  return { ...fields, why: verdictText(because) };
}

/**
 * The JSON of an image's decision (docs/policy.md, "--json"): reasons, requirements and hints
 * in words, and the image's exit code.
 */
export function decisionJson(decision: ImageDecision, cached: boolean): Record<string, unknown> {
  return {
    image: decision.image,
    decision: decision.decision,
    exitCode: decisionExitCode(decision),
    rule: decision.rule,
    reasons: reasonTexts(decision),
    signatures: decision.signatures.map(signatureJson),
    requirements: decision.requirements.map((r) => ({
      requirement: requirementText(r.subject),
      pass: r.pass,
      why: reasonText(r.reason, decision.image),
    })),
    hints: decision.hints.map((h) => hintText(h, decision)),
    cached,
  };
}

/**
 * The closing line of a check of several images: how many were allowed, denied and not
 * readable, and how many arguments could not be searched.
 */
export function summaryLine(decisions: readonly ImageDecision[], notSearched = 0): string {
  const count = (d: string) => decisions.filter((r) => r.decision === d).length;
  const unsearched = notSearched > 0 ? `; ${notSearched} not searched (see above)` : "";
  return `${decisions.length} images: ${count("allow")} allowed, ${count("deny")} denied, ${
    count("error")
  } not readable${unsearched}\n`;
}
