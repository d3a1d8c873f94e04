/**
 * The 585-byte SIF descriptor: decoding, encoding, and the group/link masks.
 *
 * @module
 */

import { readInt64, trimNuls, writeInt64 } from "./binary.ts";
import { DESCRIPTOR_SIZE, EXTRA_LENGTH, GROUP_MASK, NAME_LENGTH } from "./format.ts";

/** A used descriptor: the metadata of one data object. */
export interface Descriptor {
  /** Index of the slot in the descriptor table (0-based). */
  slot: number;
  /** Data type code (see `DataType`). */
  dataType: number;
  /** Object ID (≥ 1); the reference writes slot + 1, but readers must use this field. */
  id: number;
  /** Logical group ID, 0 for none. */
  groupId: number;
  /** GroupID as stored, with the 0xf0000000 flag bits. */
  rawGroupId: number;
  /** ID of the linked object or group, 0 for none. */
  linkedId: number;
  /** Whether `linkedId` names a group rather than an object. */
  linkedIsGroup: boolean;
  /** LinkedID as stored. */
  rawLinkedId: number;
  /** File offset of the object data. */
  offset: number;
  /** Length of the object data. */
  size: number;
  /** Alignment gap before the object plus its size. */
  sizeWithPadding: number;
  /** Creation time, Unix seconds. */
  createdAt: number;
  /** Modification time, Unix seconds. */
  modifiedAt: number;
  /** Deprecated owner uid (old Singularity wrote the user's). */
  uid: number;
  /** Deprecated owner gid. */
  gid: number;
  /** The 128-byte name field, NUL padded. */
  name: Uint8Array;
  /** The 384-byte type-specific field. */
  extra: Uint8Array;
}

/** A link from one object to another object or to a group. */
export interface ObjectLink {
  /** The target object or group ID. */
  id: number;
  /** Whether the target is a group. */
  isGroup: boolean;
}

const USED_OFFSET = 4;
const INT64_FIELDS = [
  ["offset", 17],
  ["size", 25],
  ["sizeWithPadding", 33],
  ["createdAt", 41],
  ["modifiedAt", 49],
  ["uid", 57],
  ["gid", 65],
] as const;
const NAME_OFFSET = 73;
const EXTRA_OFFSET = 201;

/** Whether a 585-byte record is marked used (any non-zero byte counts, as in Go). */
export function isUsed(record: Uint8Array): boolean {
  return record[USED_OFFSET] !== 0;
}

/**
 * Decodes a used descriptor record.
 *
 * @throws FieldRangeError when an int64 field lies beyond ±2^53
 */
export function decodeDescriptor(record: Uint8Array, slot: number): Descriptor {
  const view = new DataView(record.buffer, record.byteOffset, DESCRIPTOR_SIZE);
  const rawGroupId = view.getUint32(9, true);
  const rawLinkedId = view.getUint32(13, true);
  const ints = {} as Record<(typeof INT64_FIELDS)[number][0], number>;
  for (const [field, offset] of INT64_FIELDS) ints[field] = readInt64(view, offset, field);
  return {
    slot,
    dataType: view.getInt32(0, true),
    id: view.getUint32(5, true),
    groupId: (rawGroupId & ~GROUP_MASK) >>> 0,
    rawGroupId,
    linkedId: (rawLinkedId & ~GROUP_MASK) >>> 0,
    linkedIsGroup: (rawLinkedId & GROUP_MASK) >>> 0 === GROUP_MASK,
    rawLinkedId,
    ...ints,
    name: record.slice(NAME_OFFSET, NAME_OFFSET + NAME_LENGTH),
    extra: record.slice(EXTRA_OFFSET, EXTRA_OFFSET + EXTRA_LENGTH),
  };
}

/** What a descriptor record stores: the descriptor without the fields derived from it. */
export type DescriptorRecord = Omit<Descriptor, "slot" | "groupId" | "linkedId" | "linkedIsGroup">;

/** Encodes a used descriptor into its 585 bytes (Used = 1). */
export function encodeDescriptor(d: DescriptorRecord): Uint8Array {
  const record = new Uint8Array(DESCRIPTOR_SIZE);
  const view = new DataView(record.buffer);
  view.setInt32(0, d.dataType, true);
  record[USED_OFFSET] = 1;
  view.setUint32(5, d.id, true);
  view.setUint32(9, d.rawGroupId, true);
  view.setUint32(13, d.rawLinkedId, true);
  for (const [field, offset] of INT64_FIELDS) writeInt64(view, offset, d[field]);
  record.set(d.name.subarray(0, NAME_LENGTH), NAME_OFFSET);
  record.set(d.extra.subarray(0, EXTRA_LENGTH), EXTRA_OFFSET);
  return record;
}

/** The stored GroupID for a logical group (0 = none): the group with the flag bits set. */
export function rawGroupId(groupId: number): number {
  return (groupId | GROUP_MASK) >>> 0;
}

/** The stored LinkedID for a link: a group ID with the flag bits, a bare object ID, or 0. */
export function rawLinkedId(link: ObjectLink | undefined): number {
  if (link === undefined) return 0;
  return link.isGroup ? rawGroupId(link.id) : link.id >>> 0;
}

/** The object name as text: the name field without trailing NULs, decoded as UTF-8. */
export function descriptorName(d: Descriptor): string {
  return new TextDecoder().decode(trimNuls(d.name));
}

/** Byte offset of the Used flag within a descriptor record (written last by appends). */
export const DESCRIPTOR_USED_OFFSET = USED_OFFSET;
