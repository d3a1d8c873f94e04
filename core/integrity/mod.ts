/**
 * `core/integrity`: signing and verifying SIF images byte-compatibly with Apptainer — the
 * signed image metadata, OpenPGP clear signatures, DSSE envelopes, legacy signatures, and
 * the reference's verification tasks.
 *
 * @module
 */

export {
  type AnalyzeOptions,
  analyzeSignatures,
  type Authenticity,
  type ContentErrorKind,
  type ObjectCheck,
  type SignatureCheck,
} from "./analyze.ts";
export { type Digest, type DigestAlgorithm, formatDigest, parseDigest } from "./digest.ts";
export {
  DSSE_PAYLOAD_TYPE,
  DsseError,
  type DsseErrorKind,
  dsseKeyId,
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
export type { ImageMetadata, ObjectMetadata } from "./metadata.ts";
export type { VerifyEvent, VerifyFailure, VerifyFailureKind, VerifyOutcome } from "./outcome.ts";
export type { ClearsignedBlock } from "./clearsign.ts";
export type { PgpStatus, Signer } from "./pgp.ts";
export { signImage, type SigningKey, type SignRequest } from "./sign.ts";
export { readSignatureObjects, type SignatureFormat, type SignatureObject } from "./signatures.ts";
export { allSignedBy, anySignedBy, signersByTask, type TaskSigners } from "./signed_by.ts";
export {
  selectTasks,
  TaskError,
  type TaskErrorKind,
  type TaskRequest,
  type VerifyTask,
} from "./tasks.ts";
export { verifyImage, type VerifyOptions, type VerifyReport } from "./verify.ts";
