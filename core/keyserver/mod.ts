/**
 * `core/keyserver`: the HKP keyserver client (lookup, search, push), the machine-readable
 * index format of searches, and the key finder that fetches verification keys from keyservers
 * (with a local cache).
 *
 * @module
 */

export {
  HkpError,
  type HkpErrorKind,
  type HkpOptions,
  lookupKey,
  pushKey,
  searchIndex,
} from "./hkp.ts";
export {
  countMatches,
  type IndexDate,
  indexEntries,
  type IndexEntry,
  IndexError,
  type IndexKey,
  type KeyIndex,
  parseIndex,
} from "./mr_index.ts";
export {
  RemoteKeyFinder,
  type RemoteKeyFinderOptions,
  type RemoteKeyWarning,
} from "./remote_keys.ts";
export {
  KeyTransferError,
  parsePullArgument,
  publishKey,
  pullKey,
  pushableKey,
} from "./transfer.ts";
