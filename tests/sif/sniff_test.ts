/**
 * Telling SIF images from other files by their first bytes, and finding the primary system
 * partition.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  createImage,
  DataType,
  FsType,
  isSifFile,
  partitionExtra,
  PartType,
  primaryPartition,
  SIF_SNIFF_LENGTH,
  SifImage,
  sniffSif,
  sniffSifFile,
} from "../../core/sif/mod.ts";
import { corpusImages } from "../helpers/images.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { withTempDir } from "../helpers/env.ts";

peerTest("every corpus image sniffs as SIF, by path and by its first bytes", [
  REFERENCE_IMAGES,
], async () => {
  for (const path of corpusImages()) {
    assertEquals(sniffSifFile(path), "sif", path);
    ok(isSifFile(path));
    const head = (await Deno.readFile(path)).subarray(0, SIF_SNIFF_LENGTH);
    ok(sniffSif(head), path);
    ok(!sniffSif(head.subarray(0, SIF_SNIFF_LENGTH - 1)), "too short");
  }
});

Deno.test("other files, folders, FIFOs and missing paths are not SIF images", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/recipe.def`, "Bootstrap: docker\nFrom: alpine\n".repeat(4));
    assertEquals(sniffSifFile(`${dir}/recipe.def`), "not-sif");
    await Deno.writeTextFile(`${dir}/short`, "SIF");
    assertEquals(sniffSifFile(`${dir}/short`), "not-sif");
    // The magic at another offset does not count.
    await Deno.writeTextFile(`${dir}/shifted`, `${" ".repeat(31)}SIF_MAGIC\0${" ".repeat(40)}`);
    assertEquals(sniffSifFile(`${dir}/shifted`), "not-sif");
    assertEquals(sniffSifFile(dir), "not-sif");
    assertEquals(sniffSifFile(`${dir}/missing.sif`), "unreadable");
    ok(!isSifFile(`${dir}/missing.sif`));
    // A FIFO is never opened (that would block until a writer comes).
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    if (mkfifo.success) assertEquals(sniffSifFile(`${dir}/fifo`), "not-sif");
  });
});

Deno.test("primaryPartition finds the primary system partition, or nothing", async () => {
  await withTempDir(async (dir) => {
    const partition = (partType: number) => ({
      dataType: DataType.Partition,
      data: new Uint8Array(64),
      extra: partitionExtra(FsType.Squashfs, partType, "amd64"),
    });
    const withPrimary = await createImage(`${dir}/a.sif`, {
      objects: [partition(PartType.Data), partition(PartType.PrimarySystem)],
    });
    withPrimary.close();
    const without = await createImage(`${dir}/b.sif`, { objects: [partition(PartType.Data)] });
    without.close();
    using a = await SifImage.open(`${dir}/a.sif`);
    assertEquals(primaryPartition(a.descriptors)?.id, 2);
    using b = await SifImage.open(`${dir}/b.sif`);
    assertEquals(primaryPartition(b.descriptors), undefined);
  });
});
