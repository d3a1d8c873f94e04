/**
 * How keys are shown: the short list `sign` offers when there are several secret keys, and
 * `key list`.
 *
 * @module
 */

import type * as openpgp from "openpgp";
import { primaryUserId } from "../../core/integrity/pgp.ts";
import type { KeyInfo, KeyUserId } from "../../core/keys/mod.ts";
import { goUtcTime } from "./go_format.ts";
import { tabwrite } from "./tabwriter.ts";

/** Bit length of a key's primary key (curve keys: 256 for Ed25519, else the curve size). */
export function keyBits(key: openpgp.Key): number {
  const info = key.getAlgorithmInfo();
  return info.bits ?? 256;
}

/** The numbered list of keys, as Apptainer's sign shows it. */
export async function keyPickerText(keys: openpgp.Key[]): Promise<string> {
  const blocks = await Promise.all(
    keys.map(async (key, i) =>
      `${i}) U: ${await primaryUserId(key) ?? "unknown"}\n` +
      `   C: ${goUtcTime(Math.floor(key.getCreationTime().getTime() / 1000))}\n` +
      `   F: ${key.getFingerprint().toUpperCase()}\n` +
      `   L: ${keyBits(key)}\n` +
      "   --------\n"
    ),
  );
  return blocks.join("");
}

/** A user ID as Apptainer prints it: `Name (Comment) <email>`, brackets even when empty. */
function userText(user: KeyUserId): string {
  return `${user.name} (${user.comment}) <${user.email}>`;
}

/**
 * The `key list` entries: one block per key, aligned per key as Apptainer's tab writer
 * does, a `User:` row per user ID, a blank line after each.
 */
export function keyListText(keys: KeyInfo[]): string {
  return keys.map((key, i) => {
    const users = key.userIds.map(userText);
    const rows = (users.length === 0 ? ["unknown"] : users).map((user, j) =>
      `${j === 0 ? `${i})` : ""}\tUser:\t${user}\n`
    );
    rows.push(
      `\tCreation time:\t${goUtcTime(Math.floor(key.created.getTime() / 1000))}\n`,
      `\tFingerprint:\t${key.fingerprint}\n`,
      `\tLength (in bits):\t${key.bits}\n`,
    );
    return tabwrite(rows.join(""), 2) + "\n";
  }).join("");
}
