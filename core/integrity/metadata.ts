/**
 * The image metadata that a signature signs: what of the header and of each descriptor is
 * digested (with IDs relative to the group's lowest ID), and the JSON document.
 *
 * @module
 */

import { type Descriptor, GROUP_MASK, type SifHeader } from "../sif/mod.ts";
import { type Digest, DigestError, formatDigest, parseDigest } from "./digest.ts";

/** One signed object in the metadata. */
export interface ObjectMetadata {
  /** Object ID minus the lowest ID of its group. */
  relativeId: number;
  /** Digest of the descriptor fields the signature covers. */
  descriptorDigest: Digest;
  /** Digest of the object data. */
  objectDigest: Digest;
}

/** The metadata document of a signature. */
export interface ImageMetadata {
  /** The document version (1). */
  version: number;
  /** Digest of the header bytes the signature covers. */
  headerDigest: Digest;
  /** The signed objects. */
  objects: ObjectMetadata[];
}

/**
 * The 61 digested header bytes: launch script, magic, version, UUID. Arch, times, counts
 * and offsets are not covered, so later appends do not break signatures.
 */
export function headerDigestInput(header: Readonly<SifHeader>): Uint8Array {
  const input = new Uint8Array(61);
  input.set(header.launchScript, 0);
  input.set(new TextEncoder().encode("SIF_MAGIC\0"), 32);
  input.set(new TextEncoder().encode("01\0"), 42);
  input.set(header.id, 45);
  return input;
}

/**
 * The lowest object ID per group, over all used descriptors. Keyed by logical group ID
 * (what the signer and the verifier use for `relativeId`).
 */
export function minIdsByGroup(descriptors: readonly Descriptor[]): Map<number, number> {
  return minIds(descriptors, (d) => d.groupId);
}

/**
 * The lowest object ID per raw (masked) GroupID value: the reference keys the relative ID
 * of the digested descriptor record this way. For images whose GroupIDs all carry the mask
 * (everything the reference writes) both maps agree.
 */
export function minIdsByRawGroup(descriptors: readonly Descriptor[]): Map<number, number> {
  return minIds(descriptors, (d) => d.rawGroupId);
}

function minIds(descriptors: readonly Descriptor[], key: (d: Descriptor) => number) {
  const mins = new Map<number, number>();
  for (const d of descriptors) {
    const k = key(d);
    const min = mins.get(k);
    if (min === undefined || d.id < min) mins.set(k, d.id);
  }
  return mins;
}

/**
 * The 557 digested descriptor bytes: DataType, Used, relative ID, LinkedID, Size,
 * CreatedAt, UID, GID, Name, Extra. GroupID, Offset, SizeWithPadding and ModifiedAt are not
 * covered, so data may move and be re-stamped.
 */
export function descriptorDigestInput(
  d: Descriptor,
  minIdByRawGroup: Map<number, number>,
): Uint8Array {
  const input = new Uint8Array(557);
  const view = new DataView(input.buffer);
  view.setInt32(0, d.dataType, true);
  input[4] = 1;
  view.setUint32(5, (d.id - (minIdByRawGroup.get(d.rawGroupId) ?? d.id)) >>> 0, true);
  view.setUint32(9, d.rawLinkedId, true);
  view.setBigInt64(13, BigInt(d.size), true);
  view.setBigInt64(21, BigInt(d.createdAt), true);
  view.setBigInt64(29, BigInt(d.uid), true);
  view.setBigInt64(37, BigInt(d.gid), true);
  input.set(d.name, 45);
  input.set(d.extra, 173);
  return input;
}

/**
 * The metadata JSON exactly as the reference marshals it: compact, keys in this order,
 * objects in ascending ID order, no trailing newline.
 */
export function encodeMetadata(metadata: ImageMetadata): string {
  return JSON.stringify({
    version: metadata.version,
    header: { digest: formatDigest(metadata.headerDigest) },
    objects: metadata.objects.map((o) => ({
      relativeId: o.relativeId,
      descriptorDigest: formatDigest(o.descriptorDigest),
      objectDigest: formatDigest(o.objectDigest),
    })),
  });
}

/** Why a metadata document was refused: not the JSON expected, or a digest that cannot be used. */
export type MetadataErrorKind = "json" | "digest";

/** Why a metadata document was refused. */
export class MetadataError extends Error {
  /** Whether the document or one of its digests is at fault. */
  readonly kind: MetadataErrorKind;

  /** Creates an error; `message` is the reference's words. */
  constructor(kind: MetadataErrorKind, message: string) {
    super(message);
    this.name = "MetadataError";
    this.kind = kind;
  }
}

/**
 * Parses a metadata document leniently, as Go's decoder does: keys match case-insensitively
 * (the last duplicate wins), unknown keys are ignored, `version` is not checked. Digest
 * strings must be well formed; a missing digest is `hash algorithm unavailable`.
 */
export function decodeMetadata(text: string): ImageMetadata {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    throw new MetadataError("json", `invalid metadata JSON: ${(error as Error).message}`);
  }
  const doc = asObject(root, "metadata");
  const header = field(doc, "header");
  const objects = field(doc, "objects");
  const version = field(doc, "version");
  return {
    version: typeof version === "number" ? version : 0,
    headerDigest: digestField(
      header === undefined || header === null ? {} : asObject(header, "header"),
      "digest",
    ),
    objects: objects === undefined || objects === null ? [] : asArray(objects).map((entry) => {
      const o = asObject(entry, "object");
      const relativeId = field(o, "relativeId") ?? 0;
      if (
        typeof relativeId !== "number" || !Number.isInteger(relativeId) || relativeId < 0 ||
        relativeId > 0xffffffff
      ) {
        throw new MetadataError(
          "json",
          "invalid metadata JSON: relativeId is not an unsigned 32-bit integer",
        );
      }
      return {
        relativeId,
        descriptorDigest: digestField(o, "descriptorDigest"),
        objectDigest: digestField(o, "objectDigest"),
      };
    }),
  };
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MetadataError("json", `invalid metadata JSON: ${what} is not an object`);
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) {
    throw new MetadataError("json", "invalid metadata JSON: objects is not a list");
  }
  return value;
}

/** A field by case-insensitive name; the last match wins, as in Go. */
function field(object: Record<string, unknown>, name: string): unknown {
  let value: unknown;
  for (const [key, v] of Object.entries(object)) {
    if (key.toLowerCase() === name.toLowerCase()) value = v;
  }
  return value;
}

function digestField(object: Record<string, unknown>, name: string): Digest {
  const value = field(object, name);
  if (value === undefined || value === null || value === "") {
    throw new MetadataError("digest", "hash algorithm unavailable");
  }
  if (typeof value !== "string") {
    throw new MetadataError("json", `invalid metadata JSON: ${name} is not a string`);
  }
  try {
    return parseDigest(value);
  } catch (error) {
    if (error instanceof DigestError) throw new MetadataError("digest", error.message);
    throw error;
  }
}

/** Whether a raw GroupID/LinkedID value carries the group flag bits. */
export function isGroupValue(raw: number): boolean {
  return ((raw & GROUP_MASK) >>> 0) === GROUP_MASK;
}
