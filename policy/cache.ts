/**
 * The verify-once cache: a decision is kept under a key made of the image file's identity
 * (device, inode, size, modification and change times), the policy's digest and the state of
 * the keyring files it used. Any change to any of them misses. A corrupt entry is never
 * trusted: it is reported and the image is checked again.
 *
 * Decisions that depended on the network (a key fetched from, or missing on, a keyserver)
 * are not kept: the answer may change without any file changing. An allow is kept only
 * until the first signer entry or key it relied on expires. And an image changed within the
 * current second is not kept at all (its change time has one-second resolution, so a second
 * change in the same second would not show): the next check keeps it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { writeFileAtomic } from "../core/files/atomic.ts";
import type { ImageDecision } from "./decision.ts";

/**
 * The entry format. 2: a decision holds its mode and structured reasons and hints, and no
 * exit code. The format is part of every key, so entries of another format are never found.
 */
const FORMAT = 2;

/** Where cache entries live: `$XDG_CACHE_HOME/siftrust/decisions`, else `~/.cache/…`. */
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
 * The cache key of a check: image, policy and key files. `imageInfo` is the image's `stat`
 * when it is already open (default: read from `imagePath`).
 */
export async function cacheKey(
  imagePath: string,
  policyDigest: string,
  keyFiles: string[],
  imageInfo?: Deno.FileInfo,
): Promise<CacheKey> {
  const keyState = await Promise.all(keyFiles.map(async (path) => {
    try {
      return [path, ...identity(await Deno.stat(path))];
    } catch {
      return [path, "missing"];
    }
  }));
  const image = imageInfo ?? await Deno.stat(imagePath);
  const material = JSON.stringify([FORMAT, imagePath, identity(image), policyDigest, keyState]);
  const changedAt = image.ctime?.getTime() ?? image.mtime?.getTime() ?? 0;
  return { key: createHash("sha256").update(material).digest("hex"), changedAt };
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

/** Whether a decision may be cached: it must not depend on the network. */
export function cacheable(decision: ImageDecision): boolean {
  return decision.decision !== "error" &&
    !decision.signatures.some((s) =>
      s.keySource === "remote" || s.authenticity === "key-unavailable" ||
      s.authenticity === "unknown-key"
    );
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
    await writeFileAtomic(
      `${dir}/${key.key}.json`,
      new TextEncoder().encode(JSON.stringify({ format: FORMAT, key: key.key, ...check })),
      0o600,
    );
    return undefined;
  } catch (error) {
    return { kind: "unwritable", path: dir, detail: (error as Error).message };
  }
}
