/**
 * Checking every signature of an image once: who signed it (authenticity) and whether the
 * image still matches what was signed (integrity). Integrity needs no key: the signed
 * metadata is readable without one. All object data is hashed in a single pass, which starts
 * before the first signature is authenticated: keys are found (and OpenPGP is loaded) while
 * the data is hashed.
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import type { Descriptor, SifImage } from "../sif/mod.ts";
import type { KeyFinder } from "../keys/keyset.ts";
import {
  type Digest,
  type DigestAlgorithm,
  DigestError,
  digestOf,
  parseDigest,
  sameDigest,
} from "./digest.ts";
import { DsseError, dsseKeyId, readEnvelopePayload, verifyEnvelope } from "./dsse.ts";
import { DigestPlan, type ProgressCallback } from "./hashing.ts";
import {
  decodeMetadata,
  descriptorDigestInput,
  headerDigestInput,
  type ImageMetadata,
  MetadataError,
  minIdsByGroup,
  minIdsByRawGroup,
} from "./metadata.ts";
import type { Signer } from "./pgp.ts";
import type { SignatureObject } from "./signatures.ts";
import type { DigestsAhead } from "./digests_ahead.ts";
import type { KnownDigests } from "./stream_digests.ts";

/** Whether a signature was made by a key we have, and is valid now. */
export type Authenticity =
  | "ok"
  | "unknown-key"
  | "bad-signature"
  | "expired"
  | "revoked"
  | "no-key-material"
  | "unrecognized";

/** Why the signed content of a signature could not be used. */
export type ContentErrorKind =
  /** The signed metadata is not the JSON document expected. */
  | "metadata-json"
  /** A digest in the signed content is missing, malformed or of an unknown algorithm. */
  | "digest"
  /** The payload of a DSSE envelope cannot be read. */
  | "envelope"
  /** The signature is linked to group 0, or to a group without objects. */
  | "group"
  /** The descriptor names a hash algorithm legacy signatures do not use. */
  | "unsupported-hash";

/** Integrity of one signed object. */
export interface ObjectCheck {
  /** The object. */
  descriptor: Descriptor;
  /** Whether its descriptor digest matches. */
  descriptorOk: boolean;
  /** Whether its data digest matches. */
  objectOk: boolean;
}

/** What one signature object says, and whether it holds. */
export interface SignatureCheck {
  /** The signature object, read and classified. */
  signature: SignatureObject;
  /** The signature object's ID. */
  id: number;
  /** What it signs: a group (current signatures, legacy group ones) or one object (legacy). */
  target: { group: number } | { object: number };
  /** Whether it is a legacy (pre-3.6) signature: object data only, no header or descriptors. */
  legacy: boolean;
  /** Whether a trusted key made the signature. */
  authenticity: Authenticity;
  /** Why authenticity is not ok, in the reference's words (the cause of "not valid"). */
  authenticityError?: string;
  /** The OpenPGP signer, whenever its key was found. */
  signer?: Signer;
  /** The key IDs an OpenPGP signature names as its issuer (16 upper-case hex digits). */
  issuerKeyIds?: string[];
  /** The DSSE keys (SSH-style key IDs) that verified it. */
  dsseKeyIds?: string[];
  /** Whether the signer's primary fingerprint equals the descriptor's (PGP, signer known). */
  fingerprintMatches?: boolean;
  /** The signed metadata (current signatures). */
  metadata?: ImageMetadata;
  /** Why the signed content could not be read (bad JSON, bad digest, no group…). */
  contentError?: string;
  /** Which kind of failure `contentError` is. */
  contentErrorKind?: ContentErrorKind;
  /** Absolute IDs of the signed objects: from the metadata (current signatures), the group's
   * objects (legacy group signatures) or the one object (legacy object signatures). */
  signedIds?: number[];
  /** Whether the header digest matches (current signatures). */
  headerOk?: boolean;
  /** The signed objects that exist, in ascending ID order, with their digests' verdicts. */
  objects: ObjectCheck[];
  /** Signed IDs that name no object of the group now. */
  missing: number[];
  /** Legacy: the signed digest, and whether the data matches it. */
  legacyDigest?: Digest;
  /** Legacy: whether the data matches `legacyDigest`. */
  legacyOk?: boolean;
  /** `ok` when every digest matches, `mismatch` when one does not, `not-checked` when the
   * signed content could not be read. */
  integrity: "ok" | "mismatch" | "not-checked";
}

