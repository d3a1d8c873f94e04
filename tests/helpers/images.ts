/**
 * Test images: every corpus image on this machine, and images the tests build themselves
 * from real parts (a mksquashfs root file system, a definition file, JSON, two groups).
 *
 * @module
 */

import {
  createImage,
  type CreateOptions,
  cryptoMessageExtra,
  DataType,
  FormatType,
  FsType,
  MessageType,
  type ObjectInput,
  partitionExtra,
  PartType,
  sbomExtra,
} from "../../core/sif/mod.ts";
import { existsSync, REFERENCE_IMAGES, SHARED_VECTORS, sharedVectorsPresent } from "./peers.ts";

/** The reference test key of Debian's corpus (its public part is the keyring). */
export const REFERENCE_KEY = "/usr/share/gocode/src/github.com/sylabs/sif/test/keys/private.asc";

/** Inputs the reference used to generate its corpus. */
export const REFERENCE_INPUTS = "/usr/share/gocode/src/github.com/sylabs/sif/test/input";

/** Paths of the `.sif` files in a folder, sorted; none when the folder is missing. */
export function sifFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return [...Deno.readDirSync(folder)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".sif"))
    .map((entry) => `${folder.replace(/\/$/, "")}/${entry.name}`)
    .sort();
}

/**
 * Debian's 2.8.3 corpus and the newer shared vectors (outside CI, only when the shared folder
 * is there: see {@linkcode sharedVectorsPresent}).
 */
export function corpusImages(): string[] {
  const shared = sharedVectorsPresent() ? sifFiles(SHARED_VECTORS) : [];
  return [...sifFiles(REFERENCE_IMAGES), ...shared];
}

/** A squashfs file system made by mksquashfs from a small root tree. */
export async function makeSquashfs(dir: string): Promise<Uint8Array> {
  const root = `${dir}/rootfs`;
  await Deno.mkdir(`${root}/etc`, { recursive: true });
  await Deno.mkdir(`${root}/bin`, { recursive: true });
  await Deno.writeTextFile(`${root}/etc/os-release`, 'NAME="siftrust test"\n');
  await Deno.writeTextFile(`${root}/bin/hello`, "#!/bin/sh\necho hello\n", { mode: 0o755 });
  const out = `${dir}/root.sqfs`;
  const { code, stderr } = await new Deno.Command("mksquashfs", {
    args: [root, out, "-noappend", "-all-root", "-quiet"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`mksquashfs failed: ${new TextDecoder().decode(stderr)}`);
  return await Deno.readFile(out);
}

const text = (s: string) => new TextEncoder().encode(s);

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The primary partition's bytes (default 4096 zero bytes). */
  partition?: Uint8Array;
  /** Objects after the two of group 1 (e.g. a second group). */
  more?: ObjectInput[];
  /** The launch script (default none). */
  launchScript?: CreateOptions["launchScript"];
}

/**
 * The tests' small image: object 1, a definition file (`Bootstrap: scratch`), and object 2, a
 * squashfs primary partition (amd64), both in group 1; then `more`.
 */
export async function buildImage(path: string, options: BuildImageOptions = {}): Promise<string> {
  const image = await createImage(path, {
    launchScript: options.launchScript,
    objects: [
      { dataType: DataType.Deffile, data: text("Bootstrap: scratch\n") },
      {
        dataType: DataType.Partition,
        data: options.partition ?? new Uint8Array(4096),
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
      ...options.more ?? [],
    ],
  });
  image.close();
  return path;
}

/**
 * Builds an image like one `apptainer build` makes, with siftrust's writer: a definition
 * file, labels, environment, a squashfs primary partition (group 1); an overlay partition,
 * JSON, an SBOM and a cryptographic message (group 2); a launch script, a random UUID and
 * real times.
 */
export async function buildRealisticImage(dir: string, path: string): Promise<void> {
  const squashfs = await makeSquashfs(dir);
  const image = await createImage(path, {
    launchScript: "#!/usr/bin/env run-singularity\n",
    time: 1700000000,
    objects: [
      { dataType: DataType.Deffile, data: text("Bootstrap: localimage\nFrom: base.sif\n") },
      { dataType: DataType.Labels, data: text('{"org.label-schema.build-arch":"amd64"}') },
      { dataType: DataType.EnvVar, data: text("export PATH=/bin\n"), name: "90-environment.sh" },
      {
        dataType: DataType.Partition,
        data: squashfs,
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
      {
        dataType: DataType.Partition,
        data: new Uint8Array(8192),
        groupId: 2,
        extra: partitionExtra(FsType.Ext3, PartType.Overlay, "amd64"),
        alignment: 1 << 20,
      },
      {
        dataType: DataType.GenericJSON,
        data: text('{"a":1}'),
        groupId: 2,
        name: "data.json",
        link: { id: 4, isGroup: false },
      },
      { dataType: DataType.SBOM, data: text("{}"), groupId: 2, extra: sbomExtra(4) },
      {
        dataType: DataType.CryptoMessage,
        data: Uint8Array.of(1, 2, 3),
        groupId: 2,
        extra: cryptoMessageExtra(FormatType.OpenPGP, MessageType.ClearSignature),
        link: { id: 1, isGroup: true },
      },
    ],
  });
  image.close();
}
