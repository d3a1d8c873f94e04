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
    const id = user.userID;
    if (id !== null) userIds.push({ name: id.name, comment: id.comment, email: id.email });
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
