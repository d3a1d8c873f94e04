/**
 * Secret keys and their passphrases: unlocking an encrypted key, and encrypting a key with a
 * new passphrase. Where a passphrase comes from (a file, the environment, a prompt) is the
 * caller's business: it passes functions that supply passphrases.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { openpgpKey, type PgpKey, wrapKey } from "./pgp_key.ts";

/**
 * The key unlocked with this passphrase (the key itself when it is not locked), or undefined
 * when the passphrase is wrong or the key holds no secret material.
 */
export async function unlockKey(key: PgpKey, passphrase: string): Promise<PgpKey | undefined> {
  if (!key.secret) return undefined;
  if (!key.locked) return key;
  try {
    const privateKey = openpgpKey(key) as openpgp.PrivateKey;
    return wrapKey(await openpgp.decryptKey({ privateKey, passphrase }));
  } catch {
    return undefined;
  }
}

/**
 * Re-encrypts a secret key (`key import --new-password`): unlocks it with `current`, which
 * tries passphrases with the `attempt` it is given until one unlocks the key (or gives up by
 * throwing), then encrypts it with the passphrase `next` gives (empty: stored unencrypted).
 */
export async function reencryptKey(
  key: PgpKey,
  current: (attempt: (passphrase: string) => Promise<PgpKey | undefined>) => Promise<PgpKey>,
  next: () => Promise<string>,
): Promise<PgpKey> {
  const unlocked = key.locked ? await current((p) => unlockKey(key, p)) : key;
  const passphrase = await next();
  if (passphrase === "") return unlocked;
  const privateKey = openpgpKey(unlocked) as openpgp.PrivateKey;
  return wrapKey(await openpgp.encryptKey({ privateKey, passphrase }));
}
