/**
 * Appending a data object to an image, ordered so that a crash at any point leaves an image
 * that loads and verifies as before: the data first, then the descriptor (its Used flag
 * last, in a one-byte write), then the header, with an fsync after each step.
 *
 * @module
 */

import {
  type Descriptor,
  DESCRIPTOR_USED_OFFSET,
  encodeDescriptor,
  type ObjectLink,
  rawGroupId,
  rawLinkedId,
} from "./descriptor.ts";
import { SifError } from "./errors.ts";
import { partitionInfo } from "./extra.ts";
import {
  DataType,
  DESCRIPTOR_SIZE,
  EXTRA_LENGTH,
  NAME_LENGTH,
  PartType,
  ZERO_TIME,
} from "./format.ts";
import { encodeHeader, isDeterministic } from "./header.ts";
import type { SifImage } from "./image.ts";

/** A data object to add to an image. */
export interface ObjectInput {
  /** Data type code (see `DataType`). */
  dataType: number;
  /** The object's bytes, whole or as a stream of chunks. */
  data: Uint8Array | AsyncIterable<Uint8Array>;
  /** Logical group, 0 for none. Default 1, as in the reference library. */
  groupId?: number;
  /** Link to another object or a group. */
  link?: ObjectLink;
  /** Object name, at most 128 bytes of UTF-8. */
  name?: string;
  /** The type-specific Extra field (see the `*Extra` encoders). */
  extra?: Uint8Array;
  /** Alignment of the absolute file offset; default 4096 for partitions, else none. */
  alignment?: number;
  /** Object time, Unix seconds; default the time of the write (see {@linkcode AppendOptions}). */
  time?: number;
}

/** Options of {@linkcode appendObject}. */
export interface AppendOptions {
  /**
   * Time of the write, Unix seconds: stored as the header's ModifiedAt and as the object's
   * times. Default: now, or Go's zero time for a deterministic image (nil UUID and zero
   * times), as the current reference library does.
   */
  time?: number;
  /** fsync between the steps (default true). Only a brand-new file may skip it. */
  durable?: boolean;
}

/**
 * Appends one object to an image opened with `write: true`, and returns its descriptor.
 * Placement follows the reference: after the end of the last object, aligned.
 *
 * @throws SifError("unwritable") when the image has no free descriptor slot or already has a
 *   primary partition, or a write fails
 */
export async function appendObject(
  image: SifImage,
  input: ObjectInput,
  options: AppendOptions = {},
): Promise<Descriptor> {
  const header = image.header;
  const durable = options.durable ?? true;
  const time = options.time ??
    (isDeterministic(header) ? ZERO_TIME : Math.floor(Date.now() / 1000));
  const slot = freeSlot(image);
  const extra = input.extra ?? new Uint8Array(EXTRA_LENGTH);
  const name = new TextEncoder().encode(input.name ?? "");
  if (name.length > NAME_LENGTH) {
    throw unwritable(image, `object name is longer than ${NAME_LENGTH} bytes`);
  }
  const primaryArch = primaryPartitionArch(image, input.dataType, extra);

  const dataEnd = image.descriptors.reduce((end, d) => Math.max(end, d.offset + d.size), 0);
  const start = Math.max(header.dataOffset, dataEnd);
  const alignment = input.alignment ?? (input.dataType === DataType.Partition ? 4096 : 0);
  const offset = alignment > 0 && start % alignment !== 0
    ? start + alignment - (start % alignment)
    : start;

  await write(image, start, new Uint8Array(offset - start));
  const size = await writeData(image, offset, input.data);
  if (durable) await image.sync();

  const descriptorAt = header.descriptorsOffset + slot * DESCRIPTOR_SIZE;
  const record = encodeDescriptor({
    dataType: input.dataType,
    id: slot + 1,
    rawGroupId: rawGroupId(input.groupId ?? 1),
    rawLinkedId: rawLinkedId(input.link),
    offset,
    size,
    sizeWithPadding: offset - start + size,
    createdAt: input.time ?? time,
    modifiedAt: input.time ?? time,
    uid: 0,
    gid: 0,
    name: padded(name, NAME_LENGTH),
    extra: padded(extra, EXTRA_LENGTH),
  });
  record[DESCRIPTOR_USED_OFFSET] = 0;
  await write(image, descriptorAt, record);
  if (durable) await image.sync();
  await write(image, descriptorAt + DESCRIPTOR_USED_OFFSET, Uint8Array.of(1));
  if (durable) await image.sync();

  await write(
    image,
    0,
    encodeHeader({
      ...header,
      arch: primaryArch ?? header.arch,
      modifiedAt: time,
      descriptorsFree: header.descriptorsTotal - image.descriptors.length - 1,
      dataSize: offset + size - header.dataOffset,
    }),
  );
  if (durable) await image.sync();
  await image.reload();
  const added = image.descriptor(slot + 1);
  if (added === undefined) throw unwritable(image, "the new object did not read back");
  return added;
}

function freeSlot(image: SifImage): number {
  const used = new Set(image.descriptors.map((d) => d.slot));
  for (let slot = 0; slot < image.header.descriptorsTotal; slot++) {
    if (!used.has(slot)) return slot;
  }
  throw unwritable(
    image,
    `no free descriptor slot: all ${image.header.descriptorsTotal} are in use`,
  );
}

/** The arch field a new primary partition sets in the header; refuses a second one. */
function primaryPartitionArch(
  image: SifImage,
  dataType: number,
  extra: Uint8Array,
): Uint8Array | undefined {
  if (dataType !== DataType.Partition) return undefined;
  const isPrimary = (e: Uint8Array) =>
    new DataView(e.buffer, e.byteOffset, 8).getInt32(4, true) === PartType.PrimarySystem;
  if (!isPrimary(extra)) return undefined;
  const existing = image.descriptors.some((d) =>
    d.dataType === DataType.Partition && partitionInfo(d).partType === PartType.PrimarySystem
  );
  if (existing) throw unwritable(image, "image already contains a primary partition");
  return extra.slice(8, 11);
}

async function writeData(
  image: SifImage,
  offset: number,
  data: Uint8Array | AsyncIterable<Uint8Array>,
): Promise<number> {
  if (data instanceof Uint8Array) {
    await write(image, offset, data);
    return data.length;
  }
  let size = 0;
  for await (const chunk of data) {
    await write(image, offset + size, chunk);
    size += chunk.length;
  }
  return size;
}

async function write(image: SifImage, offset: number, bytes: Uint8Array): Promise<void> {
  try {
    await image.writeAt(offset, bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SifError("unwritable", `write failed: ${reason}`, image.path, { cause: error });
  }
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes.subarray(0, length));
  return out;
}

function unwritable(image: SifImage, message: string): SifError {
  return new SifError("unwritable", message, image.path);
}
