/**
 * Little-endian field access shared by the header and descriptor codecs.
 *
 * @module
 */

/** Thrown by {@linkcode readInt64} when a field does not fit a safe JS integer. */
export class FieldRangeError extends Error {
  /** The field's name. */
  readonly field: string;
  /** The value as stored. */
  readonly value: bigint;

  constructor(field: string, value: bigint) {
    super(`${field} ${value} is out of range`);
    this.field = field;
    this.value = value;
  }
}

/** Reads a little-endian int64 as a number; values beyond ±2^53 throw FieldRangeError. */
export function readInt64(view: DataView, offset: number, field: string): number {
  const value = view.getBigInt64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new FieldRangeError(field, value);
  }
  return Number(value);
}

/** Writes a number as a little-endian int64. */
export function writeInt64(view: DataView, offset: number, value: number): void {
  view.setBigInt64(offset, BigInt(value), true);
}

/** The bytes before the first of any trailing NULs. */
export function trimNuls(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

/** Whether every byte is zero. */
export function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
