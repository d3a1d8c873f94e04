/**
 * `core/keys`: OpenPGP keyrings in Apptainer's files, and key lookup for verification.
 *
 * @module
 */

export * from "./keyring.ts";
export * from "./keyset.ts";
export * from "./locations.ts";
export * from "./manage.ts";
export * from "./store.ts";
export * from "./sources.ts";
