/**
 * The verify-once cache: a decision is kept under a key made of the image file's identity
 * (device, inode, size, modification and change times), the policy's digest and the digests
 * (SHA-256 of the contents) of the keyring files it used, so that a key file replaced by one
 * of the same size and times still misses. Any change to any of them misses. A corrupt entry is never
 * trusted: it is reported and the image is checked again.
 *
 * Decisions that depended on the network (a key fetched from, or missing on, a keyserver, or
 * an OCSP answer) are not kept: the answer may change without any file changing. An allow is
 * kept only until the first signer entry, key, certificate or CRL it relied on expires. And
 * an image changed within the current second is not kept at all (its change time has
 * one-second resolution, so a second change in the same second would not show): the next
 * check keeps it. The key files include the `key` and `certificate` signers' PEM and CRL
 * files (policy/keys.ts).
 *
 * @module
 */

import { writeFileAtomic } from "../core/files/atomic.ts";
import type { ImageDecision } from "./decision.ts";

/**
 * The entry format. 2: a decision holds its mode and structured reasons and hints, and no
 * exit code. 3: the key binds the key files' contents, not their `stat`. The format is part of
 * every key, so entries of another format are never found.
 */
const FORMAT = 3;

/**
 * Where a user's own cache entries live: `$XDG_CACHE_HOME/siftrust/decisions`, else
 * `~/.cache/…`. Commands take the folder from the configuration resolution
 * (core/config/resolve.ts), which also places root's and `exec`'s caches.
 */
export function cacheDir(env: (name: string) => string | undefined): string {
  const xdg = env("XDG_CACHE_HOME");
  const base = xdg !== undefined && xdg.startsWith("/") ? xdg : `${env("HOME") ?? "/"}/.cache`;
  return `${base}/siftrust/decisions`;
}

function identity(info: Deno.FileInfo): unknown[] {
  return [
    info.dev,
    info.ino,
    info.size,
    info.mtime?.getTime() ?? null,
    info.ctime?.getTime() ?? null,
  ];
}

/** A check's cache key, and when the image last changed (ms). */
export interface CacheKey {
  /** The entry's name: SHA-256 of the key material, in hex. */
  key: string;
  /** When the image last changed (ms since 1970). */
  changedAt: number;
}

/**
 * The SHA-256 of bytes or text, in hex. Web Crypto rather than node:crypto: the fast path
 * (policy/fast_check.ts) loads this module, and loading Deno's Node layer would cost it more
 * than the rest of its work.
 */
export async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A key file's state: the SHA-256 of its contents, or `missing` when it cannot be read. */
async function keyFileState(path: string): Promise<string> {
  try {
    return await sha256Hex(await Deno.readFile(path));
  } catch {
    return "missing";
  }
}

/**
 * The cache key of a check: image, policy and key files (their contents' digests).
 * `imageInfo` is the image's `stat` when it is already open (default: read from `imagePath`).
 */
export async function cacheKey(
  imagePath: string,
  policyDigest: string,
  keyFiles: string[],
  imageInfo?: Deno.FileInfo,
): Promise<CacheKey> {
  const keyState = await Promise.all(
    keyFiles.map(async (path) => [path, await keyFileState(path)]),
  );
  const image = imageInfo ?? await Deno.stat(imagePath);
  const material = JSON.stringify([FORMAT, imagePath, identity(image), policyDigest, keyState]);
  const changedAt = image.ctime?.getTime() ?? image.mtime?.getTime() ?? 0;
  return { key: await sha256Hex(material), changedAt };
}

/** What the cache keeps for a check. */
export interface CachedCheck {
  /** The decision (allow or deny). */
  decision: ImageDecision;
  /** The image's layout digest (for audit records). */
  imageDigest: string;
  /** When the decision stops holding (ms since 1970), or null. */
  validUntil: number | null;
}

/**
 * Why the cache could not serve or keep a decision: an entry that cannot be read, a corrupt
 * entry (ignored), or a folder that cannot be written. `path` is the entry or the folder;
 * `detail` the system's word, if any.
 */
