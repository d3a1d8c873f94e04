/**
 * Keys fetched from keyservers for verification: a {@linkcode KeyFinder} that asks an ordered
 * list of keyservers for a signature's issuer key ID, as Apptainer's `verify` does, and keeps
 * what it gets in a local cache.
 *
 * Lookup, for the issuer key IDs of one signature:
 *
 * 1. The cache (the folder passed in; core/config/resolve.ts chooses it): one binary
 *    key per file, named by the key's primary fingerprint (40 upper-case hex digits), beside
 *    a `<FP>.origin` text file naming the keyserver it came from. A cached key younger than
 *    {@linkcode CACHE_MAX_AGE_MS} is used without any request. A file that cannot be read,
 *    does not hold exactly one public key, or holds a key whose fingerprint is not its name is
 *    ignored.
 * 2. The keyservers, in order: each is asked for each key ID (16 hex digits, leading zeros
 *    kept); any failure — no connection, the 5 s time limit, any non-2xx status including
 *    404 — moves on to the next. An answer without a key that has the requested key ID on a
 *    (sub)key that may sign (for instance a different key) counts as "not there". A
 *    keyserver that could not be reached is not asked again by the same finder.
 * 3. A cached key older than the limit, when no keyserver provided a fresh copy (with a
 *    warning).
 *
 * Keys found are reported with `source.kind = "remote"` and `source.location` = the
 * keyserver that served them — also for cache hits (the recorded origin; the cache file's
 * path when the origin is unknown). They are never added to a keyring: `siftrust key pull`
 * does that.
 *
 * Failures are warnings (`failed to get key material: …`), passed to `onWarning` as they
 * arise and kept in `warnings`; a keyserver failure never throws. A keyserver that could not
 * be reached, answered with an error other than 404, or sent a key other than the one asked
 * for is reported at once (even when a later keyserver has the key: it slows every lookup
 * down, or misbehaves); 404 "not found" answers only when no keyserver had the key.
 *
 * @module
 */

import type { Keyserver } from "../config/keyservers.ts";
import { withDirLock, writeFileAtomic } from "../files/atomic.ts";
import { type KeyringKey, parseKeyring } from "../keys/keyring.ts";
import { canSign, type FoundKey, type KeyFinder } from "../keys/keyset.ts";
import { openpgpKey, type PgpKey } from "../keys/pgp_key.ts";
import { HkpError, type HkpOptions, lookupKey } from "./hkp.ts";

/** How long a cached key is used without asking the keyservers again: one day. */
export const CACHE_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Mode of the cache folder. */
export const CACHE_DIR_MODE = 0o700;
/** Mode of the cached key files. */
export const CACHE_FILE_MODE = 0o600;

/** Something the user should know about a remote lookup. */
export interface RemoteKeyWarning {
  /** One line, e.g. `failed to get key material: http://ks answered 404 Not Found`. */
  message: string;
  /** The keyserver concerned, if one. */
  keyserver?: string;
  /** The HTTP status, for an answer with one (401 calls for the login help). */
  status?: number;
}

/** Options of {@linkcode RemoteKeyFinder}. */
export interface RemoteKeyFinderOptions {
  /**
   * The keyservers to ask, in order, or a function that gives them (called once, at the first
   * lookup that needs them: configuration and discovery are only read when needed).
   */
  keyservers: Keyserver[] | (() => Promise<Keyserver[]>);
  /** The cache folder; none means no cache is read or written. */
  cacheDir?: string;
  /** How long a cached key is fresh (default {@linkcode CACHE_MAX_AGE_MS}). */
  cacheMaxAgeMs?: number;
  /** Options of each keyserver request (time limit). */
  request?: HkpOptions;
  /** Called with each warning as it arises (they are also kept in `warnings`). */
  onWarning?: (warning: RemoteKeyWarning) => void;
  /** The clock, in milliseconds (default `Date.now`). */
  now?: () => number;
}

interface CachedKey {
  key: PgpKey;
  path: string;
  origin?: string;
  savedAt: number;
}

/** Finds keys on keyservers (and in the cache of keys found there before). */
export class RemoteKeyFinder implements KeyFinder {
  /** Every warning so far. */
  readonly warnings: RemoteKeyWarning[] = [];
  readonly #options: RemoteKeyFinderOptions;
  readonly #lookups = new Map<string, Promise<FoundKey | undefined>>();
  readonly #unreachable = new Set<string>();
  #keyservers?: Promise<Keyserver[]>;
  #cache?: Promise<CachedKey[]>;

  /** A finder over these keyservers and this cache. */
  constructor(options: RemoteKeyFinderOptions) {
    this.#options = options;
  }

  /** The keyservers asked, in order (resolving them if not done yet). */
  keyservers(): Promise<Keyserver[]> {
    const list = this.#options.keyservers;
    this.#keyservers ??= Array.isArray(list) ? Promise.resolve(list) : list();
    return this.#keyservers;
  }

  /** Looks up the key with one of these key IDs. Each set of IDs is looked up once. */
  find(keyIds: string[]): Promise<FoundKey | undefined> {
    const ids = [...new Set(keyIds.map((id) => id.toUpperCase()))]
      .filter((id) => id !== "0000000000000000");
    if (ids.length === 0) return Promise.resolve(undefined);
    const memo = ids.join(",");
    let lookup = this.#lookups.get(memo);
    if (lookup === undefined) {
      lookup = this.#lookup(ids);
      this.#lookups.set(memo, lookup);
    }
    return lookup;
  }

