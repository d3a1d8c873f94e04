/**
 * The digests `admit` takes of an image as it copies it (core/integrity/stream_digests.ts):
 * planned from the descriptor table, only those its signatures ask for — each object of a
 * signed group, a one-object group's digest from that object's once, nothing for a legacy
 * SHA-384 signature — and a verification given them reads no data; what is not streamed is
 * read as usual. Images signed by the reference library (Debian's corpus) and by siftrust.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import {
  analyzeSignatures,
  type KnownDigests,
  neededDigests,
  readSignatureObjects,
  signImage,
  StreamedDigests,
} from "../../core/integrity/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { DataType, SifImage } from "../../core/sif/mod.ts";
import { withTempDir } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";
import { newKey } from "../helpers/keys.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Streams `bytes` through a plan in chunks of `chunk`, hashing here what it routes. */
function streamed(bytes: Uint8Array, chunk: number): KnownDigests {
  const router = new StreamedDigests();
  let planned = false;
  const hashes: Hash[] = [];
  const waiting: number[] = [];
  const feed = (at: number) => {
    const part = bytes.subarray(at, at + chunk);
    for (const { sink, start, end } of router.segments(at, part.length)) {
      hashes[sink] ??= createHash("sha256");
      hashes[sink].update(part.subarray(start, end));
    }
  };
  for (let at = 0; at < bytes.length; at += chunk) {
    if (planned) feed(at);
    else if (router.plan(bytes.subarray(0, at + chunk))) {
      planned = true;
      for (const earlier of [...waiting, at]) feed(earlier);
    } else waiting.push(at);
  }
  const hex = [...Array(router.sinks).keys()].map((sink) =>
    (hashes[sink] ?? createHash("sha256")).digest("hex")
  );
  return router.known(hex, bytes.length);
}

/** The digests of each object, and of each group's objects concatenated, read back. */
async function readBack(path: string) {
  using image = await SifImage.open(path);
  const objects = new Map<number, string>();
  const groupParts = new Map<number, Uint8Array[]>();
  for (const d of image.descriptors) {
    const data = await image.objectData(d);
    objects.set(d.id, sha256(data));
    if (d.groupId !== 0) groupParts.set(d.groupId, [...groupParts.get(d.groupId) ?? [], data]);
  }
  const groups = new Map(
    [...groupParts].map((
      [id, parts],
    ) => [id, sha256(new Uint8Array(parts.flatMap((p) => [...p])))]),
  );
  return { objects, groups };
}

/** Each signature's integrity verdict, given these digests as known. */
async function integrity(path: string, knownDigests: KnownDigests): Promise<string[]> {
  using image = await SifImage.open(path);
  const checks = await analyzeSignatures(image, await readSignatureObjects(image), {
    knownDigests,
  });
  return checks.map((check) => check.integrity);
}

/** The same digests, every one wrong. */
function wrong(known: KnownDigests): KnownDigests {
  const zero = (map: ReadonlyMap<number, string>) =>
    new Map([...map.keys()].map((id) => [id, "0".repeat(64)]));
  return { objects: zero(known.objects), groups: zero(known.groups) };
}

/** What an image's plan asks for, in a form that compares. */
async function planOf(path: string) {
  using image = await SifImage.open(path);
  const needed = neededDigests(image.descriptors);
  return { objects: [...needed.objects].sort(), groups: Object.fromEntries(needed.groups) };
}

