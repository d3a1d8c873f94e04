/**
 * Benchmark: `sif list`, `sif header` and `sif info 1` of a 4 GiB image must not cost memory in
 * proportion to the image. The image (one 4 GiB squashfs-type partition of pseudo-random bytes)
 * is made once with the project's own `createImage` under `bench/data/` and reused; a small
 * corpus image is measured beside it for comparison.
 *
 * @module
 */

import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
} from "../core/sif/mod.ts";
import { REFERENCE_IMAGES } from "../tests/helpers/peers.ts";
import {
  type BenchResult,
  humanSize,
  measureCli,
  type Measurement,
  patternData,
  REPO_ROOT,
  type Target,
} from "./measure.ts";

/** Size of the big image's partition. */
const PARTITION_BYTES = 4 * 1024 ** 3;
/** Where the big image lives (git-ignored). */
export const BIG_IMAGE = `${REPO_ROOT}bench/data/squashfs-4gib.sif`;
/** The RSS that `sif list` of the big image must stay under. */
const LIST_RSS_LIMIT_MIB = 100;

/** Whether `path` is a complete big image: one 4 GiB squashfs partition that ends the file. */
async function isComplete(path: string): Promise<boolean> {
  try {
    using image = await SifImage.open(path);
    const [d, ...rest] = image.descriptors;
    return rest.length === 0 && d !== undefined && d.dataType === DataType.Partition &&
      d.size === PARTITION_BYTES && d.offset + d.size === image.fileSize;
  } catch {
    return false;
  }
}

/** Makes the big image unless a complete one is there; returns its size in bytes. */
export async function ensureBigImage(): Promise<number> {
  if (!await isComplete(BIG_IMAGE)) {
    await Deno.mkdir(`${REPO_ROOT}bench/data`, { recursive: true });
    const partial = `${BIG_IMAGE}.tmp`;
    console.log(`creating ${BIG_IMAGE} (${humanSize(PARTITION_BYTES)} partition)…`);
    const started = performance.now();
    const image = await createImage(partial, {
      deterministic: true,
      objects: [{
        dataType: DataType.Partition,
        data: patternData(PARTITION_BYTES, 0x2545f491),
        name: "bench-rootfs.squashfs",
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      }],
    });
    image.close();
    await Deno.rename(partial, BIG_IMAGE);
    console.log(`created in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return (await Deno.stat(BIG_IMAGE)).size;
}

/** A small image for comparison: a corpus image, or the example when the corpus is absent. */
async function smallImage(): Promise<{ path: string; label: string; bytes: number }> {
  for (
    const [path, label] of [
      [`${REFERENCE_IMAGES}/two-groups.sif`, "corpus two-groups.sif"],
      [`${REPO_ROOT}examples/example.sif`, "examples/example.sif"],
    ]
  ) {
    try {
      return { path, label, bytes: (await Deno.stat(path)).size };
    } catch {
      // try the next one
    }
  }
  throw new Error("no small SIF image to compare with");
}

/** Runs the benchmark `runs` times per command. */
export async function sifListRss(runs: number): Promise<BenchResult> {
  const bigBytes = await ensureBigImage();
  const small = await smallImage();
  const images = [
    { path: BIG_IMAGE, label: "4 GiB squashfs", bytes: bigBytes },
    small,
  ];
  const measurements: Measurement[] = [];
  for (const image of images) {
    for (const args of [["list"], ["header"], ["info", "1"]]) {
      measurements.push(
        await measureCli(["sif", ...args, image.path], runs, {
          command: `sif ${args.join(" ")}`,
          image: image.label,
          imageBytes: image.bytes,
        }),
      );
    }
  }
  const list = measurements[0];
  const targets: Target[] = [{
    goal: `\`sif list\` of the 4 GiB image peaks under ${LIST_RSS_LIMIT_MIB} MiB RSS`,
    measured: `${list.peakRssMiB.toFixed(1)} MiB`,
    pass: list.peakRssMiB < LIST_RSS_LIMIT_MIB,
  }];
  return {
    title: "Memory and time of `sif list|header|info` on a 4 GiB image",
    notes: [
      `big image: ${BIG_IMAGE} (${bigBytes} bytes, ${humanSize(bigBytes)}; kept for the next run)`,
      `small image: ${small.path} (${small.bytes} bytes)`,
      `each command: 1 warm-up run, then ${runs} runs, each a new \`deno run\` process under ` +
      "GNU time (`/usr/bin/time -f '%M %e'`); median wall time, largest peak RSS",
    ],
    measurements,
    targets,
  };
}
