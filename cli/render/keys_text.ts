/**
 * How keys are shown: the short list `sign` offers when there are several secret keys, and
 * `key list`. Times are local (`TZ`), as Go prints them.
 *
 * @module
 */

import type { KeyInfo, KeyUserId } from "../../core/keys/mod.ts";
import { displayText } from "../output.ts";
import { goLocalTime } from "./keys_search.ts";
import { tabwrite } from "./tabwriter.ts";

/** A key's creation time as Go prints it, in the local time zone (`TZ`). */
function createdText(key: KeyInfo): string {
  return goLocalTime(Math.floor(key.created.getTime() / 1000));
}

/**
 * The numbered list of secret keys that `sign` offers, as Apptainer prints it: a `U:` line
 * per user ID, each with the key's number.
 */
export function keyPickerText(keys: KeyInfo[]): string {
  return keys.map((key, i) =>
    key.userIds.map((user) => `${i}) U: ${userText(user)}\n`).join("") +
    `   C: ${createdText(key)}\n` +
    `   F: ${key.fingerprint}\n` +
    `   L: ${key.bits}\n` +
    "   --------\n"
  ).join("");
}

/**
 * A user ID as Apptainer prints it: `Name (Comment) <email>`, brackets even when empty
 * (`rajesh () <>`), its control characters escaped (a key is anyone's text).
 */
function userText(user: KeyUserId): string {
  return displayText(`${user.name} (${user.comment}) <${user.email}>`);
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
      `\tCreation time:\t${createdText(key)}\n`,
      `\tFingerprint:\t${key.fingerprint}\n`,
      `\tLength (in bits):\t${key.bits}\n`,
    );
    return tabwrite(rows.join(""), 2) + "\n";
  }).join("");
}
