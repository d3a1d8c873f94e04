/**
 * `verify`'s report as Apptainer prints it on stdout: for each signature examined, the
 * signer lines (`[GLOBAL]`, `[LOCAL]`, `[REMOTE]`, padded to 18 characters, colour codes
 * counted), the objects it verified, and its error. And the hint after a failure for want of
 * a key.
 *
 * @module
 */

import type { SignatureCheck, VerifyEvent, VerifyFailure } from "../../core/integrity/mod.ts";
import type { KeySource } from "../../core/keys/mod.ts";
import { dataTypeName } from "../../core/sif/mod.ts";
import { displayText } from "../output.ts";

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
    if (signer.userId !== undefined) {
      lines.push(`${prefix} Signing entity: ${displayText(signer.userId)}`);
    }
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
    lines.push(
      "",
      `Error encountered during signature verification: ${displayText(event.error)}`,
    );
  }
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * What to do when a signer's key was not found (`key-unavailable`) or no key material of the
 * signature's kind was given (`no-key-material`). `keyservers`: those asked; undefined when
 * keyservers were kept out (`--local`).
 */
export function keyHintText(
  failure: VerifyFailure,
  check: SignatureCheck,
  keyservers: string[] | undefined,
): string {
  if (check.signature.format === "dsse") {
    return "the image has a DSSE signature: pass its signer's PEM public key with --key";
  }
  if (failure.kind === "no-key-material") {
    return "the image has an OpenPGP signature: verify without --key to use your keyrings";
  }
  const id = check.issuerKeyIds?.[0] ?? "unknown";
  const fingerprint = failure.fingerprint === undefined
    ? ""
    : ` (fingerprint ${failure.fingerprint})`;
  const fixes = "import it with `siftrust key import FILE` or `siftrust key pull FINGERPRINT`, " +
    "or pass it with --keyring FILE";
  if (keyservers === undefined) {
    return `the signer's key ${id}${fingerprint} is in none of the keyrings searched, and ` +
      `--local keeps keyservers out: ${fixes}, or verify without --local`;
  }
  const where = keyservers.length === 0
    ? "and no keyserver is configured"
    : `nor on the keyservers asked (${keyservers.join(", ")})`;
  return `the signer's key ${id}${fingerprint} is in none of the keyrings searched ${where}: ` +
    `${fixes}, or name a keyserver that has it with --url URL`;
}
