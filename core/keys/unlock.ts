/**
 * Secret keys and their passphrases: unlocking an encrypted key, and encrypting a key with a
 * new passphrase. Where a passphrase comes from (a file, the environment, a prompt) is the
 * caller's business: it passes a function that supplies passphrases.
 *
 * @module
 */

import * as openpgp from "openpgp";

/** Whether a key's secret material is usable as it is (not encrypted). */
export function isUnlocked(key: openpgp.PrivateKey): boolean {
  return key.isDecrypted();
}

/** The key unlocked with this passphrase, or undefined when the passphrase is wrong. */
export async function unlockKey(
  key: openpgp.PrivateKey,
  passphrase: string,
): Promise<openpgp.PrivateKey | undefined> {
  if (key.isDecrypted()) return key;
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    return undefined;
  }
}

/**
 * Re-encrypts a secret key (`key import --new-password`): unlocks it with a passphrase from
 * `current` (asked again while it answers with a wrong one and does not give up), then encrypts
 * it with the one `next` gives (empty: stored unencrypted).
 */
export async function reencryptKey(
  key: openpgp.PrivateKey,
  current: (attempt: (passphrase: string) => Promise<openpgp.PrivateKey | undefined>) => Promise<
    openpgp.PrivateKey
  >,
  next: () => Promise<string>,
): Promise<openpgp.PrivateKey> {
  const unlocked = key.isDecrypted() ? key : await current((p) => unlockKey(key, p));
  const passphrase = await next();
  return passphrase === ""
    ? unlocked
    : await openpgp.encryptKey({ privateKey: unlocked, passphrase });
}
