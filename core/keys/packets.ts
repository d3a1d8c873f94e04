/**
 * OpenPGP packet framing (RFC 4880 §4.2, RFC 9580 §4.2), enough to split a keyring into its
 * transferable keys without interpreting them.
 *
 * @module
 */

/** Packet tags that start a transferable key. */
const PRIMARY_KEY_TAGS = new Set([5, /* secret key */ 6 /* public key */]);

/** One packet: its tag and where it lies in the buffer (header included). */
interface PacketSpan {
  tag: number;
  start: number;
  end: number;
}

/** Why packet framing failed. */
export class PacketError extends Error {}

/** The packets of a buffer, by their framing only. */
function* packets(bytes: Uint8Array): Generator<PacketSpan> {
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const ctb = bytes[at];
    if ((ctb & 0x80) === 0) throw new PacketError(`byte ${start} is not an OpenPGP packet header`);
    const tag = ctb & 0x40 ? ctb & 0x3f : (ctb >> 2) & 0x0f;
    at = ctb & 0x40 ? newFormatEnd(bytes, start + 1) : oldFormatEnd(bytes, start + 1, ctb & 0x03);
    if (at > bytes.length) {
      throw new PacketError(`packet at byte ${start} runs past the end of the data`);
    }
    yield { tag, start, end: at };
  }
}

/** End of a new-format packet whose length octets start at `at` (partial chunks followed). */
function newFormatEnd(bytes: Uint8Array, at: number): number {
  for (;;) {
    const [length, dataStart, partial] = newFormatLength(bytes, at);
    at = dataStart + length;
    if (!partial) return at;
  }
}

/** End of an old-format packet whose length octets start at `at`. */
function oldFormatEnd(bytes: Uint8Array, at: number, lengthType: number): number {
  if (lengthType === 3) {
    throw new PacketError("indeterminate-length packets are not used in keyrings");
  }
  const size = 1 << lengthType;
  if (at + size > bytes.length) throw new PacketError("truncated packet header");
  let length = 0;
  for (let i = 0; i < size; i++) length = length * 256 + bytes[at + i];
  return at + size + length;
}

/** A new-format length at `at`: [length, offset of the data, whether it is a partial chunk]. */
function newFormatLength(bytes: Uint8Array, at: number): [number, number, boolean] {
  if (at >= bytes.length) throw new PacketError("truncated packet header");
  const first = bytes[at];
  if (first < 192) return [first, at + 1, false];
  if (first < 224) {
    if (at + 1 >= bytes.length) throw new PacketError("truncated packet header");
    return [((first - 192) << 8) + bytes[at + 1] + 192, at + 2, false];
  }
  if (first === 255) {
    if (at + 4 >= bytes.length) throw new PacketError("truncated packet header");
    return [new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0), at + 5, false];
  }
  return [1 << (first & 0x1f), at + 1, true];
}

/**
 * Splits a packet stream into transferable keys: each starts at a public- or secret-key
 * packet and runs to the next one. Bytes before the first key packet are dropped.
 */
export function splitTransferableKeys(bytes: Uint8Array): Uint8Array[] {
  const keys: Uint8Array[] = [];
  let start = -1;
  for (const packet of packets(bytes)) {
    if (!PRIMARY_KEY_TAGS.has(packet.tag)) continue;
    if (start !== -1) keys.push(bytes.slice(start, packet.start));
    start = packet.start;
  }
  if (start !== -1) keys.push(bytes.slice(start));
  return keys;
}
