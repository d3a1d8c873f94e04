/**
 * Moving keys between the keyrings and a keyserver: `key pull` (fetch one key, check it is the
 * key asked for, add it) and `key push` (pick one public key of a keyring, publish it). The
 * checks are siftrust's own: unlike Apptainer, a pulled key must be the key asked for (by
 * fingerprint, or by the last 8 hex digits of the fingerprint of the key or a subkey) and
 * public, or nothing is added.
 *
 * @module
 */

import type { Keyserver } from "../config/keyservers.ts";
import { armorKey } from "../keys/armor.ts";
import { keyMatches } from "../keys/key_info.ts";
import { type KeyringKey, readKeyringFile } from "../keys/keyring.ts";
import { importKeys, KeyManagementError, type KeyringFiles } from "../keys/manage.ts";
import { type HkpOptions, lookupKey, printable, pushKey } from "./hkp.ts";

/** Why a key cannot be pulled or pushed. */
export type TransferErrorKind =
  /** The key argument is not 8 or 40 (pull), 16 or 40 (push) hex digits. */
  | "bad-argument"
  /** The keyserver sent no key, or (push) the keyring holds none. */
  | "no-key"
  /** The keyserver sent a key that siftrust cannot use. */
  | "unusable-key"
  /** More than one key where one was expected. */
  | "several-keys"
  /** The keyserver sent a key other than the one asked for, or (push) no key matches. */
  | "wrong-key"
  /** The keyserver sent a secret key. */
  | "secret-key";

/** A key that cannot be pulled or pushed; `kind` says why, the message in words. */
export class KeyTransferError extends Error {
  /** Why. */
  readonly kind: TransferErrorKind;

  /** An error of this kind. */
  constructor(kind: TransferErrorKind, message: string) {
    super(message);
    this.name = "KeyTransferError";
    this.kind = kind;
  }
}

/** Go's `hex.DecodeString` error for `text`, or undefined when it decodes. */
function hexDecodeError(text: string): string | undefined {
  const chars = [...text];
  const valid = (c: string) => /^[0-9a-fA-F]$/.test(c);
  const invalid = (c: string) =>
    `encoding/hex: invalid byte: U+${
      c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
    } '${printable(c)}'`;
  for (let i = 1; i < chars.length; i += 2) {
    if (!valid(chars[i - 1])) return invalid(chars[i - 1]);
    if (!valid(chars[i])) return invalid(chars[i]);
  }
  if (chars.length % 2 === 1) {
    if (!valid(chars[chars.length - 1])) return invalid(chars[chars.length - 1]);
    return "encoding/hex: odd length hex string";
  }
  return undefined;
}

/**
 * The hex of a `key pull` argument: 8 or 40 hex digits, either case, upper-cased (Apptainer's
 * rules and messages: `failed to decode fingerprint: encoding/hex: …`, `not a valid key
 * length: …`).
 */
export function parsePullArgument(text: string): string {
  const invalid = hexDecodeError(text);
  if (invalid !== undefined) {
    throw new KeyTransferError(
      "bad-argument",
      `failed to decode fingerprint: ${invalid} (give 8 or 40 hex digits, without 0x)`,
    );
  }
  if (text.length !== 8 && text.length !== 40) {
    throw new KeyTransferError(
      "bad-argument",
      "not a valid key length: only accepts 8, or 40 chars",
    );
  }
  return text.toUpperCase();
}

