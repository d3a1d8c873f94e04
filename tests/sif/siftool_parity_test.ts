/**
 * `siftrust sif list|info|header|dump` against the reference `siftool` (Debian 2.8.3), byte
 * for byte, on every corpus image and on images the tests build (with siftrust's writer and
 * with the reference library, signed by the reference).
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DataType, dataTypeName, SifImage } from "../../core/sif/mod.ts";
import { runCli, runTool } from "../helpers/cli.ts";
import { buildRealisticImage, corpusImages, REFERENCE_KEY } from "../helpers/images.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { signImage } from "../helpers/sifref.ts";
import { tempDir } from "../helpers/env.ts";

const decoder = new TextDecoder();

/**
 * siftool 2.8.3 predates the OCI data types and shows them as `Unknown`; siftrust shows their
 * current names. This turns siftool's rendering of such an object into the current one.
 */
function withCurrentTypeNames(text: string, image: SifImage, id?: number): string {
  for (const d of image.descriptors) {
    if (d.dataType !== DataType.OCIBlob && d.dataType !== DataType.OCIRootIndex) continue;
    const name = dataTypeName(d.dataType);
    if (id === undefined) {
      text = text.replace(new RegExp(`^(${d.id} +\\|.*)\\|Unknown$`, "m"), `$1|${name}`);
    } else if (id === d.id) {
      text = text.replace(/^( +Data Type: +)Unknown$/m, `$1${name}`);
    }
  }
  return text;
}

/** Asserts that every sif subcommand prints what siftool prints for this image. */
async function assertParity(path: string): Promise<void> {
  using image = await SifImage.open(path);
  const checks: [string[], number | undefined][] = [
    [["list", path], undefined],
    [["header", path], undefined],
    ...image.descriptors.map((d): [string[], number] => [["info", String(d.id), path], d.id]),
  ];
  await Promise.all(checks.map(async ([args, id]) => {
    const [ours, reference] = await Promise.all([
      runCli(["sif", ...args]),
      runTool("siftool", args),
    ]);
    assertEquals(reference.code, 0, `siftool ${args.join(" ")}: ${reference.stderr}`);
    assertEquals(ours.code, 0, `siftrust sif ${args.join(" ")}: ${ours.stderr}`);
    const expected = withCurrentTypeNames(decoder.decode(reference.stdout), image, id);
    assertEquals(ours.stdout, expected, `sif ${args.join(" ")}`);
    assertEquals(ours.stderr, "");
  }));
  await Promise.all(image.descriptors.map(async (d) => {
    const args = ["dump", String(d.id), path];
    const [ours, reference] = await Promise.all([
      runCli(["sif", ...args]),
      runTool("siftool", args),
    ]);
    assertEquals(ours.code, 0, ours.stderr);
    assertEquals(ours.stdoutBytes, reference.stdout, `sif ${args.join(" ")}`);
  }));
}

peerTest("sif list/info/header/dump equal siftool on every corpus image", [
  "siftool",
  REFERENCE_IMAGES,
], async (t) => {
  const images = corpusImages();
  assertEquals(images.length >= 17, true, `only ${images.length} corpus images found`);
  for (const path of images) {
    await t.step(path.slice(path.lastIndexOf("/") + 1), () => assertParity(path));
  }
});

peerTest("sif output equals siftool on images built by siftrust and signed by the reference", [
  "siftool",
  "mksquashfs",
  "go",
  REFERENCE_IMAGES,
], async (t) => {
  await using temp = await tempDir("siftrust-parity-");
  const dir = temp.dir;
  const path = `${dir}/realistic.sif`;
  await buildRealisticImage(dir, path);
  await t.step("unsigned", () => assertParity(path));
  await signImage(path, { key: REFERENCE_KEY, time: 1700000100 });
  await t.step("signed by the reference (one signature per group)", () => assertParity(path));
});