peerTest("the reference corpus: each signed object, nothing for SHA-384 legacy", [
  REFERENCE_IMAGES,
], async () => {
  const expected: Record<string, { objects: number[]; groups: Record<number, number> }> = {
    "one-group.sif": { objects: [], groups: {} },
    "one-group-signed.sif": { objects: [1, 2], groups: {} },
    "two-groups-signed.sif": { objects: [1, 2, 3], groups: { 2: 3 } },
    // A group's legacy SHA-384 signature cannot be told from the table: its objects' digests
    // are streamed (in vain) and the group's is read.
    "one-group-signed-legacy-group.sif": { objects: [1, 2], groups: {} },
    "one-group-signed-legacy.sif": { objects: [], groups: {} },
    "two-groups-signed-legacy-all.sif": { objects: [], groups: {} },
  };
  for (const [name, plan] of Object.entries(expected)) {
    assert.deepEqual(await planOf(join(REFERENCE_IMAGES, name)), plan, name);
  }
  for (const name of ["one-group-signed.sif", "two-groups-signed.sif"]) {
    const path = join(REFERENCE_IMAGES, name);
    const bytes = await Deno.readFile(path);
    const truth = await readBack(path);
    for (const chunk of [1, 100, 4096, bytes.length]) {
      const known = streamed(bytes, chunk);
      for (const [id, hex] of known.objects) assert.equal(hex, truth.objects.get(id), name);
      for (const [id, hex] of known.groups) assert.equal(hex, truth.groups.get(id), name);
      assert.deepEqual([...known.objects.keys()].sort(), (await planOf(path)).objects);
    }
    // The check believes what it is given: it read nothing.
    const known = streamed(bytes, 4096);
    assert.ok((await integrity(path, known)).every((verdict) => verdict === "ok"), name);
    assert.ok((await integrity(path, wrong(known))).every((v) => v === "mismatch"), name);
  }
  // Legacy SHA-384: the streamed digests are not enough, so the check reads the data.
  const legacyGroup = join(REFERENCE_IMAGES, "one-group-signed-legacy-group.sif");
  const known = streamed(await Deno.readFile(legacyGroup), 4096);
  assert.equal(known.objects.size, 2);
  assert.deepEqual(await integrity(legacyGroup, wrong(known)), ["ok"]);
  // A legacy SHA-384 object signature beside a current one: the check reads the data anyway,
  // so nothing at all is streamed.
  await withTempDir(async (dir) => {
    const path = `${dir}/mixed.sif`;
    await Deno.copyFile(join(REFERENCE_IMAGES, "one-group-signed-legacy.sif"), path);
    using image = await SifImage.open(path, { write: true });
    await signImage(image, { kind: "pgp", key: wrapKey(await newKey("mixed")) }, { groups: [1] });
    assert.deepEqual(neededDigests(image.descriptors), { objects: new Set(), groups: new Map() });
  });
});

Deno.test("siftrust's signatures: a signed group's objects, a one-object group hashed once", async () => {
  await withTempDir(async (dir) => {
    const part = (seed: number) => new Uint8Array(70_000).map((_, i) => (i * seed) & 0xff);
    const path = await buildImage(`${dir}/two.sif`, {
      partition: part(7),
      more: [{ dataType: DataType.GenericJSON, data: part(13), groupId: 2 }],
    });
    const key = { kind: "pgp" as const, key: wrapKey(await newKey("stream")) };
    assert.deepEqual(await planOf(path), { objects: [], groups: {} }); // unsigned: nothing
    {
      using image = await SifImage.open(path, { write: true });
      await signImage(image, key, { groups: [2] });
    }
    // Group 1 is not signed: none of its bytes are hashed. Group 2 has one object.
    assert.deepEqual(await planOf(path), { objects: [3], groups: { 2: 3 } });
    const truth = await readBack(path);
    let known = streamed(await Deno.readFile(path), 65536);
    assert.deepEqual(known.objects, new Map([[3, truth.objects.get(3)]]));
    assert.deepEqual(known.groups, new Map([[2, truth.groups.get(2)]]));
    assert.equal(known.groups.get(2), known.objects.get(3));
    assert.deepEqual(await integrity(path, wrong(known)), ["mismatch"]);
    {
      using image = await SifImage.open(path, { write: true });
      await signImage(image, key, { groups: [1] });
    }
    assert.deepEqual(await planOf(path), { objects: [1, 2, 3], groups: { 2: 3 } });
    known = streamed(await Deno.readFile(path), 65536);
    assert.deepEqual(await integrity(path, known), ["ok", "ok"]);
    assert.deepEqual(await integrity(path, wrong(known)), ["mismatch", "mismatch"]);
  });
});

Deno.test("only objects whose bytes all went by are known; junk plans nothing", async () => {
  await withTempDir(async (dir) => {
    const path = await buildImage(`${dir}/one.sif`, { partition: new Uint8Array(50_000).fill(3) });
    {
      using image = await SifImage.open(path, { write: true });
      await signImage(image, { kind: "pgp", key: wrapKey(await newKey("cut")) });
    }
    const bytes = await Deno.readFile(path);
    using image = await SifImage.open(path);
    const partition = image.descriptors.find((d) => d.dataType === DataType.Partition)!;
    const cut = streamed(bytes.subarray(0, partition.offset + partition.size - 1), 4096);
    assert.deepEqual([...cut.objects.keys()], [1]);
    assert.deepEqual([...streamed(bytes, 4096).objects.keys()].sort(), [1, 2]);

    const router = new StreamedDigests();
    assert.equal(router.plan(bytes.subarray(0, 100)), false); // the header is not all there
    assert.equal(router.plan(bytes.subarray(0, 200)), false); // nor the table
    const junk = new StreamedDigests();
    assert.equal(junk.plan(new Uint8Array(8192).fill(7)), true);
    assert.equal(junk.sinks, 0);
    assert.deepEqual(junk.known([], 8192), { objects: new Map(), groups: new Map() });
  });
});
