/**
 * Checking one image under a policy: from the verify-once cache when nothing changed, else
 * open it (a bad image is an `error` decision carrying the reader's error kind), check its
 * signatures in one pass, decide, and keep the decision for next time.
 *
 * @module
 */

import {
  analyzeSignatures,
  type DigestsAhead,
  type KnownDigests,
  type ProgressCallback,
  readSignatureObjects,
  type SignatureCheck,
} from "../core/integrity/mod.ts";
import {
  OpenImageError,
  type OpenImageFile,
  openImageOnce,
  SifError,
  type SifImage,
} from "../core/sif/mod.ts";
import {
  cacheable,
  type CacheKey,
  cacheKey,
  type CacheProblem,
  certificateValidUntil,
  readCached,
  writeCached,
} from "./cache.ts";
import type { ImageDecision, ImageErrorKind } from "./decision.ts";
import { claimedKeysAtHand } from "./claimed_keys.ts";
import { evaluateImage, matchingRule } from "./evaluate.ts";
import { layoutDigest } from "./audit.ts";
import type { PolicyKeys } from "./keys.ts";
import type { Policy } from "./model.ts";

/** What checks share. */
export interface CheckContext {
  /** The policy that decides. */
  policy: Policy;
  /** Its key material. */
  keys: PolicyKeys;
  /** The cache folder; none disables the cache (`--no-cache`). */
  cacheDir?: string;
  /** The time to decide at (default: now). */
  now?: Date;
}

/** The outcome of checking one image. */
export interface CheckResult {
  /** The decision; an image that could not be read is an `error` with a `bad-image` reason. */
  decision: ImageDecision;
  /** The image's layout digest, or null when it could not be read. */
  imageDigest: string | null;
  /** Whether the decision came from the cache. */
  cached: boolean;
  /** Cache problems to tell the user about (the check went on without the cache). */
  notices: CacheProblem[];
}

/**
 * An image open once, and perhaps the digests of its objects computed as its bytes were
 * written (an `admit` copy), so that they are not read again.
 */
export interface OpenedImage extends OpenImageFile {
  /** SHA-256 digests of its objects and groups, from its bytes as they were written. */
  digests?: KnownDigests;
  /**
   * Its digests being computed ahead (./open_ahead.ts): used once done, cancelled as soon as
   * the check finds it needs none.
   */
  digestsAhead?: DigestsAhead;
}

/**
 * Checks one image. It is opened once ({@linkcode openImageOnce}): the path rules match is the
 * resolved path, checked to name the open file, and the cache key, the bytes hashed and the decision
 * all come from that descriptor. `opened` is an image the caller already holds open (as
 * `siftrust exec` does, to run exactly the file it checked); the caller closes it.
 */
export async function checkImage(
  path: string,
  context: CheckContext,
  onProgress?: ProgressCallback,
  opened?: OpenedImage,
): Promise<CheckResult> {
  let file: OpenedImage;
  try {
    file = opened ?? openImageOnce(path);
  } catch (error) {
    if (error instanceof SifError) return unopenedResult(path, context.policy, error);
    throw error;
  }
  try {
    return await checkOpened(file, context, onProgress);
  } finally {
    file.digestsAhead?.cancel();
    if (opened === undefined) file.close();
  }
}

async function checkOpened(
  file: OpenedImage,
  context: CheckContext,
  onProgress?: ProgressCallback,
): Promise<CheckResult> {
  const notices: CacheProblem[] = [];
  const real = file.realPath;
  let key: CacheKey | undefined;
  const now = context.now ?? new Date();
  if (context.cacheDir !== undefined) {
    key = await cacheKey(real, context.policy.digest, context.keys.files, file.info);
    const lookup = await readCached(context.cacheDir, key.key, now);
    if ("hit" in lookup) return { ...lookup.hit, cached: true, notices };
    if (lookup.problem !== undefined) notices.push(lookup.problem);
  }
  let image: SifImage;
  try {
    image = await file.image();
  } catch (error) {
    if (error instanceof SifError) {
      return errorResult(real, context.policy, error.kind, error.message);
    }
    throw error;
  }
  try {
    const rule = matchingRule(context.policy, real);
    // A rule that decides by path needs no signature, so no digest.
    if (rule?.action !== undefined) file.digestsAhead?.cancel();
    const checks = rule?.action !== undefined
      ? []
      : await analyzeSignatures(image, await readSignatureObjects(image), {
        keys: context.keys.finder,
        dsseKeys: context.keys.dsse.keys.map((k) => k.publicKey),
        now: context.now,
        onProgress,
        knownDigests: file.digests ?? await file.digestsAhead?.digests,
      });
    const claimed = await claimedKeysAtHand(context.policy, checks, context.keys.finder);
    const decision = evaluateImage(
      context.policy,
      real,
      image,
      checks,
      now,
      claimed,
      context.keys.dsse.keys,
    );
    const imageDigest = await layoutDigest(image);
    if (context.cacheDir !== undefined && key !== undefined && cacheable(decision)) {
      const validUntil = await decisionValidUntil(decision, checks, context.policy);
      const problem = await writeCached(context.cacheDir, key, {
        decision,
        imageDigest,
        validUntil,
      }, now);
      if (problem !== undefined) notices.push(problem);
    }
    return { decision, imageDigest, cached: false, notices };
  } catch (error) {
    if (error instanceof SifError) {
      return errorResult(real, context.policy, error.kind, error.message);
    }
    throw error;
  } finally {
    image.close();
  }
}

/**
 * Until when a decision holds as time passes: an allow rests on its trusted signatures, and
 * ends when the first of their signer entries (`expires`), keys, signing subkeys or the
 * signatures themselves expire.
 */
async function decisionValidUntil(
  decision: ImageDecision,
  checks: SignatureCheck[],
  policy: Policy,
): Promise<number | null> {
  if (decision.decision !== "allow") return null;
  let until = Infinity;
  for (const [i, verdict] of decision.signatures.entries()) {
    if (!verdict.trusted) continue;
    const signer = policy.signers.find((s) => s.name === verdict.signerName);
    if (signer?.expires !== undefined) {
      until = Math.min(until, Date.parse(`${signer.expires}T23:59:59.999Z`));
    }
    const expiry = await checks[i].signer?.key.expiration();
    if (expiry !== undefined) until = Math.min(until, expiry.getTime());
    const signatureExpiry = checks[i].signer?.validUntil;
    if (signatureExpiry !== undefined) until = Math.min(until, signatureExpiry.getTime());
  }
  until = Math.min(until, certificateValidUntil(decision) ?? Infinity);
  return Number.isFinite(until) ? until : null;
}

/**
 * The result for an image that {@linkcode openImageOnce} refused: an `error` decision whose
 * reason is `not-found` or the error's kind.
 */
export function unopenedResult(path: string, policy: Policy, error: SifError): CheckResult {
  if (error instanceof OpenImageError && error.notFound) {
    return errorResult(path, policy, "not-found", null);
  }
  return errorResult(path, policy, error.kind, error.message);
}

/** An image that could not be decided: `kind` says why, `message` is the reader's words. */
function errorResult(
  image: string,
  policy: Policy,
  kind: ImageErrorKind,
  message: string | null,
): CheckResult {
  return {
    decision: {
      image,
      decision: "error",
      mode: policy.mode,
      keyUnavailable: false,
      rule: "none",
      reasons: [{ kind: "bad-image", error: kind, message }],
      signatures: [],
      requirements: [],
      hints: [],
    },
    imageDigest: null,
    cached: false,
    notices: [],
  };
}