/** Options of {@linkcode analyzeSignatures}. */
export interface AnalyzeOptions {
  /**
   * Where OpenPGP keys are looked up; none means no PGP key material at all. A function (giving
   * a finder, or none) is called once the hashing is under way, so that keys load meanwhile.
   */
  keys?: KeyFinder | (() => Promise<KeyFinder | undefined>);
  /** Public keys for DSSE signatures. */
  dsseKeys?: KeyObject[];
  /** The time keys must be valid at (default now). */
  now?: Date;
  /** Hashing progress. */
  onProgress?: ProgressCallback;
  /** Digests already computed from the image's bytes (see ./stream_digests.ts). */
  knownDigests?: KnownDigests;
  /** Digests under way already (./digests_ahead.ts), used when they are the ones needed. */
  digestsAhead?: DigestsAhead;
}

const LEGACY_ALGORITHMS: Record<number, DigestAlgorithm> = {
  1: "sha256",
  2: "sha384",
  3: "sha512",
};

/** Checks these signature objects of an image (see {@linkcode readSignatureObjects}). */
export async function analyzeSignatures(
  image: SifImage,
  signatures: SignatureObject[],
  options: AnalyzeOptions = {},
): Promise<SignatureCheck[]> {
  const plan = new DigestPlan();
  const minIds = minIdsByGroup(image.descriptors);
  const checks: SignatureCheck[] = [];
  for (const signature of signatures) {
    const d = signature.descriptor;
    const target = d.linkedIsGroup ? { group: d.linkedId } : { object: d.linkedId };
    const legacy = signature.format === "legacy" || "object" in target;
    const check: SignatureCheck = {
      signature,
      id: d.id,
      target,
      legacy,
      authenticity: "unrecognized",
      objects: [],
      missing: [],
      integrity: "not-checked",
    };
    if (legacy) planLegacy(image, check, plan);
    else planMetadata(image, check, minIds, plan);
    checks.push(check);
  }
  // The signatures are authenticated (keys found, OpenPGP loaded) while the data is hashed.
  const hashing = { known: options.knownDigests, ahead: options.digestsAhead };
  await plan.runWhile(image, options.onProgress, hashing, async () => {
    const keys = typeof options.keys === "function" ? await options.keys() : options.keys;
    for (const check of checks) {
      Object.assign(check, await authenticate(check.signature, check.legacy, keys, options));
      if (check.signer !== undefined && check.signature.format !== "dsse") {
        check.fingerprintMatches = check.signer.fingerprint === check.signature.fingerprint;
      }
    }
  });
  for (const check of checks) judgeIntegrity(image, check, plan);
  return checks;
}

type Authentication = Pick<
  SignatureCheck,
  "authenticity" | "authenticityError" | "signer" | "dsseKeyIds" | "issuerKeyIds"
>;

async function authenticate(
  signature: SignatureObject,
  legacy: boolean,
  keys: KeyFinder | undefined,
  options: AnalyzeOptions,
): Promise<Authentication> {
  if (signature.block !== undefined) {
    if (keys === undefined) {
      return {
        authenticity: "no-key-material",
        authenticityError: "key material not provided for PGP clear-sign signature",
      };
    }
    // OpenPGP is loaded only for OpenPGP signatures (and while the data is hashed).
    const { verifyClearsigned } = await import("./pgp.ts");
    const result = await verifyClearsigned(signature.block, keys, options.now);
    return {
      authenticity: result.status,
      authenticityError: result.error,
      signer: result.signer,
      issuerKeyIds: result.issuerKeyIds,
    };
  }
  if (legacy) {
    return { authenticity: "unrecognized", authenticityError: "clearsigned message not found" };
  }
  if (signature.format === "unknown") {
    return { authenticity: "unrecognized", authenticityError: "signature format not recognized" };
  }
  if (options.dsseKeys === undefined || options.dsseKeys.length === 0) {
    return {
      authenticity: "no-key-material",
      authenticityError: "key material not provided for DSSE envelope signature",
    };
  }
  try {
    const { acceptedKeys } = verifyEnvelope(signature.data, options.dsseKeys);
    return { authenticity: "ok", dsseKeyIds: acceptedKeys.map(dsseKeyId) };
  } catch (error) {
    if (!(error instanceof DsseError)) throw error;
    return { authenticity: "bad-signature", authenticityError: error.message };
  }
}

/** The signed metadata of a current (non-legacy) signature, readable without any key. */
function signedText(signature: SignatureObject): string {
  if (signature.block !== undefined) return signature.block.plaintext;
  return new TextDecoder().decode(readEnvelopePayload(signature.data));
}

