/**
 * Whether an OpenPGP secret key can sign now, and if not why: revoked, expired, or without a
 * valid signing (sub)key.
 *
 * @module
 */

import type * as openpgp from "openpgp";

/** Why a key cannot sign. */
export type SigningKeyProblem =
  /** The key is revoked. */
  | "revoked"
  /** The key has expired. */
  | "expired"
  /** Neither the primary key nor a subkey may sign now (flags, or their own expiry/revocation). */
  | "no-signing-key";

/** Why a key cannot sign at `now`, or undefined when it can. */
export async function signingKeyProblem(
  key: openpgp.PrivateKey,
  now: Date = new Date(),
): Promise<SigningKeyProblem | undefined> {
  try {
    await key.getSigningKey(undefined, now);
    return undefined;
  } catch {
    // find out why below
  }
  if (await key.isRevoked(undefined, undefined, now)) return "revoked";
  const expiry = await key.getExpirationTime();
  if (expiry instanceof Date && expiry.getTime() <= now.getTime()) return "expired";
  return "no-signing-key";
}