/** The one key a keyserver sent, checked against what was asked for (`hex`). */
export function checkPulledKey(
  keys: KeyringKey[],
  skipped: { reason: string }[],
  hex: string,
): KeyringKey {
  if (keys.length === 0) {
    throw skipped.length > 0
      ? new KeyTransferError(
        "unusable-key",
        `the keyserver sent a key siftrust cannot use: ${printable(skipped[0].reason)}`,
      )
      : new KeyTransferError("no-key", "no keys in keyring");
  }
  if (keys.length + skipped.length > 1) {
    throw new KeyTransferError(
      "several-keys",
      "server returned more than one key for unique fingerprint",
    );
  }
  const [found] = keys;
  const info = found.key.info;
  if (!keyMatches(info, hex) || (hex.length === 40 && info.fingerprint !== hex)) {
    throw new KeyTransferError(
      "wrong-key",
      `the keyserver sent the key ${info.fingerprint}, not the key ${hex} asked for: nothing was added`,
    );
  }
  if (info.secret) {
    throw new KeyTransferError("secret-key", "the keyserver sent a secret key: nothing was added");
  }
  return found;
}

/**
 * Pulls the key `hex` (from {@linkcode parsePullArgument}) and adds it to the public keyring,
 * unless a key with its primary key ID is there already (as Apptainer does). Returns how many
 * keys were added (0 or 1). Keyserver failures throw HkpError.
 */
export async function pullKey(
  keyserver: Keyserver,
  hex: string,
  files: KeyringFiles,
  options: HkpOptions = {},
): Promise<number> {
  const answer = await lookupKey(keyserver, hex, options);
  const found = checkPulledKey(answer.keys, answer.skipped, hex);
  const keyId = found.key.keyId;
  const present = await readKeyringFile(files.publicKeyring);
  if (present.keys.some(({ key }) => key.keyId === keyId)) return 0;
  try {
    await importKeys(files, { keys: [found], skipped: [], blocks: [found.raw] });
  } catch (error) {
    if (error instanceof KeyManagementError && error.kind === "duplicate") return 0;
    throw error;
  }
  return 1;
}

/** A key chosen to be pushed. */
export interface PushableKey {
  /** Its primary fingerprint. */
  fingerprint: string;
  /** Its transferable-key bytes. */
  raw: Uint8Array;
}

/**
 * The one public key of the keyring at `path` that `wanted` names: 16 hex digits (a key ID of
 * the key or a subkey) or 40 (a fingerprint).
 */
export async function pushableKey(path: string, wanted: string): Promise<PushableKey> {
  if (wanted.length !== 16 && wanted.length !== 40) {
    throw new KeyTransferError(
      "bad-argument",
      "please provide a keyid(16 chars) or a full fingerprint(40 chars)",
    );
  }
  if (!/^[0-9a-fA-F]+$/.test(wanted)) {
    throw new KeyTransferError(
      "bad-argument",
      `"${
        printable(wanted)
      }" is not hexadecimal: give a key ID (16 hex digits) or a fingerprint (40)`,
    );
  }
  const keyring = await readKeyringFile(path);
  if (keyring.keys.length === 0) {
    throw new KeyTransferError(
      "no-key",
      `no public keys in local store to choose from (${path})`,
    );
  }
  const matches = keyring.keys.filter(({ key }) => keyMatches(key.info, wanted));
  if (matches.length !== 1) {
    throw new KeyTransferError(
      matches.length > 1 ? "several-keys" : "wrong-key",
      `could not find the requested key${
        matches.length > 1 ? ` (${matches.length} keys of ${path} match it)` : ` in ${path}`
      }`,
    );
  }
  return { fingerprint: matches[0].key.fingerprint, raw: matches[0].raw };
}

/**
 * Publishes a public key (its transferable-key bytes) on a keyserver, armored with the
 * checksum line SKS requires. Returns the keyserver's answer as one line of text. Keyserver
 * failures throw HkpError.
 */
export async function publishKey(
  keyserver: Keyserver,
  raw: Uint8Array,
  options: HkpOptions = {},
): Promise<string> {
  return answerSummary(await pushKey(keyserver, armorKey(raw), options));
}

/** A keyserver's answer to a push, as one line: HTML reduced to its text. */
export function answerSummary(answer: string): string {
  const text = answer
    .replace(/<(head|style|script)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!DOCTYPE[^>]*>|<\?xml[^>]*\?>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'").replace(/&nbsp;/g, " ").replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
  return printable(text);
}
