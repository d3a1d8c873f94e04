/**
 * The hashing lanes beside `admit`'s copy (core/files/hash_lanes.ts): each lane hashes, on a
 * worker, the parts of each shared chunk it is given, and writes the chunks it is asked to; a
 * slot of the ring is handed out again only once every lane that was given it is done, so that
 * a small ring gives the same digests and the same file as working on the bytes in place.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { HashLaneError, HashLanes } from "../../core/files/hash_lanes.ts";
import { withTempDir } from "../helpers/env.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("two lanes hash their parts of every chunk and write it, through a small ring", async () => {
  await withTempDir(async (dir) => {
    const target = `${dir}/copy`;
    await Deno.writeFile(target, new Uint8Array());
    await lanesOver(target);
  });
});

async function lanesOver(target: string) {
  const data = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
  const chunkSize = 4096;
  using lanes = new HashLanes(2, { chunkSize, slots: 2, target });
  // Lane 1: sink 0 the bytes 10 000–250 000, sink 1 the even chunks' first 100 bytes, sink 2
  // nothing at all.
  const part = (from: number, to: number) => data.subarray(from, to);
  const evenHeads: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += chunkSize) {
    const slot = await lanes.nextSlot();
    const chunk = data.subarray(at, at + chunkSize);
    slot.bytes.set(chunk);
    // Lane 0 writes the chunks whose number is a multiple of 3, lane 1 the others.
    const write = { offset: at, length: chunk.length };
    const first = (at / chunkSize) % 3 === 0;
    lanes.feed(slot, 0, [{ sink: 0, start: 0, end: chunk.length }], first ? write : undefined);
    const from = Math.max(10_000, at) - at;
    const to = Math.min(250_000, at + chunk.length) - at;
    const segments = from < to ? [{ sink: 0, start: from, end: to }] : [];
    if ((at / chunkSize) % 2 === 0) {
      segments.push({ sink: 1, start: 0, end: 100 });
      evenHeads.push(chunk.subarray(0, 100));
    }
    lanes.feed(slot, 1, segments, first ? undefined : write);
  }
  const [whole, parts] = await lanes.digests([1, 3]);
  assert.deepEqual(whole, [sha256(data)]);
  const heads = new Uint8Array(evenHeads.flatMap((h) => [...h]));
  assert.deepEqual(parts, [sha256(part(10_000, 250_000)), sha256(heads), sha256(new Uint8Array())]);
  assert.deepEqual(await Deno.readFile(target), data);
}

Deno.test("a copier waiting for a slot is released with an error when the lanes close", async () => {
  const lanes = new HashLanes(1, { chunkSize: 16, slots: 2 });
  const held = await lanes.nextSlot();
  lanes.feed(held, 0, [{ sink: 0, start: 0, end: 16 }]);
  const second = await lanes.nextSlot();
  lanes.feed(second, 0, [{ sink: 0, start: 0, end: 16 }]);
  // Both slots are with the lane; whichever way the race goes, closing ends the wait.
  const waiting = lanes.nextSlot().then(() => lanes.nextSlot()).then(() => lanes.nextSlot());
  lanes.close();
  await assert.rejects(waiting, HashLaneError);
  await assert.rejects(lanes.digests([1]), HashLaneError);
});

Deno.test("a lane that cannot write fails the lanes with a write error", async () => {
  await withTempDir(async (dir) => {
    using lanes = new HashLanes(1, { chunkSize: 16, slots: 2, target: `${dir}/missing/copy` });
    const slot = await lanes.nextSlot();
    lanes.feed(slot, 0, [{ sink: 0, start: 0, end: 16 }], { offset: 0, length: 16 });
    await assert.rejects(
      lanes.digests([1]),
      (error) => error instanceof HashLaneError && error.kind === "write",
    );
  });
});
