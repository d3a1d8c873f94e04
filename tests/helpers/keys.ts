/**
 * OpenPGP keys made in-process for tests: Ed25519 (legacy EdDSA, as `gpg` and Apptainer make
 * them), quick to generate, with the user ID `name <name@example.org>`.
 *
 * @module
 */

import * as openpgp from "openpgp";

/** Options of {@link newKey}. */
export interface NewKeyOptions {
  /** Creation time (default now). */
  date?: Date;
  /** Seconds from creation until the key expires (default never). */
  keyExpirationTime?: number;
}

/** A new secret key for `name`. */
export async function newKey(
  name: string,
  options: NewKeyOptions = {},
): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name}@example.org` }],
    format: "object",
    ...options,
  });
  return privateKey;
}

/** A key's primary fingerprint: 40 upper-case hex digits. */
export function fingerprintOf(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}
