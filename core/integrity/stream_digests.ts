/**
 * The digests of an image's objects, computed from its bytes as they stream past once (as
 * `admit` writes its copy): the header and descriptor table are parsed from the first bytes,
 * then every object's data, and every group's data concatenated in descriptor order, is hashed
 * with SHA-256 as its bytes go by. A verification of the copy then needs not read the data
 * again ({@linkcode KnownDigests}, `HashingOptions.known` of ./hashing.ts). Anything that cannot
 * be streamed (a table far into the file, a group whose objects are not in file order, an
 * object cut short) is simply not known, and is read and hashed as usual.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { decodeDescriptor, isUsed } from "../sif/descriptor.ts";
import { DESCRIPTOR_SIZE, HEADER_SIZE, MAX_DESCRIPTORS } from "../sif/format.ts";
import { decodeHeader } from "../sif/header.ts";

/** SHA-256 digests (hex) of objects and groups, by object ID and by group ID. */
export interface KnownDigests {
  /** Object ID → SHA-256 of its data. */
  readonly objects: ReadonlyMap<number, string>;
  /** Group ID → SHA-256 of its objects' data concatenated in descriptor order. */
  readonly groups: ReadonlyMap<number, string>;
}

/** The most bytes kept while waiting for the descriptor table: 16 MiB. */
const MAX_PREFIX = 16 << 20;

interface Range {
  start: number;
  end: number;
}

interface Target {
  ranges: Range[];
  hash: Hash;
}

/** Hashes an image's objects from its bytes, fed in file order from byte 0. */
export class StreamingDigests {
  #position = 0;
  #prefix: Uint8Array[] = [];
  #prefixLength = 0;
  /** How many bytes the next parse attempt needs: the header's, then up to the table's end. */
  #needed = HEADER_SIZE;
  #failed = false;
  #objects?: Map<number, Target>;
  #groups?: Map<number, Target>;

  /** Feeds the next bytes of the image (the buffer may be reused once this returns). */
  update(chunk: Uint8Array): void {
    if (this.#failed || chunk.length === 0) return;
    const at = this.#position;
    this.#position += chunk.length;
    if (this.#objects === undefined) {
      this.#prefix.push(chunk.slice());
      this.#prefixLength += chunk.length;
      if (!this.#tryParse()) return;
      const prefix = concat(this.#prefix, this.#prefixLength);
      this.#prefix = [];
      this.#feed(prefix, 0);
      return;
    }
    this.#feed(chunk, at);
  }

  /** The digests of the objects and groups whose bytes all went by. */
  finish(): KnownDigests {
    const done = (targets: Map<number, Target> | undefined) =>
      new Map(
        [...targets ?? []].filter(([, t]) => t.ranges.every((r) => r.end <= this.#position))
          .map(([id, t]) => [id, t.hash.digest("hex")]),
      );
    if (this.#failed) return { objects: new Map(), groups: new Map() };
    return { objects: done(this.#objects), groups: done(this.#groups) };
  }

  /** Parses header and table once enough bytes are in; false while more are needed. */
  #tryParse(): boolean {
    if (this.#prefixLength < this.#needed) return false;
    const head = concat(this.#prefix, this.#prefixLength);
    this.#prefix = [head];
    try {
      const header = decodeHeader(head.subarray(0, HEADER_SIZE), Number.MAX_SAFE_INTEGER);
      const total = header.descriptorsTotal;
      const tableEnd = header.descriptorsOffset + total * DESCRIPTOR_SIZE;
      if (total < 0 || total > MAX_DESCRIPTORS || header.descriptorsOffset < HEADER_SIZE) {
        return this.#fail();
      }
      if (tableEnd > MAX_PREFIX) return this.#fail();
      this.#needed = tableEnd;
      if (this.#prefixLength < tableEnd) return false;
      this.#plan(head.subarray(header.descriptorsOffset, tableEnd));
      return true;
    } catch {
      // Not an image this reader accepts: loading the copy will say what is wrong.
      return this.#fail();
    }
  }

  #plan(table: Uint8Array): void {
    const objects = new Map<number, Target>();
    const members = new Map<number, Range[]>();
    for (let slot = 0; slot * DESCRIPTOR_SIZE < table.length; slot++) {
      const record = table.subarray(slot * DESCRIPTOR_SIZE, (slot + 1) * DESCRIPTOR_SIZE);
      if (!isUsed(record)) continue;
      const d = decodeDescriptor(record, slot);
      if (objects.has(d.id) || d.offset < 0 || d.size < 0) throw new Error("not streamable");
      const range = { start: d.offset, end: d.offset + d.size };
      objects.set(d.id, { ranges: [range], hash: createHash("sha256") });
      if (d.groupId !== 0) members.set(d.groupId, [...members.get(d.groupId) ?? [], range]);
    }
    const groups = new Map<number, Target>();
    for (const [groupId, ranges] of members) {
      // Streamed in file order, so only a group laid out in descriptor order can be hashed.
      if (ranges.every((r, i) => i === 0 || ranges[i - 1].end <= r.start)) {
        groups.set(groupId, { ranges, hash: createHash("sha256") });
      }
    }
    this.#objects = objects;
    this.#groups = groups;
  }

  #feed(chunk: Uint8Array, at: number): void {
    const end = at + chunk.length;
    for (const targets of [this.#objects!, this.#groups!]) {
      for (const target of targets.values()) {
        for (const range of target.ranges) {
          if (range.end <= at || range.start >= end) continue;
          target.hash.update(
            chunk.subarray(Math.max(range.start, at) - at, Math.min(range.end, end) - at),
          );
        }
      }
    }
  }

  #fail(): false {
    this.#failed = true;
    this.#prefix = [];
    return false;
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
