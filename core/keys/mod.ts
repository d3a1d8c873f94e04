/**
 * `core/keys`: OpenPGP keyrings in Apptainer's files, key lookup for verification, and the
 * facts shown about keys ({@linkcode KeyInfo}). Unlocking secret keys (`unlock.ts`) and the
 * openpgp.js-level key facts (`keyInfo` in `key_info.ts`) are internal to siftrust and not
 * exported here.
 *
 * @module
 */

export * from "./armor.ts";
export { type KeyIdentity, type KeyInfo, keyMatches, type KeyUserId } from "./key_info.ts";
export * from "./keyring.ts";
export * from "./keyset.ts";
export * from "./locations.ts";
export * from "./manage.ts";
export * from "./store.ts";
export * from "./sources.ts";
