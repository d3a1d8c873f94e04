/**
 * What is shown about a key (`key list`, `key pull`, `key push`), as plain values: no
 * openpgp.js object leaves this module through {@linkcode KeyInfo}.
 *
 * @module
 */

import type * as openpgp from "openpgp";

/** A user ID's parts, as the key stores them. */
export interface KeyUserId {
  /** The name part. */
  name: string;
  /** The comment part (without parentheses). */
  comment: string;
  /** The e-mail part (without angle brackets). */
  email: string;
}

/** A (sub)key's identity. */
export interface KeyIdentity {
  /** 40 upper-case hex digits. */
  fingerprint: string;
  /** The key ID: 16 upper-case hex digits. */
  keyId: string;
}

/** The facts about a key that commands show and match on. */
export interface KeyInfo extends KeyIdentity {
  /** Whether it holds secret key material. */
  secret: boolean;
  /** When the primary key was made. */
  created: Date;
  /** Bit length of the primary key (curve keys: 256 for Ed25519, else the curve size). */
  bits: number;
  /** The user IDs that parse, in key order. */
  userIds: KeyUserId[];
  /** The primary key and its subkeys. */
  components: KeyIdentity[];
}

/** The facts about a key. */
export function keyInfo(key: openpgp.Key): KeyInfo {
  const identity = (k: openpgp.Key | openpgp.Subkey): KeyIdentity => ({
    fingerprint: k.getFingerprint().toUpperCase(),
    keyId: k.getKeyID().toHex().toUpperCase(),
  });
  const userIds: KeyUserId[] = [];
  for (const user of key.users) {
    if (user.userID !== null) userIds.push(parseUserId(user.userID.userID));
  }
  return {
    ...identity(key),
    secret: key.isPrivate(),
    created: key.getCreationTime(),
    bits: key.getAlgorithmInfo().bits ?? 256,
    userIds,
    components: [identity(key), ...key.getSubkeys().map(identity)],
  };
}

/**
 * A user ID split as Apptainer's OpenPGP library (go-crypto) splits it: the name runs up to
 * the first `(` or `<`, the comment up to the next `)`, the e-mail from the `<` after it up to
 * `>`; each part trimmed of white space. A part that never closes runs to the end. A lone
 * `user@host` (no brackets) is the e-mail. So `rajesh` is the name `rajesh`, with no comment
 * nor e-mail.
 */
export function parseUserId(text: string): KeyUserId {
  type State = "name" | "comment" | "between" | "email" | "after";
  const start = { name: 0, comment: 0, email: 0 };
  const end = { name: 0, comment: 0, email: 0 };
  let state: State = "name";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (state === "name" && (c === "(" || c === "<")) {
      end.name = i;
      state = c === "(" ? "comment" : "email";
      start[state] = i + 1;
    } else if (state === "comment" && c === ")") {
      end.comment = i;
      state = "between";
    } else if (state === "between" && c === "<") {
      state = "email";
      start.email = i + 1;
    } else if (state === "email" && c === ">") {
      end.email = i;
      state = "after";
    }
  }
  if (state === "name" || state === "comment" || state === "email") end[state] = text.length;
  const part = (p: keyof typeof start) => text.slice(start[p], end[p]).trim();
  const [name, comment, email] = [part("name"), part("comment"), part("email")];
  if (email === "" && name.includes("@")) return { name: "", comment, email: name };
  return { name, comment, email };
}

/**
 * Whether a key is the one a user named: by a 40-digit fingerprint or a 16-digit key ID of
 * the key or a subkey (`key push`), or by the last 8 digits of a fingerprint (`key pull`).
 * Hex is compared without regard to case.
 */
export function keyMatches(info: KeyInfo, wanted: string): boolean {
  const hex = wanted.toUpperCase();
  return info.components.some((c) =>
    hex.length === 40
      ? c.fingerprint === hex
      : hex.length === 16
      ? c.keyId === hex
      : hex.length === 8 && c.fingerprint.endsWith(hex)
  );
}