  async #lookup(ids: string[]): Promise<FoundKey | undefined> {
    const now = (this.#options.now ?? Date.now)();
    const maxAge = this.#options.cacheMaxAgeMs ?? CACHE_MAX_AGE_MS;
    const cached = (await this.#cached()).find((entry) => hasKeyId(entry.key, ids));
    if (cached !== undefined && now - cached.savedAt < maxAge) return fromCache(cached);

    // "Not there" answers are only worth a warning when no keyserver has the key; anything
    // else (no answer, a broken server, a different key) is reported at once.
    const notFound: RemoteKeyWarning[] = [];
    for (const keyserver of await this.keyservers()) {
      if (this.#unreachable.has(keyserver.uri)) continue;
      for (const id of ids) {
        let keyring;
        try {
          keyring = await lookupKey(keyserver, id, this.#options.request);
        } catch (error) {
          if (!(error instanceof HkpError)) throw error;
          const warning = {
            message: `failed to get key material: ${error.describe()}`,
            keyserver: keyserver.uri,
            status: error.status,
          };
          if (error.status === 404) notFound.push(warning);
          else this.#warn(warning);
          if (error.kind === "transport" || error.kind === "timeout" || error.kind === "config") {
            this.#unreachable.add(keyserver.uri);
            break;
          }
          continue;
        }
        const match = keyring.keys.find(({ key }) => !key.secret && hasKeyId(key, [id]));
        if (match === undefined) {
          const sent = keyring.keys.map(({ key }) => key.fingerprint);
          this.#warn({
            message: `failed to get key material: ${keyserver.uri} sent ${
              sent.length === 0 ? "no usable key" : `the key ${sent.join(", ")}`
            } for key ID ${id}: ignored`,
            keyserver: keyserver.uri,
          });
          continue;
        }
        await this.#save(match, keyserver.uri);
        return { key: match.key, source: { kind: "remote", location: keyserver.uri } };
      }
    }
    if (cached !== undefined) {
      const age = Math.floor((now - cached.savedAt) / 3600_000);
      this.#warn({
        message:
          `using the copy of key ${cached.key.fingerprint} cached ${age} h ago (${cached.path}): no keyserver provided a fresh one`,
      });
      return fromCache(cached);
    }
    for (const warning of notFound) this.#warn(warning);
    return undefined;
  }

  #warn(warning: RemoteKeyWarning): void {
    this.warnings.push(warning);
    this.#options.onWarning?.(warning);
  }

  /** The cache's keys, read once. */
  #cached(): Promise<CachedKey[]> {
    this.#cache ??= readCache(this.#options.cacheDir);
    return this.#cache;
  }

  /** Keeps a key found on a keyserver in the cache (a failure to do so is only a warning). */
  async #save(found: KeyringKey, origin: string): Promise<void> {
    const dir = this.#options.cacheDir;
    if (dir === undefined) return;
    const fingerprint = found.key.fingerprint;
    const path = `${dir}/${fingerprint}`;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: CACHE_DIR_MODE });
      await withDirLock(dir, async () => {
        await writeFileAtomic(path, found.raw, CACHE_FILE_MODE, { underLock: true });
        await writeFileAtomic(
          `${path}.origin`,
          new TextEncoder().encode(`${origin}\n`),
          CACHE_FILE_MODE,
          { underLock: true },
        );
      });
    } catch (error) {
      this.#warn({ message: `cannot cache key ${fingerprint}: ${(error as Error).message}` });
      return;
    }
    const entries = await this.#cached();
    const index = entries.findIndex((entry) => entry.path === path);
    const entry = { key: found.key, path, origin, savedAt: (this.#options.now ?? Date.now)() };
    if (index === -1) entries.push(entry);
    else entries[index] = entry;
  }
}

function fromCache(entry: CachedKey): FoundKey {
  return { key: entry.key, source: { kind: "remote", location: entry.origin ?? entry.path } };
}

/**
 * Whether a key has a (sub)key with one of these key IDs (16 upper-case hex digits) that may
 * sign — the test the keyrings apply ({@linkcode canSign}).
 */
function hasKeyId(key: PgpKey, ids: string[]): boolean {
  return key.info.components.some(({ keyId }) => {
    return ids.includes(keyId) && canSign(openpgpKey(key), keyId);
  });
}

/** Reads every usable cache entry; anything unreadable or inconsistent is skipped. */
async function readCache(dir: string | undefined): Promise<CachedKey[]> {
  if (dir === undefined) return [];
  const entries: CachedKey[] = [];
  let names: string[];
  try {
    names = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && /^[0-9A-F]{40}$/.test(entry.name)) names.push(entry.name);
    }
  } catch {
    return [];
  }
  for (const name of names.sort()) {
    const path = `${dir}/${name}`;
    try {
      const [bytes, info] = await Promise.all([Deno.readFile(path), Deno.stat(path)]);
      const keyring = await parseKeyring(bytes);
      if (keyring.keys.length !== 1 || keyring.skipped.length !== 0) continue;
      const key = keyring.keys[0].key;
      if (key.secret || key.fingerprint !== name) continue;
      let origin: string | undefined;
      try {
        origin = (await Deno.readTextFile(`${path}.origin`)).split("\n")[0].trim() || undefined;
      } catch {
        origin = undefined;
      }
      entries.push({ key, path, origin, savedAt: info.mtime?.getTime() ?? 0 });
    } catch {
      // A corrupt or vanished cache file: as if it were not there.
    }
  }
  return entries;
}
