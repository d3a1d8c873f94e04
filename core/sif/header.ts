/**
 * The 128-byte SIF global header: decoding with validation, and encoding.
 *
 * @module
 */

import {
  bytesEqual,
  FieldRangeError,
  isZero,
  readInt64,
  toHex,
  trimNuls,
  writeInt64,
} from "./binary.ts";
import { SifError } from "./errors.ts";
import { HEADER_SIZE, LAUNCH_SCRIPT_LENGTH, MAGIC, VERSION, ZERO_TIME } from "./format.ts";

/** The global header of a SIF image. Raw byte fields are kept exactly as stored. */
export interface SifHeader {
  /** The 32-byte launch script field, NUL padded. */
  launchScript: Uint8Array;
  /** The 3-byte primary architecture field (two ASCII digits and a NUL). */
  arch: Uint8Array;
  /** The 16-byte image UUID. */
  id: Uint8Array;
  /** Creation time, Unix seconds. */
  createdAt: number;
  /** Last modification time, Unix seconds. */
  modifiedAt: number;
  /** Number of free descriptor slots, as the header says (not checked against the slots). */
  descriptorsFree: number;
  /** Number of descriptor slots. */
  descriptorsTotal: number;
  /** File offset of the descriptor table. */
  descriptorsOffset: number;
  /** Size of the descriptor table in bytes. */
  descriptorsSize: number;
  /** File offset of the data section. */
  dataOffset: number;
  /** Size of the data section, as the header says. */
  dataSize: number;
}

const MAGIC_OFFSET = 32;
const VERSION_OFFSET = 42;
const ARCH_OFFSET = 45;
const ID_OFFSET = 48;
const INT_FIELDS = [
  ["createdAt", 64],
  ["modifiedAt", 72],
  ["descriptorsFree", 80],
  ["descriptorsTotal", 88],
  ["descriptorsOffset", 96],
  ["descriptorsSize", 104],
  ["dataOffset", 112],
  ["dataSize", 120],
] as const;

/**
 * Checks the magic and version of the first bytes of a file, as the reference loader does
 * (magic first, then version), then whether all 128 header bytes are there.
 * Throws SifError("invalid") naming what is wrong.
 */
function checkIdentity(bytes: Uint8Array, fileSize: number, path?: string): void {
  const invalid = (message: string) => new SifError("invalid", message, path);
  if (fileSize === 0) throw invalid("not a SIF image: the file is empty");
  const magic = bytes.subarray(MAGIC_OFFSET, MAGIC_OFFSET + MAGIC.length);
  if (!bytesEqual(magic, MAGIC)) {
    const cutInMagic = magic.length > 0 && bytesEqual(magic, MAGIC.subarray(0, magic.length));
    if (cutInMagic) throw invalid(truncated(fileSize));
    if (fileSize < MAGIC_OFFSET) {
      throw invalid(`not a SIF image: the file is only ${fileSize} bytes`);
    }
    throw invalid("not a SIF image: invalid SIF magic");
  }
  const version = bytes.subarray(VERSION_OFFSET, VERSION_OFFSET + VERSION.length);
  if (version.length === VERSION.length && !bytesEqual(version, VERSION)) {
    const shown = new TextDecoder().decode(trimNuls(version)).replace(/[^\x20-\x7e]/g, "?");
    throw invalid(`incompatible SIF version "${shown}": siftrust reads SIF version 01`);
  }
  if (fileSize < HEADER_SIZE) throw invalid(truncated(fileSize));
}

function truncated(fileSize: number): string {
  return `truncated SIF header: the file is ${fileSize} bytes, a header is ${HEADER_SIZE}`;
}

/**
 * Decodes a header from the first bytes of a file (up to 128 of them).
 *
 * @param bytes the first `min(128, fileSize)` bytes of the file
 * @param fileSize the size of the whole file, to tell a truncated header from a foreign file
 * @param path the image path, for error messages
 * @throws SifError("invalid") when the bytes are not a SIF header
 */
export function decodeHeader(bytes: Uint8Array, fileSize: number, path?: string): SifHeader {
  checkIdentity(bytes, fileSize, path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const ints = {} as Record<(typeof INT_FIELDS)[number][0], number>;
  for (const [field, offset] of INT_FIELDS) {
    try {
      ints[field] = readInt64(view, offset, field);
    } catch (error) {
      if (!(error instanceof FieldRangeError)) throw error;
      throw new SifError("invalid", `corrupt SIF header: ${error.message}`, path);
    }
  }
  return {
    launchScript: bytes.slice(0, LAUNCH_SCRIPT_LENGTH),
    arch: bytes.slice(ARCH_OFFSET, ARCH_OFFSET + 3),
    id: bytes.slice(ID_OFFSET, ID_OFFSET + 16),
    ...ints,
  };
}

/** Encodes a header into its 128 bytes, with the current magic and version. */
export function encodeHeader(header: SifHeader): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  bytes.set(header.launchScript.subarray(0, LAUNCH_SCRIPT_LENGTH), 0);
  bytes.set(MAGIC, MAGIC_OFFSET);
  bytes.set(VERSION, VERSION_OFFSET);
  bytes.set(header.arch.subarray(0, 3), ARCH_OFFSET);
  bytes.set(header.id.subarray(0, 16), ID_OFFSET);
  const view = new DataView(bytes.buffer);
  for (const [field, offset] of INT_FIELDS) writeInt64(view, offset, header[field]);
  return bytes;
}

/**
 * Whether the image is "deterministic" as the reference library (≥ 2.9) defines it: nil UUID
 * and both header times at Go's zero time. Writes to such an image keep the zero time.
 */
export function isDeterministic(header: SifHeader): boolean {
  return isZero(header.id) && header.createdAt === ZERO_TIME && header.modifiedAt === ZERO_TIME;
}

/** The image UUID in its canonical 8-4-4-4-12 lower-case form. */
export function formatUuid(id: Uint8Array): string {
  const hex = toHex(id);
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
    .join("-");
}
