/**
 * The writes signing relies on: creating images as the reference does (byte for byte),
 * appending objects (placement, alignment, descriptors, header), and crash safety: every
 * prefix of an append's writes leaves an image that loads and verifies in the reference.
 */

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import {
  appendObject,
  createImage,
  cryptoMessageExtra,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  sbomExtra,
  SifError,
  SifImage,
  ZERO_TIME,
} from "../../core/sif/mod.ts";
import { runTool } from "../helpers/cli.ts";
import { REFERENCE_INPUTS, REFERENCE_KEY } from "../helpers/images.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { loadImage, verifyImage } from "../helpers/sifref.ts";
import { tempDir } from "../helpers/env.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** The unsigned corpus images, rebuilt from the recipe of the reference's gen_sifs.go. */
async function corpusRecipes() {
  const squashfs = await Deno.readFile(`${REFERENCE_INPUTS}/root.squashfs`);
  const ext3 = await Deno.readFile(`${REFERENCE_INPUTS}/root.ext3`);
  const sbom = await Deno.readFile(`${REFERENCE_INPUTS}/sbom.cdx.json`);
  const partSystem = {
    dataType: DataType.Partition,
    data: Uint8Array.of(0xfa, 0xce, 0xfe, 0xed),
    extra: partitionExtra(FsType.Raw, PartType.System, "386"),
  };
  const partPrimary = {
    dataType: DataType.Partition,
    data: squashfs,
    extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "386"),
  };
  const json = {
    dataType: DataType.GenericJSON,
    data: Uint8Array.of(0x7b, 0x7d),
    name: "data.json",
  };
  const uuid = Uint8Array.from(
    "3fa802cc358b45e3bcc069dc7a45f9f8".match(/../g)!,
    (h) => parseInt(h, 16),
  );
  return {
    "empty.sif": { deterministic: true },
    "empty-id.sif": { id: uuid, time: ZERO_TIME },
    "empty-launch-script.sif": { deterministic: true, launchScript: "#!/usr/bin/env run-script\n" },
    "one-object-time.sif": { id: new Uint8Array(16), time: 1593475316, objects: [json] },
    "one-object-generic-json.sif": { deterministic: true, objects: [json] },
    "one-object-crypt-message.sif": {
      deterministic: true,
      objects: [{
        dataType: DataType.CryptoMessage,
        data: Uint8Array.of(0xfe, 0xfe, 0xf0, 0xf0),
        extra: cryptoMessageExtra(1, 0x100),
      }],
    },
    "one-object-sbom.sif": {
      deterministic: true,
      objects: [{ dataType: DataType.SBOM, data: sbom, extra: sbomExtra(1) }],
    },
    "one-group.sif": { deterministic: true, objects: [partSystem, partPrimary] },
    "two-groups.sif": {
      deterministic: true,
      objects: [partSystem, partPrimary, {
        dataType: DataType.Partition,
        data: ext3,
        groupId: 2,
        extra: partitionExtra(FsType.Ext3, PartType.System, "amd64"),
      }],
    },
  };
}

peerTest("createImage reproduces the reference's unsigned corpus byte for byte", [
  REFERENCE_IMAGES,
], async (t) => {
  await using temp = await tempDir("siftrust-create-");
  const dir = temp.dir;
  for (const [name, options] of Object.entries(await corpusRecipes())) {
    await t.step(name, async () => {
      (await createImage(`${dir}/${name}`, options)).close();
      const ours = await Deno.readFile(`${dir}/${name}`);
      const reference = await Deno.readFile(`${REFERENCE_IMAGES}/${name}`);
      ok(ours.length === reference.length && ours.every((b, i) => b === reference[i]), name);
    });
  }
});

peerTest("appended objects are placed as the reference places them and load in it", [
  "go",
  "siftool",
  REFERENCE_IMAGES,
], async () => {
  await using temp = await tempDir("siftrust-append-");
  const dir = temp.dir;
  const path = `${dir}/image.sif`;
  await Deno.copyFile(`${REFERENCE_IMAGES}/two-groups-signed.sif`, path);
  const before = await loadImage(path);
  {
    using image = await SifImage.open(path, { write: true });
    const json = await appendObject(image, {
      dataType: DataType.GenericJSON,
      data: text('{"added":true}'),
      groupId: 3,
      name: "added.json",
      time: 1700000000,
    });
    assertEquals([json.id, json.offset, json.sizeWithPadding], [6, 305013, 14]);
    const partition = await appendObject(image, {
      dataType: DataType.Partition,
      data: new Uint8Array(5000).fill(7),
      groupId: 3,
      link: { id: 6, isGroup: false },
      extra: partitionExtra(FsType.Raw, PartType.Data, "arm64"),
    }, { time: 1700000001 });
    // Partitions align to 4096 of the absolute offset: 305027 → 307200.
    assertEquals([partition.id, partition.offset, partition.sizeWithPadding], [
      7,
      307200,
      2173 + 5000,
    ]);
    assertEquals(image.header.descriptorsFree, 41);
    assertEquals(image.header.dataSize, 307200 + 5000 - image.header.dataOffset);
    assertEquals(image.header.modifiedAt, 1700000001);
    assertEquals(image.fileSize, 312200);
  }
  const after = await loadImage(path);
  assertEquals(after.descriptors.slice(0, 5), before.descriptors);
  assertEquals(after.header.descriptorsFree, 41);
  assertEquals(after.header.dataSize, 312200 - 32176);
  const [json, partition] = after.descriptors.slice(5);
  assertEquals(
    [json.id, json.groupId, json.name, json.size, json.createdAt, json.dataType],
    [6, 3, "added.json", 14, 1700000000, DataType.GenericJSON],
  );
  assertEquals(
    [partition.linkedId, partition.linkedIsGroup, partition.partition],
    [6, false, { fs: FsType.Raw, partType: PartType.Data, arch: "arm64" }],
  );
  const dumped = await runTool("siftool", ["dump", "7", path]);
  assertEquals(dumped.stdout, new Uint8Array(5000).fill(7));
  // The group signatures still verify: the new objects are in a group of their own.
  const verified = await verifyImage(path, { keyrings: [REFERENCE_KEY], groups: [1, 2] });
  ok(verified.ok, verified.error);
});

