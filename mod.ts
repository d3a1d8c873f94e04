/**
 * siftrust: decide whether to trust Singularity/Apptainer (SIF) container images.
 *
 * This is the library API:
 *
 * - the SIF format: reading ({@linkcode SifImage}), writing ({@linkcode createImage},
 *   {@linkcode appendObject}) and the object types;
 * - signing ({@linkcode signImage}) and verification ({@linkcode verifyImage}),
 *   byte-compatible with Apptainer: OpenPGP clear signatures, DSSE envelopes, legacy
 *   signatures;
 * - OpenPGP keys and keyrings in Apptainer's files ({@linkcode PgpKey}, {@linkcode KeySet},
 *   {@linkcode readKeyringFile}, {@linkcode loadKeySet});
 * - Apptainer's remote configuration and the keyservers it names ({@linkcode resolveRun}),
 *   and an HKP keyserver client ({@linkcode lookupKey}, {@linkcode searchIndex});
 * - X.509 certificate chains for DSSE signers ({@linkcode verifyCertificate}).
 *
 * The site-policy engine is the second entry point, `./policy` (policy/mod.ts): it loads a
 * policy file and decides whether an image may run.
 *
 * @example Verify a signed image against a key file
 * ```ts
 * import { loadKeySet, SifImage, verifyImage } from "./mod.ts";
 *
 * using image = await SifImage.open("examples/example-signed.sif");
 * const { keys } = await loadKeySet({ files: ["examples/example-key.pub.asc"] });
 * const report = await verifyImage(image, { keys });
 * console.log(report.outcome.failure?.kind ?? "verified");
 * ```
 *
 * @module
 */

export {
  appendObject,
  type AppendOptions,
  archName,
  CHUNK_SIZE,
  createImage,
  type CreateOptions,
  cryptoMessageExtra,
  type CryptoMessageInfo,
  cryptoMessageInfo,
  DataType,
  dataTypeName,
  type Descriptor,
  descriptorName,
  FormatType,
  formatTypeName,
  formatUuid,
  FsType,
  fsTypeName,
  HashType,
  hashTypeName,
  isSifFile,
  MessageType,
  messageTypeName,
  type ObjectInput,
  type ObjectLink,
  type OpenOptions,
  partitionExtra,
  type PartitionInfo,
  partitionInfo,
  PartType,
  partTypeName,
  primaryPartition,
  type SameFile,
  sbomExtra,
  SifError,
  type SifErrorKind,
  type SifHeader,
  SifImage,
  type SifSniff,
  signatureExtra,
  type SignatureInfo,
  signatureInfo,
  sniffSif,
  sniffSifFile,
} from "./core/sif/mod.ts";
export {
  allSignedBy,
  type AnalyzeOptions,
  analyzeSignatures,
  anySignedBy,
  type Authenticity,
  type ClearsignedBlock,
  type ContentErrorKind,
  type Digest,
  type DigestAlgorithm,
  DsseError,
  type DsseErrorKind,
  type ImageMetadata,
  type ObjectCheck,
  type ObjectMetadata,
  type PgpStatus,
  type ProgressCallback,
  readPemPrivateKey,
  readPemPublicKey,
  readSignatureObjects,
  type SignatureCheck,
  type SignatureFormat,
  type SignatureObject,
  type Signer,
  signersByTask,
  signImage,
  type SigningKey,
  type SignRequest,
  TaskError,
  type TaskErrorKind,
  type TaskRequest,
  type TaskSigners,
  type VerifyEvent,
  type VerifyFailure,
  type VerifyFailureKind,
  verifyImage,
  type VerifyOptions,
  type VerifyOutcome,
  type VerifyReport,
  type VerifyTask,
} from "./core/integrity/mod.ts";
export {
  armorKey,
  type CreatedKeyPair,
  createKeyPair,
  findKey,
  type FoundKey,
  type ImportedKey,
  importKeys,
  type ImportOptions,
  type KeyFinder,
  type KeyIdentity,
  type KeyInfo,
  KeyManagementError,
  type KeyManagementErrorKind,
  keyMatches,
  type Keyring,
  KeyringError,
  type KeyringErrorKind,
  type KeyringFiles,
  type KeyringKey,
  type KeyringLocations,
  keyringLocations,
  type KeyringSources,
  KeySet,
  type KeySource,
  type KeyUserId,
  loadKeySet,
  type NewKeyPair,
  parseKeyring,
  PgpKey,
  readKeyFile,
  readKeyringFile,
  type ReadKeyringOptions,
  removeKey,
  type RemoveTargets,
  type SkippedKey,
  type SkippedKeyNotice,
  unlockKey,
} from "./core/keys/mod.ts";
export {
  ConfigError,
  type ConfigFiles,
  configFiles,
  type Credential,
  discoverServices,
  type EffectiveConfig,
  type Endpoint,
  type Environment,
  type EnvReader,
  type Keyserver,
  type KeyserverChoice,
  type KeyserverEntry,
  type KeyserverSource,
  type PolicyTrust,
  type ProxySettings,
  readEffective,
  RemoteConfig,
  type Resolution,
  ResolutionError,
  type ResolutionErrorKind,
  type ResolutionMessage,
  resolveRun,
  type RunContext,
  type TrustLocations,
} from "./core/config/mod.ts";
export {
  HkpError,
  type HkpErrorKind,
  type HkpOptions,
  type IndexDate,
  indexEntries,
  type IndexEntry,
  type IndexKey,
  type KeyIndex,
  lookupKey,
  parseIndex,
  publishKey,
  pullKey,
  RemoteKeyFinder,
  type RemoteKeyFinderOptions,
  type RemoteKeyWarning,
  searchIndex,
} from "./core/keyserver/mod.ts";
export {
  type CertificateInfo,
  type CertificateTrust,
  type Crl,
  loadCertificates,
  loadCrls,
  type OcspGood,
  ocspOverHttp,
  type OcspPost,
  readCertificates,
  type SignedPart,
  type TrustedCertificate,
  verifyCertificate,
  X509Error,
  type X509ErrorKind,
} from "./core/x509/mod.ts";
export type { OpenImageFile } from "./core/sif/mod.ts";
export type { DigestsAhead, FileDigestsAhead, KnownDigests } from "./core/integrity/mod.ts";
export type { Enforcement } from "./core/config/mod.ts";
export type { CommitOptions, HashedCopy } from "./core/files/copy_hashed.ts";
export type { RegularFd } from "./core/sif/open_fd.ts";
export type { EnforcingReason } from "./core/config/resolve.ts";
