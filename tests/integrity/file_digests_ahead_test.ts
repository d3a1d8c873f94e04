/**
 * Hashing a file before it is opened (core/integrity/digests_ahead.ts `hashFileAhead`, what
 * `verify` and `sign` do from the bundle's entry): the image then opened gets the digests only if
 * it is the very file held by the worker, with the same objects where they were planned; a
 * verification given them still catches a changed byte; `sign` by default plans its own objects;
 * a plan asked for other objects stops the work and hashes its own; a FIFO or a symbolic link at
 * the path is not opened (nothing hangs).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  analyzeSignatures,
  type DigestsAhead,
  hashFileAhead,
  HashPool,
  readSignatureObjects,
  signedByDefault,
  signImage,
} from "../../core/integrity/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { appendObject, DataType, SifImage } from "../../core/sif/mod.ts";
import { withTempDir } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";
import { newKey } from "../helpers/keys.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const PARTITION = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);

/** A signed image of a definition file and a 300 kB partition; its path. */
async function signedImage(path: string): Promise<string> {
  await buildImage(path, { partition: PARTITION });
  using image = await SifImage.open(path, { write: true });
  await signImage(image, { kind: "pgp", key: wrapKey(await newKey("fileahead")) });
  return path;
}

/** Each signature's integrity verdict, with the digests hashed ahead. */
async function integrity(image: SifImage, digestsAhead: DigestsAhead): Promise<string[]> {
  const checks = await analyzeSignatures(image, await readSignatureObjects(image), {
    digestsAhead,
  });
  return checks.map((check) => check.integrity);
}

Deno.test("a file hashed before it is opened: the image gets its digests, of its bytes", async () => {
  await withTempDir(async (dir) => {
    const path = await signedImage(`${dir}/image.sif`);
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    const ahead = await hashFileAhead(path, { pool, minBytes: 0 });
    assert.ok(ahead !== undefined);
    using image = await SifImage.open(path);
    assert.equal(ahead.size, image.fileSize);
    const taken = await ahead.take(image);
    assert.ok(taken !== undefined);
    const known = await taken.digests;
    const objects = image.descriptors.filter((d) => d.groupId === 1);
    assert.deepEqual([...taken.objects!].sort(), objects.map((d) => d.id).sort());
    for (const d of objects) {
      assert.equal(known?.objects.get(d.id), sha256(await image.objectData(d)));
    }
    let followed = 0;
    taken.follow!((bytes) => followed += bytes);
    assert.equal(followed, objects.reduce((sum, d) => sum + d.size, 0));
    assert.deepEqual(await integrity(image, taken), ["ok"]);
  });
});

Deno.test("digests hashed ahead still catch a changed byte", async () => {
  await withTempDir(async (dir) => {
    const path = await signedImage(`${dir}/image.sif`);
    {
      using image = await SifImage.open(path);
      const d = image.descriptors.find((d) => d.size === PARTITION.length)!;
      using file = await Deno.open(path, { write: true });
      await file.seek(d.offset + 1000, Deno.SeekMode.Start);
      await file.write(new Uint8Array([PARTITION[1000] ^ 1]));
    }
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    const ahead = await hashFileAhead(path, { pool, minBytes: 0 });
    using image = await SifImage.open(path);
    const taken = await ahead!.take(image);
    assert.ok(taken !== undefined);
    assert.deepEqual(await integrity(image, taken), ["mismatch"]);
  });
});

Deno.test("another file at the path, or changed descriptors, do not get the digests", async () => {
  await withTempDir(async (dir) => {
    const path = await signedImage(`${dir}/image.sif`);
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    // The file renamed away and a copy put in its place: another inode, although the same bytes.
    const ahead = await hashFileAhead(path, { pool, minBytes: 0 });
    await Deno.rename(path, `${dir}/away.sif`);
    await Deno.copyFile(`${dir}/away.sif`, path);
    {
      using image = await SifImage.open(path);
      assert.equal(await ahead!.take(image), undefined);
    }
    // The same file, given one more object in the signed group after it was planned.
    const again = await hashFileAhead(path, { pool, minBytes: 0 });
    {
      using writable = await SifImage.open(path, { write: true });
      await appendObject(writable, {
        dataType: DataType.GenericJSON,
        data: new TextEncoder().encode("{}"),
        groupId: 1,
      });
    }
    using image = await SifImage.open(path);
    assert.equal(await again!.take(image), undefined);
    // The worker let go of the file each time: the pool's one worker is free.
    const third = await hashFileAhead(path, { pool, minBytes: 0 });
    assert.ok(third !== undefined);
    third.cancel();
  });
});

Deno.test("sign plans its own objects; a plan asked for other objects hashes its own", async () => {
  await withTempDir(async (dir) => {
    const path = await buildImage(`${dir}/image.sif`, { partition: PARTITION });
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    const key = wrapKey(await newKey("signahead"));
    {
      const ahead = await hashFileAhead(path, { pool, minBytes: 0, select: signedByDefault });
      using image = await SifImage.open(path, { write: true });
      const digestsAhead = await ahead!.take(image);
      assert.ok(digestsAhead !== undefined);
      await signImage(image, { kind: "pgp", key }, { digestsAhead });
    }
    {
      using image = await SifImage.open(path);
      const checks = await analyzeSignatures(image, await readSignatureObjects(image));
      assert.deepEqual(checks.map((c) => c.integrity), ["ok"]);
    }
    // Signing one object only: the work planned for the group is stopped (it may have ended
    // already) and that object is hashed for the signature.
    const ahead = await hashFileAhead(path, { pool, minBytes: 0, select: signedByDefault });
    using image = await SifImage.open(path, { write: true });
    const digestsAhead = await ahead!.take(image);
    assert.ok(digestsAhead !== undefined && digestsAhead.objects!.size === 2);
    const partition = image.descriptors.find((d) => d.size === PARTITION.length)!;
    await signImage(image, { kind: "pgp", key }, { objects: [partition.id], digestsAhead });
    const checks = await analyzeSignatures(image, await readSignatureObjects(image));
    assert.deepEqual(checks.map((c) => c.integrity), ["ok", "ok"]);
  });
});

Deno.test("a FIFO, a symbolic link or a small image at the path is not hashed ahead", async () => {
  await withTempDir(async (dir) => {
    const path = await signedImage(`${dir}/image.sif`);
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success);
    // No writer ever opens the FIFO: an open that blocked would hang the test.
    assert.equal(await hashFileAhead(fifo, { pool, minBytes: 0 }), undefined);
    await Deno.symlink(path, `${dir}/link.sif`);
    assert.equal(await hashFileAhead(`${dir}/link.sif`, { pool, minBytes: 0 }), undefined);
    // Under the pool's threshold (8 MiB): left to the command.
    assert.equal(await hashFileAhead(path, { pool }), undefined);
    assert.ok(await hashFileAhead(path, { pool, minBytes: 0 }) !== undefined);
  });
});
