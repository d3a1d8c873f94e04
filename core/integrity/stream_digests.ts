/**
 * The digests a verification of an image will need, planned from its first bytes so that they
 * are computed as the image streams past once (as `admit` writes its copy,
 * core/files/copy_hashed.ts): the header and descriptor table are parsed, the signature
 * descriptors say which digests their check asks for (./analyze.ts), and only those are hashed.
 * A verification of the copy then needs not read the data again ({@linkcode KnownDigests},
 * `HashingOptions.known` of ./hashing.ts).
 *
 * What the signatures need, by their descriptors alone:
 * - a signature of a group (the current format, or a legacy group signature): the SHA-256 of
 *   each object of the group (the current format signs each object's digest). A legacy group
 *   signature signs the group's objects concatenated: that digest is the object's when the
 *   group has one object, and is otherwise not streamed (it would hash the data once more for
 *   the rare legacy image);
 * - a signature of one object (always legacy): that object's digest, when the signature's hash
 *   is SHA-256. A legacy signature of SHA-384 or SHA-512 (Singularity made SHA-384) is checked
 *   by reading the image, and then every digest is read (./hashing.ts uses known digests only
 *   when they cover all it needs): nothing is streamed at all.
 *
 * Anything not streamed (a table far into the file, an object cut short) is simply not known,
 * and the verifier reads and hashes as usual.
 *
 * @module
 */

import { decodeDescriptor, type Descriptor, isUsed } from "../sif/descriptor.ts";
import { signatureInfo } from "../sif/extra.ts";
import {
  DataType,
  DESCRIPTOR_SIZE,
  HashType,
  HEADER_SIZE,
  MAX_DESCRIPTORS,
} from "../sif/format.ts";
import { decodeHeader } from "../sif/header.ts";

/** SHA-256 digests (hex) of objects and groups, by object ID and by group ID. */
export interface KnownDigests {
  /** Object ID → SHA-256 of its data. */
  readonly objects: ReadonlyMap<number, string>;
  /** Group ID → SHA-256 of its objects' data concatenated in descriptor order. */
  readonly groups: ReadonlyMap<number, string>;
}

/** The digests a verification asks for, by the image's descriptors. */
export interface NeededDigests {
  /** The objects whose own digest is needed. */
  readonly objects: ReadonlySet<number>;
  /** Groups whose digest is needed, each of one object: group ID → that object's ID. */
  readonly groups: ReadonlyMap<number, number>;
}

/**
 * The SHA-256 digests that checking the signatures of an image with these descriptors asks
 * for and that a stream can give (see the module documentation).
 */
export function neededDigests(descriptors: readonly Descriptor[]): NeededDigests {
  const objects = new Set<number>();
  const groups = new Map<number, number>();
  const none: NeededDigests = { objects: new Set(), groups: new Map() };
  for (const signature of descriptors) {
    if (signature.dataType !== DataType.Signature) continue;
    if (signature.linkedId === 0) continue; // signs nothing a check would hash
    if (!signature.linkedIsGroup) {
      if (!descriptors.some((d) => d.id === signature.linkedId)) continue;
      const hash = signatureInfo(signature).hashType;
      if (hash === HashType.SHA256) objects.add(signature.linkedId);
      // The check reads the image for this digest: streaming the others saves nothing.
      else if (hash === HashType.SHA384 || hash === HashType.SHA512) return none;
      continue;
    }
    const members = descriptors.filter((d) => d.groupId === signature.linkedId);
    for (const member of members) objects.add(member.id);
    if (members.length === 1) groups.set(signature.linkedId, members[0].id);
  }
  return { objects, groups };
}

/**
 * The objects `sign` signs when it is not told which (core/integrity/sign.ts): every object of a
 * group, each by its own SHA-256 digest.
 */
export function signedByDefault(descriptors: readonly Descriptor[]): NeededDigests {
  return {
    objects: new Set(descriptors.filter((d) => d.groupId !== 0).map((d) => d.id)),
    groups: new Map(),
  };
}

/** Bytes `start`–`end` (exclusive) of a chunk, that feed the digest numbered `sink`. */
export interface DigestSegment {
  /** The digest (of {@linkcode StreamedDigests.sinks}) the bytes feed. */
  sink: number;
  /** The first byte, counted from the chunk's start. */
  start: number;
  /** One past the last byte. */
  end: number;
}

/** An object's bytes, and the digest they feed. */
interface Sink {
  id: number;
  start: number;
  end: number;
}

/**
 * Plans the digests a verification needs from an image's first bytes, and says which bytes of
 * the stream feed each (the `DigestRouter` of core/files/copy_hashed.ts); then turns the
 * digests computed into {@linkcode KnownDigests}.
 */
