/**
 * `core/keyserver`: the HKP keyserver client (lookup, search, push), the machine-readable
 * index format of searches, and the key finder that fetches verification keys from keyservers
 * (with a local cache).
 *
 * @module
 */

export * from "./hkp.ts";
export * from "./mr_index.ts";
export * from "./remote_keys.ts";
export * from "./transfer.ts";
