/**
 * `core/integrity`: signing and verifying SIF images byte-compatibly with Apptainer — the
 * signed image metadata, OpenPGP clear signatures, DSSE envelopes, legacy signatures, and
 * the reference's verification tasks.
 *
 * @example Sign an image with a key of a keyring, then verify it
 * ```ts
 * import { loadKeySet, readKeyringFile, unlockKey } from "../keys/mod.ts";
 * import { SifImage } from "../sif/mod.ts";
 * import { signImage, verifyImage } from "./mod.ts";
 *
 * const { keys } = await readKeyringFile("examples/example-key.sec.asc");
 * const key = await unlockKey(keys[0].key, "");
 * if (key === undefined) throw new Error("wrong passphrase");
 * const path = await Deno.makeTempFile({ suffix: ".sif" });
 * await Deno.copyFile("examples/example.sif", path);
 * using image = await SifImage.open(path, { write: true });
 * await signImage(image, { kind: "pgp", key });
 * const trusted = await loadKeySet({ files: ["examples/example-key.pub.asc"] });
 * const report = await verifyImage(image, { keys: trusted.keys });
 * console.log(report.outcome.failure?.kind ?? "verified");
 * ```
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
  type HeldFile,
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
export { keyAtHand } from "./pgp.ts";
export {
  type DigestSegment,
  type KnownDigests,
  type NeededDigests,
  neededDigests,
  signedByDefault,
  StreamedDigests,
} from "./stream_digests.ts";
export {
  type DigestsAhead,
  type FileAheadOptions,
  type FileDigestsAhead,
  hashAhead,
  type HashAheadOptions,
  hashFileAhead,
} from "./digests_ahead.ts";
