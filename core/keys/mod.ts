/**
 * `core/keys`: OpenPGP keyrings in Apptainer's files, key lookup for verification, and what
 * is known about a key. Keys are {@linkcode PgpKey} values: no openpgp.js type is part of this
 * API (siftrust's signing and verification reach the openpgp.js key through `pgp_key.ts`).
 *
 * @example List the keys of a keyring file
 * ```ts
 * import { readKeyringFile } from "./mod.ts";
 *
 * const keyring = await readKeyringFile("examples/example-key.pub.asc");
 * for (const { key } of keyring.keys) {
 *   console.log(key.fingerprint, key.info.userIds.map((u) => u.email));
 * }
 * ```
 *
 * @module
 */

export { armorKey } from "./armor.ts";
export {
  type KeyIdentity,
  type KeyInfo,
  keyMatches,
  type KeyUserId,
  parseUserId,
} from "./key_info.ts";
export {
  type Keyring,
  KeyringError,
  type KeyringErrorKind,
  type KeyringKey,
  parseKeyring,
  readKeyFile,
  readKeyringFile,
  type ReadKeyringOptions,
  type SkippedKey,
} from "./keyring.ts";
export { chainFinders, type FoundKey, type KeyFinder, KeySet, type KeySource } from "./keyset.ts";
export { type KeyringLocations, keyringLocations } from "./locations.ts";
export {
  type CreatedKeyPair,
  createKeyPair,
  findKey,
  type ImportedKey,
  importKeys,
  type ImportOptions,
  KeyManagementError,
  type KeyManagementErrorKind,
  type KeyringFiles,
  type NewKeyPair,
  removeKey,
  type RemoveTargets,
  rsaKeyBits,
} from "./manage.ts";
export { PgpKey } from "./pgp_key.ts";
export { type KeyringSources, loadKeySet, type SkippedKeyNotice } from "./sources.ts";
export { prepareKeyrings } from "./store.ts";
export { unlockKey } from "./unlock.ts";