export interface CacheProblem {
  /** What went wrong. */
  kind: "unreadable-entry" | "corrupt-entry" | "unwritable";
  /** The entry or the folder. */
  path: string;
  /** The system's word, if any. */
  detail: string | null;
}

/** What a cache lookup found. */
export type CacheLookup = { hit: CachedCheck } | { miss: true; problem?: CacheProblem };

/** Looks a decision up; one past its `validUntil` at `now` is a miss. */
export async function readCached(
  dir: string,
  key: string,
  now: Date = new Date(),
): Promise<CacheLookup> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${key}.json`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { miss: true };
    const detail = (error as Error).message;
    return {
      miss: true,
      problem: { kind: "unreadable-entry", path: `${dir}/${key}.json`, detail },
    };
  }
  try {
    const entry = JSON.parse(text);
    const decision = entry?.decision;
    const validUntil = entry?.validUntil;
    const valid = entry?.format === FORMAT && entry?.key === key &&
      typeof entry?.imageDigest === "string" &&
      (validUntil === null || typeof validUntil === "number") &&
      typeof decision?.image === "string" &&
      (decision.decision === "allow" || decision.decision === "deny") &&
      (decision.mode === "enforce" || decision.mode === "warn") &&
      typeof decision.keyUnavailable === "boolean" &&
      Array.isArray(decision.signatures) && Array.isArray(decision.reasons) &&
      Array.isArray(decision.requirements) && Array.isArray(decision.hints);
    if (valid && validUntil !== null && now.getTime() > validUntil) return { miss: true };
    if (valid) {
      return {
        hit: { decision: decision as ImageDecision, imageDigest: entry.imageDigest, validUntil },
      };
    }
  } catch {
    // fall through: corrupt
  }
  return {
    miss: true,
    problem: { kind: "corrupt-entry", path: `${dir}/${key}.json`, detail: null },
  };
}

async function effectiveUid(): Promise<number> {
  // Loaded only to write: reading entries (the fast path) needs no Node layer.
  const { geteuid } = await import("node:process");
  return geteuid?.() ?? Deno.uid() ?? 0;
}

/**
 * Whether a decision may be cached: it must not depend on the network (a keyserver, or an
 * OCSP responder a certificate signer was checked with).
 */
export function cacheable(decision: ImageDecision): boolean {
  return decision.decision !== "error" &&
    !decision.signatures.some((s) =>
      s.keySource === "remote" || s.authenticity === "key-unavailable" ||
      (s.authenticity === "unknown-key" && s.type !== "dsse") || s.certificate?.ocsp === true
    );
}

/**
 * Until when the certificates an allow relied on hold (ms since 1970), or null when it relied
 * on none: the earliest end of trust (chain notAfter, CRL nextUpdate) among the certificate
 * signers of its trusted signatures.
 */
export function certificateValidUntil(decision: ImageDecision): number | null {
  const ends = decision.signatures.flatMap((s) =>
    s.trusted && s.certificate?.trustedUntil != null ? [Date.parse(s.certificate.trustedUntil)] : []
  );
  return ends.length === 0 ? null : Math.min(...ends);
}

/**
 * Stores a decision, unless the image changed in the current second (see above). Returns a
 * problem to report when it could not be stored.
 */
export async function writeCached(
  dir: string,
  key: CacheKey,
  check: CachedCheck,
  now: Date = new Date(),
): Promise<CacheProblem | undefined> {
  if (Math.floor(now.getTime() / 1000) <= Math.floor(key.changedAt / 1000)) return undefined;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const folder = await Deno.stat(dir);
    // A cache another user keeps (root's system cache, read by `exec` as a user) is read-only.
    if (folder.uid !== null && folder.uid !== await effectiveUid()) return undefined;
    await writeFileAtomic(
      `${dir}/${key.key}.json`,
      new TextEncoder().encode(JSON.stringify({ format: FORMAT, key: key.key, ...check })),
      // An entry is as readable as its folder: 0644 in root's system cache (mode 0755).
      (folder.mode ?? 0o700) & 0o644,
    );
    return undefined;
  } catch (error) {
    return { kind: "unwritable", path: dir, detail: (error as Error).message };
  }
}

/**
 * What `check`'s cached fast path (policy/fast_check.ts) needs to know about a run without
 * loading the policy, its keys or the configuration: written by the full path next to the
 * decisions (policy/check_setup.ts), under a name made of the policy's path and digest and the
 * run's user IDs. It holds only what those, the environment variables the resolution read and
 * the files' contents decide, so that the fast path, having found them unchanged, reaches the
 * answer the full path would.
 */
export interface CheckSetup {
  /** The policy file as the run named it, its real path, and the SHA-256 of its contents. */
  policy: { file: string; path: string; digest: string };
  /** The real and effective user IDs. */
  uid: number;
  /** The effective user ID. */
  euid: number;
  /** Every environment variable the resolution read, and its value (null: unset). */
  env: Record<string, string | null>;
  /** The decision cache folder. */
  decisionCacheDir: string;
  /** The key files of the cache key, in order (policy/keys.ts `PolicyKeys.files`). */
  keyFiles: string[];
  /** Files the set-up read (keyrings, key files, configuration): their state ({@link cacheKey}). */
  inputs: Record<string, string>;
  /** The key warnings of the run (keys skipped, keyserver configuration), in order. */
  warnings: string[];
  /** An enforcing run's ownership checks; else null. */
  enforcing: {
    /** The policy and key files checked (policy/trust_path.ts `TrustInputs`). */
    files: string[];
    /** The cache folders checked. */
    caches: string[];
    /** The owners trusted for the files. */
    owners: number[];
    /** The owners trusted for the caches. */
    cacheOwners: number[];
  } | null;
  /** A run by a user for themselves: the files whose writers it warns about. */
  decidingFiles: string[];
}

/** The name of a run's {@link CheckSetup}: the policy's real path, its digest, the user IDs. */
export function checkSetupKey(
  policyPath: string,
  policyDigest: string,
  uid: number,
  euid: number,
): Promise<string> {
  return sha256Hex(JSON.stringify([FORMAT, "check-setup", policyPath, policyDigest, uid, euid]));
}

/** The state of each file (SHA-256 of its contents, or `missing`), by path. */
export async function fileStates(paths: string[]): Promise<Record<string, string>> {
  const states = await Promise.all(paths.map(async (path) => [path, await keyFileState(path)]));
  return Object.fromEntries(states);
}

/** Reads a run's set-up; anything missing, unreadable or malformed is undefined. */
export async function readCheckSetup(dir: string, key: string): Promise<CheckSetup | undefined> {
  try {
    const entry = JSON.parse(await Deno.readTextFile(`${dir}/setup-${key}.json`));
    if (entry?.format !== FORMAT || entry?.key !== key || typeof entry.setup !== "object") {
      return undefined;
    }
    return entry.setup as CheckSetup;
  } catch {
    return undefined;
  }
}

/**
 * Keeps a run's set-up, unless the same one is kept already. Like the decisions, it is kept
 * only in a folder the effective user owns; failures are silent (the decisions report them).
 */
export async function writeCheckSetup(dir: string, key: string, setup: CheckSetup): Promise<void> {
  const text = JSON.stringify({ format: FORMAT, key, setup });
  try {
    if (await Deno.readTextFile(`${dir}/setup-${key}.json`).catch(() => "") === text) return;
    const folder = await Deno.stat(dir);
    if (folder.uid !== null && folder.uid !== await effectiveUid()) return;
    await writeFileAtomic(
      `${dir}/setup-${key}.json`,
      new TextEncoder().encode(text),
      (folder.mode ?? 0o700) & 0o644,
    );
  } catch {
    // The fast path misses, and the full path answers.
  }
}