function planMetadata(
  image: SifImage,
  check: SignatureCheck,
  minIds: Map<number, number>,
  plan: DigestPlan,
): void {
  const group = (check.target as { group: number }).group;
  if (check.signature.format === "unknown") return;
  try {
    check.metadata = decodeMetadata(signedText(check.signature));
  } catch (error) {
    if (!(error instanceof MetadataError || error instanceof DsseError)) throw error;
    check.contentError = error.message;
    check.contentErrorKind = error instanceof DsseError
      ? "envelope"
      : error.kind === "json"
      ? "metadata-json"
      : "digest";
    return;
  }
  const minId = minIds.get(group);
  if (minId === undefined || group === 0) {
    check.contentError = group === 0 ? "invalid group ID" : "group not found";
    check.contentErrorKind = "group";
    return;
  }
  check.signedIds = check.metadata.objects.map((o) => minId + o.relativeId);
  const members = groupMembers(image, group);
  for (const [i, id] of check.signedIds.entries()) {
    const d = members.get(id);
    if (d === undefined) check.missing.push(id);
    else plan.needObject(id, check.metadata.objects[i].objectDigest.algorithm);
  }
}

/**
 * The descriptors of a group by ID (a map: the signed metadata may list many objects, and each
 * is looked up once).
 */
function groupMembers(image: SifImage, group: number): Map<number, Descriptor> {
  const members = new Map<number, Descriptor>();
  for (const d of image.descriptors) {
    if (d.groupId === group && !members.has(d.id)) members.set(d.id, d);
  }
  return members;
}

function planLegacy(image: SifImage, check: SignatureCheck, plan: DigestPlan): void {
  const block = check.signature.block;
  if (block === undefined) return;
  const algorithm = LEGACY_ALGORITHMS[check.signature.hashType];
  if (algorithm === undefined) {
    check.contentError = "hash algorithm unsupported";
    check.contentErrorKind = "unsupported-hash";
    return;
  }
  const hex = block.plaintext.replace(/^SIFHASH:\n/, "").replace(/\n$/, "");
  try {
    check.legacyDigest = parseDigest(`${algorithm}:${hex}`);
  } catch (error) {
    if (!(error instanceof DigestError)) throw error;
    check.contentError = error.message;
    check.contentErrorKind = "digest";
    return;
  }
  if ("group" in check.target) {
    const group = check.target.group;
    check.signedIds = image.descriptors.filter((d) => d.groupId === group).map((d) => d.id);
    plan.needGroup(group, algorithm);
  } else {
    check.signedIds = [check.target.object];
    if (image.descriptor(check.target.object) !== undefined) {
      plan.needObject(check.target.object, algorithm);
    }
  }
}

function judgeIntegrity(image: SifImage, check: SignatureCheck, plan: DigestPlan): void {
  if (check.legacyDigest !== undefined) {
    const digest = check.legacyDigest;
    if ("group" in check.target) check.legacyOk = plan.groupMatches(check.target.group, digest);
    else {
      const d = image.descriptor(check.target.object);
      check.legacyOk = d !== undefined && plan.objectMatches(d, digest);
    }
    check.integrity = check.legacyOk ? "ok" : "mismatch";
    return;
  }
  const metadata = check.metadata;
  if (metadata === undefined || check.signedIds === undefined) return;
  const header = metadata.headerDigest;
  check.headerOk = sameDigest(digestOf(header.algorithm, headerDigestInput(image.header)), header);
  const rawMins = minIdsByRawGroup(image.descriptors);
  const entries = check.signedIds.map((id, i) => ({ id, entry: metadata.objects[i] }))
    .sort((a, b) => a.id - b.id);
  const members = groupMembers(image, (check.target as { group: number }).group);
  const seen = new Set<number>();
  for (const { id, entry } of entries) {
    const d = members.get(id);
    if (d === undefined || seen.has(id)) continue;
    seen.add(id);
    const descriptorDigest = entry.descriptorDigest;
    check.objects.push({
      descriptor: d,
      descriptorOk: sameDigest(
        digestOf(descriptorDigest.algorithm, descriptorDigestInput(d, rawMins)),
        descriptorDigest,
      ),
      objectOk: plan.objectMatches(d, entry.objectDigest),
    });
  }
  const allOk = check.headerOk && check.missing.length === 0 &&
    check.objects.every((o) => o.descriptorOk && o.objectOk);
  check.integrity = allOk ? "ok" : "mismatch";
}
