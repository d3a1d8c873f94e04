/**
 * The words of `siftrust policy lint`: one line per finding, `file:line:column: message`.
 *
 * @module
 */

import type { Coverage, LintFinding, LocatedWarning } from "../../policy/lint.ts";
import { displayText } from "../output.ts";

/** How an earlier pattern covers a later one, for a person. */
function coverageText({ rule, outer, inner }: Coverage): string {
  return outer === inner
    ? `"${inner}" is also rule ${rule}'s`
    : `rule ${rule}'s "${outer}" covers "${inner}"`;
}

/** What a finding means and what to do about it. */
export function findingText(finding: LintFinding): string {
  switch (finding.code) {
    case "policy-writable":
      return `${finding.who}: whoever can change the policy decides what runs ` +
        "(chmod go-w, and keep it owned by root)";
    case "key-file-unreadable":
      return `key file ${finding.file}: ${finding.missing ? "no such file" : finding.reason}: ` +
        "`siftrust check` will refuse this policy (exit 2)";
    case "key-file-not-a-file":
      return `key file ${finding.file} is not a file: \`siftrust check\` will refuse this policy (exit 2)`;
    case "key-file-writable":
      return `key file ${finding.file}: ${finding.who}, so it can slip in a key of its own ` +
        "choosing (chmod go-w)";
    case "signer-unused":
      return `signer ${finding.signer} is in no signed-by: its signatures never count ` +
        "(add it to a requirement, or remove it)";
    case "signer-public-key":
      return `signer ${finding.signer} is ${finding.key}, whose secret key is public: anybody ` +
        "can sign as this signer. Never trust it outside the demo";
    case "signer-expired":
      return `signer ${finding.signer} expired on ${finding.expires}: its signatures no longer ` +
        "count (extend expires, or remove the signer)";
    case "signer-expiring": {
      const days = finding.days;
      const when = days === 0
        ? "today is the last day"
        : `${days} day${days === 1 ? "" : "s"} left`;
      return `signer ${finding.signer} is trusted only until ${finding.expires} (${when}): ` +
        "images signed only by this signer will be denied after that";
    }
    case "duplicate-rule-name":
      return `rules ${finding.first} and ${finding.second} are both named ${finding.name}: ` +
        "decisions and audit records name the rule, so give each its own name";
    case "duplicate-signer":
      return `${finding.signer} is listed twice in this signed-by: list each signer once` +
        (finding.threshold ? " (a threshold counts different signers)" : "");
    case "plain-http-keyserver":
      return `keyserver ${finding.uri} is plain http: anyone on the network path can see ` +
        "which keys are asked for, and withhold them (use https)";
    case "plain-http-remote":
      return `remote ${finding.name} is plain http (${finding.uri}): use https`;
    case "no-key-material":
      return "no key material: offline, local: false and no keys.files, so no signature can " +
        "be checked and every image that needs one is denied";
    case "rule-unreachable":
      return `rule ${finding.rule} never applies: an earlier rule matches every path it does ` +
        `(${finding.coveredBy.map(coverageText).join("; ")}); the first matching rule wins, ` +
        "so move it up or remove it";
    case "pattern-unreachable":
      return `pattern "${finding.coverage.inner}" of rule ${finding.rule} never applies: ` +
        `${coverageText(finding.coverage)}, and the first matching rule wins`;
  }
}

/**
 * `file:line:column: message` (or `file: message` for the whole file), one line: paths in it
 * are escaped (cli/output.ts, `displayText`).
 */
export function locatedText({ warning, line, column }: LocatedWarning, file: string): string {
  const where = line === undefined ? file : `${file}:${line}:${column}`;
  return displayText(`${where}: ${findingText(warning)}`);
}
