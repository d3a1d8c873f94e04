/**
 * The type-specific `Extra` field of a descriptor: partition, signature, cryptographic
 * message, SBOM and OCI metadata, decoded and encoded.
 *
 * @module
 */

import { archField, archName, EXTRA_LENGTH } from "./format.ts";
import { isZero } from "./binary.ts";
import type { Descriptor } from "./descriptor.ts";

/** Partition metadata (data type FS). */
export interface PartitionInfo {
  /** File system type code (see `FsType`). */
  fsType: number;
  /** Partition type code (see `PartType`). */
  partType: number;
  /** Go architecture name, or `unknown`. */
  arch: string;
}

/** Signature metadata (data type Signature). */
export interface SignatureInfo {
  /** Hash type code as stored (1–5 are valid). */
  hashType: number;
  /** The 20-byte primary key fingerprint, or undefined when the field is all zero (DSSE). */
  entity?: Uint8Array;
}

/** Cryptographic message metadata. */
export interface CryptoMessageInfo {
  /** Format code (see `FormatType`). */
  formatType: number;
  /** Message type code (see `MessageType`). */
  messageType: number;
}

function view(d: Descriptor): DataView {
  return new DataView(d.extra.buffer, d.extra.byteOffset, d.extra.byteLength);
}

/** Partition metadata of a descriptor's Extra field. */
export function partitionInfo(d: Descriptor): PartitionInfo {
  const v = view(d);
  return {
    fsType: v.getInt32(0, true),
    partType: v.getInt32(4, true),
    arch: archName(d.extra.subarray(8, 11)),
  };
}

/** Signature metadata of a descriptor's Extra field. */
export function signatureInfo(d: Descriptor): SignatureInfo {
  const entity = d.extra.slice(4, 24);
  return { hashType: view(d).getInt32(0, true), entity: isZero(entity) ? undefined : entity };
}

/** Cryptographic message metadata of a descriptor's Extra field. */
export function cryptoMessageInfo(d: Descriptor): CryptoMessageInfo {
  const v = view(d);
  return { formatType: v.getInt32(0, true), messageType: v.getInt32(4, true) };
}

/** SBOM format code of a descriptor's Extra field. */
export function sbomFormat(d: Descriptor): number {
  return view(d).getInt32(0, true);
}

/**
 * The OCI digest (`sha256:<64 hex>`) stored in the Extra field of an OCI.RootIndex or
 * OCI.Blob descriptor, or an explanation of why it is not a valid digest.
 */
export function ociDigest(d: Descriptor): { digest: string } | { invalid: string } {
  const end = d.extra.indexOf(0);
  const text = new TextDecoder().decode(d.extra.subarray(0, end === -1 ? d.extra.length : end));
  const parts = text.split(":");
  if (parts.length !== 2) return { invalid: "the digest is not of the form algorithm:hex" };
  const [algorithm, hex] = parts;
  if (algorithm !== "sha256") return { invalid: `unsupported digest algorithm "${algorithm}"` };
  if (!/^[0-9a-f]{64}$/.test(hex)) return { invalid: "the digest is not 64 lower-case hex digits" };
  return { digest: text };
}

/** Extra field for a partition. Throws when `arch` is not a known Go architecture name. */
export function partitionExtra(fsType: number, partType: number, arch: string): Uint8Array {
  const field = archField(arch);
  if (field === undefined) throw new RangeError(`unknown architecture "${arch}"`);
  const extra = new Uint8Array(EXTRA_LENGTH);
  const v = new DataView(extra.buffer);
  v.setInt32(0, fsType, true);
  v.setInt32(4, partType, true);
  extra.set(field, 8);
  return extra;
}

/** Extra field for a signature: hash type and the 20-byte fingerprint (zeros for none). */
export function signatureExtra(hashType: number, entity?: Uint8Array): Uint8Array {
  const extra = new Uint8Array(EXTRA_LENGTH);
  new DataView(extra.buffer).setInt32(0, hashType, true);
  if (entity !== undefined) extra.set(entity.subarray(0, 20), 4);
  return extra;
}

/** Extra field for a cryptographic message. */
export function cryptoMessageExtra(formatType: number, messageType: number): Uint8Array {
  const extra = new Uint8Array(EXTRA_LENGTH);
  const v = new DataView(extra.buffer);
  v.setInt32(0, formatType, true);
  v.setInt32(4, messageType, true);
  return extra;
}

/** Extra field for an SBOM. */
export function sbomExtra(format: number): Uint8Array {
  const extra = new Uint8Array(EXTRA_LENGTH);
  new DataView(extra.buffer).setInt32(0, format, true);
  return extra;
}

/** Extra field for an OCI object: its digest text (`sha256:<hex>`). */
export function ociExtra(digest: string): Uint8Array {
  const extra = new Uint8Array(EXTRA_LENGTH);
  extra.set(new TextEncoder().encode(digest));
  return extra;
}
