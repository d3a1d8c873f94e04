/**
 * `core/keys`: OpenPGP keyrings in Apptainer's files, key lookup for verification, and what
 * is known about a key. Keys are {@linkcode PgpKey} values: no openpgp.js type is part of this
 * API (siftrust's signing and verification reach the openpgp.js key through `pgp_key.ts`).
 *
 * @module
 */

export * from "./armor.ts";
export {
  type KeyIdentity,
  type KeyInfo,
  keyMatches,
  type KeyUserId,
  parseUserId,
} from "./key_info.ts";
export * from "./keyring.ts";
export { chainFinders, type FoundKey, type KeyFinder, KeySet, type KeySource } from "./keyset.ts";
export * from "./locations.ts";
export * from "./manage.ts";
export { PgpKey } from "./pgp_key.ts";
export * from "./sources.ts";
export * from "./store.ts";
export * from "./unlock.ts";
