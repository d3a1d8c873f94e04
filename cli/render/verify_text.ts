/**
 * `verify`'s report as Apptainer prints it on stdout: for each signature examined, the
 * signer lines (`[GLOBAL]`, `[LOCAL]`, `[REMOTE]`, padded to 18 characters, colour codes
 * counted), the objects it verified, and its error.
 *
 * @module
 */

import type { VerifyEvent } from "../../core/integrity/mod.ts";
import type { KeySource } from "../../core/keys/mod.ts";
import { dataTypeName } from "../../core/sif/mod.ts";

const LABELS: Record<KeySource["kind"], [string, string]> = {
  global: ["[GLOBAL]", "\x1b[36m"],
  local: ["[LOCAL]", "\x1b[32m"],
  file: ["[FILE]", "\x1b[32m"],
  remote: ["[REMOTE]", "\x1b[33m"],
};

/** The report of one signature. `color`: whether stdout takes colour codes. */
export function eventText(event: VerifyEvent, color: boolean): string {
  const lines: string[] = [];
  const signer = event.check.signer;
  if (signer !== undefined) {
    const [label, code] = LABELS[signer.source.kind];
    const prefix = (color ? `${code}${label}\x1b[0m` : label).padEnd(18);
    if (signer.userId !== undefined) lines.push(`${prefix} Signing entity: ${signer.userId}`);
    lines.push(`${prefix} Fingerprint: ${signer.fingerprint}`);
  }
  if (event.verified.length > 0) {
    lines.push("Objects verified:", "ID  |GROUP   |LINK    |TYPE", "-".repeat(48));
    for (const d of event.verified) {
      const group = d.groupId === 0 ? "NONE" : String(d.groupId);
      const link = d.linkedId === 0
        ? "NONE"
        : d.linkedIsGroup
        ? `${d.linkedId} (G)`
        : String(d.linkedId);
      lines.push(
        `${String(d.id).padEnd(4)}|${group.padEnd(8)}|${link.padEnd(8)}|${
          dataTypeName(d.dataType)
        }`,
      );
    }
  }
  if (event.error !== undefined) {
    lines.push("", `Error encountered during signature verification: ${event.error}`);
  }
  return lines.map((line) => `${line}\n`).join("");
}
