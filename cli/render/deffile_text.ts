/**
 * The words of `siftrust deffile check`: the log lines for what checking one stage found.
 *
 * @module
 */

import type { FingerprintVerdict, MissingSigner, StageResult } from "../../policy/deffile.ts";

/** A log line: its level and text. */
export type LogLine = ["info" | "warning" | "error", string];

/** The log lines for one stage's result, in order (the command adds the stage label). */
export function stageLines(result: StageResult): LogLine[] {
  switch (result.kind) {
    case "needs-from":
      return [["error", "Bootstrap: localimage needs From: the path of the image"]];
    case "needs-image":
      return [[
        "error",
        `Bootstrap: ${result.agent} downloads ${result.from ?? "its image"}: ` +
        "download it first (e.g. `apptainer pull`) and pass it with --image FILE",
      ]];
    case "no-sif-source": {
      const what = result.agent === undefined || result.agent === ""
        ? "no Bootstrap: header"
        : `Bootstrap: ${result.agent}`;
      return result.listed.length > 0
        ? [[
          "warning",
          `${what} does not start from a SIF image: Apptainer ignores its Fingerprints: header`,
        ]]
        : [["info", `${what} does not start from a SIF image: nothing to verify`]];
    }
    case "not-sif":
      return [[
        "warning",
        `${result.path} is not a SIF image: Apptainer does not verify it` +
        (result.listed.length > 0 ? " and ignores the Fingerprints: header" : ""),
      ]];
    case "bad-image":
      return [["error", result.error.message]];
    case "checked": {
      const opening: LogLine = result.listed.length > 0
        ? [
          "info",
          `Checking bootstrap image verifies with fingerprint(s): [${result.listed.join(" ")}]`,
        ]
        : ["info", `Verifying bootstrap image ${result.path}`];
      return [opening, ...verdictLines(result.path, result.verdict)];
    }
  }
}

function verdictLines(path: string, verdict: FingerprintVerdict): LogLine[] {
  switch (verdict.kind) {
    case "verified":
      return [["info", `Bootstrap image ${path} verified`]];
    // Apptainer before 1.3 warns of an unsigned image as of any failure (1.3 and later only
    // log it at debug level); a check should say it.
    case "unsigned":
    case "unverified":
      return [
        ["warning", verdict.error],
        ["warning", "Bootstrap image could not be verified, but build will continue."],
      ];
    case "failed": {
      const lines: LogLine[] = [["error", `${path}: while checking fingerprint: ${verdict.error}`]];
      const { kind, signature, fingerprint } = verdict.failure;
      if (kind === "key-unavailable" || kind === "no-key-material") {
        lines.push([
          "error",
          `the key of signature ${signature}${fingerprint ? ` (${fingerprint})` : ""} was not ` +
          "found: pass it with --keyring FILE, or import it with `siftrust key import`",
        ]);
      }
      return lines;
    }
    case "not-signed-by":
      return verdict.missing.map((missing) => [
        "error",
        `image not signed by required entities: ${whyMissing(missing)}`,
      ]);
    case "accepted":
      return [[
        "info",
        `Bootstrap image ${path} verified, and signed by every listed fingerprint in every group`,
      ]];
  }
}

function whyMissing({ fingerprint, malformed, groups }: MissingSigner): string {
  if (malformed) return `"${fingerprint}" is not a 40-hex-digit fingerprint, so it never matches`;
  const which = groups.length === 0
    ? "the image"
    : `group${groups.length === 1 ? "" : "s"} ${groups.join(", ")}`;
  return `${fingerprint} has not signed ${which}`;
}