/** A write of an append: where and what. */
interface Write {
  offset: number;
  bytes: Uint8Array;
}

peerTest("a crash at any point of an append leaves an image that verifies as before", [
  "go",
  REFERENCE_IMAGES,
], async (t) => {
  await using temp = await tempDir("siftrust-crash-");
  const dir = temp.dir;
  const original = `${dir}/original.sif`;
  await Deno.copyFile(`${REFERENCE_IMAGES}/one-group-signed.sif`, original);
  // Append a second, valid signature for group 1 (a copy of the first), recording every write.
  const writes: Write[] = [];
  const full = `${dir}/full.sif`;
  await Deno.copyFile(original, full);
  {
    using image = await SifImage.open(full, { write: true });
    const signature = image.descriptor(3)!;
    const record = image.writeAt.bind(image);
    image.writeAt = (offset, bytes) => {
      writes.push({ offset, bytes: bytes.slice() });
      return record(offset, bytes);
    };
    await appendObject(image, {
      dataType: DataType.Signature,
      data: await image.objectData(signature),
      groupId: 0,
      link: { id: 1, isGroup: true },
      extra: signature.extra,
    });
  }
  ok(writes.length >= 4, `only ${writes.length} writes recorded`);
  const complete = await verifyImage(full, { keyrings: [REFERENCE_KEY] });
  assertEquals(complete.ok, true, complete.error);
  assertEquals(complete.results.map((r) => r.signature), [3, 4]);

  // Each crash point: the first k writes done, and write k+1 torn in half.
  const originalBytes = await Deno.readFile(original);
  for (let k = 0; k <= writes.length; k++) {
    for (const torn of k < writes.length ? [false, true] : [false]) {
      await t.step(`after ${k} writes${torn ? " and half of the next" : ""}`, async () => {
        const path = `${dir}/crash-${k}-${torn}.sif`;
        await Deno.writeFile(path, originalBytes);
        using file = await Deno.open(path, { write: true });
        const applied = writes.slice(0, k);
        if (torn) {
          const next = writes[k];
          applied.push({
            offset: next.offset,
            bytes: next.bytes.subarray(0, Math.ceil(next.bytes.length / 2)),
          });
        }
        for (const { offset, bytes } of applied) {
          await file.seek(offset, Deno.SeekMode.Start);
          await file.write(bytes);
        }
        const result = await verifyImage(path, { keyrings: [REFERENCE_KEY] });
        assertEquals(result.ok, true, `crash point ${k}/${torn}: ${result.error}`);
        (await SifImage.open(path)).close();
      });
    }
  }
});

Deno.test("an append that cannot fit leaves the image untouched", async () => {
  await using temp = await tempDir("siftrust-full-");
  const dir = temp.dir;
  const path = `${dir}/full.sif`;
  const primary = {
    dataType: DataType.Partition,
    data: new Uint8Array(16),
    extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
  };
  (await createImage(path, { deterministic: true, capacity: 2, objects: [primary] })).close();
  const before = await Deno.readFile(path);
  using image = await SifImage.open(path, { write: true });
  await rejects(
    appendObject(image, primary),
    (error) =>
      error instanceof SifError && /already contains a primary partition/.test(error.message),
  );
  await appendObject(image, { dataType: DataType.Generic, data: text("x") });
  const full = await Deno.readFile(path);
  await rejects(
    appendObject(image, { dataType: DataType.Generic, data: text("y") }),
    (error) =>
      error instanceof SifError && error.kind === "unwritable" &&
      /no free descriptor slot/.test(error.message),
  );
  assertEquals(await Deno.readFile(path), full);
  ok(full.length > before.length);
});

Deno.test("appends keep the zero time of deterministic images and stamp others with now", async () => {
  await using temp = await tempDir("siftrust-time-");
  const dir = temp.dir;
  const object = { dataType: DataType.Generic, data: text("x") };
  (await createImage(`${dir}/d.sif`, { deterministic: true })).close();
  (await createImage(`${dir}/n.sif`, { time: 1600000000 })).close();
  using deterministic = await SifImage.open(`${dir}/d.sif`, { write: true });
  const d = await appendObject(deterministic, object);
  assertEquals([d.createdAt, d.modifiedAt, deterministic.header.modifiedAt], [
    ZERO_TIME,
    ZERO_TIME,
    ZERO_TIME,
  ]);
  using stamped = await SifImage.open(`${dir}/n.sif`, { write: true });
  const before = Math.floor(Date.now() / 1000);
  const n = await appendObject(stamped, object);
  ok(n.createdAt >= before && n.createdAt <= before + 5);
  assertEquals(stamped.header.modifiedAt, n.createdAt);
  assertEquals(stamped.header.createdAt, 1600000000);
});
