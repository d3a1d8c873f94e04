/**
 * Hashing ahead of a check (core/integrity/digests_ahead.ts): the digests are those of the
 * objects' bytes (node:crypto over the file, and the reference corpus), a verification given them
 * reads nothing and still catches a changed byte, small work is left to the check, and cancelled
 * work ends as undefined at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  analyzeSignatures,
  hashAhead,
  HashPool,
  type KnownDigests,
  readSignatureObjects,
  signImage,
} from "../../core/integrity/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { withTempDir } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";
import { newKey } from "../helpers/keys.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Each object's SHA-256, read back with node:crypto. */
async function truth(image: SifImage): Promise<Map<number, string>> {
  const digests = new Map<number, string>();
  for (const d of image.descriptors) digests.set(d.id, sha256(await image.objectData(d)));
  return digests;
}

/** Each signature's integrity verdict, given `knownDigests` (undefined: read the image). */
async function integrity(image: SifImage, knownDigests?: KnownDigests): Promise<string[]> {
  const checks = await analyzeSignatures(image, await readSignatureObjects(image), {
    knownDigests,
  });
  return checks.map((check) => check.integrity);
}

peerTest("the reference corpus: the digests of the signed objects, as they are", [
  REFERENCE_IMAGES,
], async () => {
  using pool = new HashPool({ size: 1, chunkSize: 4096 });
  for (const name of ["one-group-signed.sif", "two-groups-signed.sif"]) {
    using image = await SifImage.open(join(REFERENCE_IMAGES, name));
    const ahead = await hashAhead(image, { pool, minBytes: 0 });
    const known = await ahead.digests;
    assert.ok(known !== undefined, name);
    const expected = await truth(image);
    assert.ok(known.objects.size > 0, name);
    for (const [id, hex] of known.objects) assert.equal(hex, expected.get(id), `${name} ${id}`);
    for (const [group, hex] of known.groups) {
      const members = image.descriptors.filter((d) => d.groupId === group);
      assert.deepEqual([members.length, hex], [1, expected.get(members[0].id)], name);
    }
    assert.ok((await integrity(image, known)).every((verdict) => verdict === "ok"), name);
  }
});

Deno.test("digests ahead are of the bytes there: a changed byte is still a mismatch", async () => {
  await withTempDir(async (dir) => {
    const partition = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
    const path = await buildImage(`${dir}/image.sif`, { partition });
    {
      using image = await SifImage.open(path, { write: true });
      await signImage(image, { kind: "pgp", key: wrapKey(await newKey("ahead")) });
    }
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    {
      using image = await SifImage.open(path);
      const known = await (await hashAhead(image, { pool, minBytes: 0 })).digests;
      assert.deepEqual(await integrity(image, known), ["ok"]);
    }
    // One byte of the partition changed after signing.
    const file = await Deno.open(path, { write: true });
    using image = await SifImage.open(path);
    const d = image.descriptors.find((d) => d.size === partition.length)!;
    await file.seek(d.offset + 1000, Deno.SeekMode.Start);
    await file.write(new Uint8Array([partition[1000] ^ 1]));
    file.close();
    const known = await (await hashAhead(image, { pool, minBytes: 0 })).digests;
    assert.equal(known?.objects.get(d.id), sha256(await image.objectData(d)));
    assert.deepEqual(await integrity(image, known), ["mismatch"]);
    assert.deepEqual(await integrity(image), ["mismatch"]);
  });
});

Deno.test("small or unsigned work is left to the check; cancelled work ends as undefined", async () => {
  await withTempDir(async (dir) => {
    const path = await buildImage(`${dir}/image.sif`, { partition: new Uint8Array(2 << 20) });
    using pool = new HashPool({ size: 1, chunkSize: 4096 });
    {
      using unsigned = await SifImage.open(path);
      assert.equal(await (await hashAhead(unsigned, { pool, minBytes: 0 })).digests, undefined);
    }
    {
      using image = await SifImage.open(path, { write: true });
      await signImage(image, { kind: "pgp", key: wrapKey(await newKey("small")) });
    }
    using image = await SifImage.open(path);
    // Under the pool's threshold (8 MiB): the check hashes it inline.
    assert.equal(await (await hashAhead(image, { pool })).digests, undefined);
    assert.equal(pool.workers, 0);
    const ahead = await hashAhead(image, { pool, minBytes: 0 });
    ahead.cancel();
    assert.equal(await ahead.digests, undefined);
    // The worker is free for the next work.
    const known = await (await hashAhead(image, { pool, minBytes: 0 })).digests;
    assert.deepEqual(await integrity(image, known), ["ok"]);
    assert.equal(pool.workers, 1);
  });
});
