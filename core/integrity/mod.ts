/**
 * `core/integrity`: signing and verifying SIF images byte-compatibly with Apptainer — the
 * signed image metadata, OpenPGP clear signatures, DSSE envelopes, legacy signatures, and
 * the reference's verification tasks.
 *
 * @module
 */

export * from "./analyze.ts";
export { type Digest, type DigestAlgorithm, formatDigest, parseDigest } from "./digest.ts";
export {
  DSSE_PAYLOAD_TYPE,
  DsseError,
  type DsseErrorKind,
  dsseKeyId,
  envelopeKeyIds,
  readPemPrivateKey,
  readPemPublicKey,
} from "./dsse.ts";
export {
  type HashJob,
  HashPool,
  HashPoolError,
  type HashPoolErrorKind,
  type HashPoolOptions,
  type HashRange,
  sharedHashPool,
} from "./hash_pool.ts";
export type { HashingOptions, ProgressCallback } from "./hashing.ts";
export { type ImageMetadata } from "./metadata.ts";
export * from "./outcome.ts";
export { keyAtHand, type PgpStatus, primaryUserId, type Signer } from "./pgp.ts";
export * from "./sign.ts";
export * from "./signatures.ts";
export * from "./signed_by.ts";
export { type KnownDigests, StreamingDigests } from "./stream_digests.ts";
export * from "./tasks.ts";
export * from "./verify.ts";
