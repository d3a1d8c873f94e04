/**
 * A claimed fingerprint is not a key: a signature whose key was not found, but whose
 * descriptor names a declared signer whose key is at hand, was made by another key. The
 * policy calls it a bad signature (a deny, exit 1), not a key to fetch.
 *
 * @module
 */

import { keyAtHand, type SignatureCheck } from "../core/integrity/mod.ts";
import type { KeyFinder } from "../core/keys/mod.ts";
import type { Policy } from "./model.ts";

/**
 * The IDs of the signatures whose key was not found although the key of the declared signer
 * their descriptor names is at hand (see `evaluateImage`).
 */
export async function claimedKeysAtHand(
  policy: Policy,
  checks: SignatureCheck[],
  keys: KeyFinder,
): Promise<Set<number>> {
  const claimed = new Set<number>();
  for (const check of checks) {
    const fingerprint = check.signature.fingerprint;
    if (check.authenticity !== "unknown-key" || fingerprint === undefined) continue;
    if (!policy.signers.some((s) => s.fingerprint === fingerprint)) continue;
    if (await keyAtHand(fingerprint, keys)) claimed.add(check.id);
  }
  return claimed;
}