export class StreamedDigests {
  readonly #select: (descriptors: readonly Descriptor[]) => NeededDigests;
  #planned = false;
  #sinks: Sink[] = [];
  /** Group ID → the sink of its one object. */
  #groups = new Map<number, number>();

  /**
   * A planner of the digests `select` asks for, by the descriptors: by default those a
   * verification needs ({@linkcode neededDigests}).
   */
  constructor(select: (descriptors: readonly Descriptor[]) => NeededDigests = neededDigests) {
    this.#select = select;
  }

  /**
   * Plans from the image's first bytes: true once done (with nothing to hash when the bytes
   * are not an image this reader accepts), false while the descriptor table is not all there.
   */
  plan(prefix: Uint8Array): boolean {
    if (this.#planned) return true;
    if (prefix.length < HEADER_SIZE) return false;
    let descriptors: Descriptor[];
    try {
      // Copied out: the prefix may be shared memory, which some decoders refuse.
      const header = decodeHeader(prefix.slice(0, HEADER_SIZE), Number.MAX_SAFE_INTEGER);
      const total = header.descriptorsTotal;
      if (total < 0 || total > MAX_DESCRIPTORS || header.descriptorsOffset < HEADER_SIZE) {
        return this.#done();
      }
      const tableEnd = header.descriptorsOffset + total * DESCRIPTOR_SIZE;
      if (prefix.length < tableEnd) return false;
      descriptors = decodeTable(prefix.slice(header.descriptorsOffset, tableEnd));
    } catch {
      // Not an image this reader accepts: loading the copy will say what is wrong.
      return this.#done();
    }
    const ids = new Set(descriptors.map((d) => d.id));
    if (ids.size !== descriptors.length || descriptors.some((d) => d.offset < 0 || d.size < 0)) {
      return this.#done();
    }
    const needed = this.#select(descriptors);
    const sinkOf = new Map<number, number>();
    for (const d of descriptors) {
      if (!needed.objects.has(d.id)) continue;
      sinkOf.set(d.id, this.#sinks.length);
      this.#sinks.push({ id: d.id, start: d.offset, end: d.offset + d.size });
    }
    for (const [group, id] of needed.groups) this.#groups.set(group, sinkOf.get(id)!);
    return this.#done();
  }

  /** The number of digests planned. */
  get sinks(): number {
    return this.#sinks.length;
  }

  /** The objects planned, one digest each, in the order of the sinks (the descriptors). */
  get objects(): { id: number; offset: number; size: number }[] {
    return this.#sinks.map(({ id, start, end }) => ({ id, offset: start, size: end - start }));
  }

  /** The groups planned, each of one object: group ID → that object's ID. */
  get groups(): Map<number, number> {
    return new Map([...this.#groups].map(([group, sink]) => [group, this.#sinks[sink].id]));
  }

  /** The parts of the stream's bytes `offset`… `offset + length` that feed each digest. */
  segments(offset: number, length: number): DigestSegment[] {
    const end = offset + length;
    const segments: DigestSegment[] = [];
    for (const [sink, range] of this.#sinks.entries()) {
      if (range.end <= offset || range.start >= end || range.start === range.end) continue;
      segments.push({
        sink,
        start: Math.max(range.start, offset) - offset,
        end: Math.min(range.end, end) - offset,
      });
    }
    return segments;
  }

  /**
   * The digests of the objects (and one-object groups) planned whose bytes all went by, from
   * `hex`, the digests of the sinks in order, after `size` bytes of the image.
   */
  known(hex: readonly string[], size: number): KnownDigests {
    const objects = new Map<number, string>();
    const groups = new Map<number, string>();
    if (hex.length !== this.#sinks.length) return { objects, groups };
    const whole = (sink: number) => this.#sinks[sink].end <= size;
    for (const [sink, { id }] of this.#sinks.entries()) {
      if (whole(sink)) objects.set(id, hex[sink]);
    }
    for (const [group, sink] of this.#groups) {
      if (whole(sink)) groups.set(group, hex[sink]);
    }
    return { objects, groups };
  }

  #done(): true {
    this.#planned = true;
    return true;
  }
}

function decodeTable(table: Uint8Array): Descriptor[] {
  const descriptors: Descriptor[] = [];
  for (let slot = 0; slot * DESCRIPTOR_SIZE < table.length; slot++) {
    const record = table.subarray(slot * DESCRIPTOR_SIZE, (slot + 1) * DESCRIPTOR_SIZE);
    if (isUsed(record)) descriptors.push(decodeDescriptor(record, slot));
  }
  return descriptors;
}
