/**
 * Hostile images for the hostile-input tests: images whose signature objects are huge, many,
 * or full of blanks, written with core/sif's writer. Sparse images get their size from
 * `truncate` (holes read as zeros), so hundreds of 16 MiB objects take no disk space.
 *
 * @module
 */

import {
  createImage,
  DataType,
  DESCRIPTOR_SIZE,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
  signatureExtra,
} from "../../core/sif/mod.ts";
import { REPO_ROOT } from "../helpers/peers.ts";

/** The fingerprint of examples/example-key.pub.asc (the demo signer). */
export const EXAMPLE_FINGERPRINT = "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A";

const PARTITION = new TextEncoder().encode("not really a squashfs, but signed objects are bytes");

/**
 * Writes an image: a partition in group 1, then one signature object per entry of
 * `signatures`, each linked to group 1 and naming `fingerprint` in its descriptor.
 */
export async function writeSignatureImage(
  path: string,
  signatures: Uint8Array[],
  fingerprint = EXAMPLE_FINGERPRINT,
): Promise<void> {
  using _ = await createImage(path, {
    deterministic: true,
    capacity: Math.max(48, signatures.length + 1),
    objects: [
      {
        dataType: DataType.Partition,
        data: PARTITION,
        groupId: 1,
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
      ...signatures.map((data) => ({
        dataType: DataType.Signature,
        data,
        groupId: 0,
        link: { id: 1, isGroup: true },
        extra: signatureExtra(1, Uint8Array.fromHex(fingerprint)), // SHA-256
      })),
    ],
  });
}

/**
 * Writes a sparse image with `count` signature objects of `size` zero bytes each: an image
 * with one 1-byte signature object whose descriptor record is then cloned into every slot
 * (new ID, new place), the file extended by truncation (so it takes no disk space).
 */
export async function writeSparseSignatureImage(
  path: string,
  count: number,
  size: number,
): Promise<void> {
  const image = await createImage(path, {
    deterministic: true,
    capacity: count + 1,
    objects: [
      {
        dataType: DataType.Partition,
        data: PARTITION,
        groupId: 1,
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      },
      {
        dataType: DataType.Signature,
        data: Uint8Array.of(0),
        groupId: 0,
        link: { id: 1, isGroup: true },
        extra: signatureExtra(1, Uint8Array.fromHex(EXAMPLE_FINGERPRINT)), // SHA-256
      },
    ],
  });
  const { descriptorsOffset, dataOffset } = image.header;
  const start = Math.ceil((image.fileSize + 1) / 4096) * 4096;
  image.close();
  using file = await Deno.open(path, { read: true, write: true });
  const table = new Uint8Array((count + 1) * DESCRIPTOR_SIZE);
  await file.seek(descriptorsOffset, Deno.SeekMode.Start);
  for (let read = 0; read < table.length;) read += (await file.read(table.subarray(read)))!;
  const first = table.slice(DESCRIPTOR_SIZE, 2 * DESCRIPTOR_SIZE);
  for (let i = 0; i < count; i++) {
    const record = table.subarray((i + 1) * DESCRIPTOR_SIZE, (i + 2) * DESCRIPTOR_SIZE);
    record.set(first);
    const fields = new DataView(record.buffer, record.byteOffset, DESCRIPTOR_SIZE);
    fields.setUint32(5, i + 2, true); // ID
    fields.setBigInt64(17, BigInt(start + i * size), true); // offset
    fields.setBigInt64(25, BigInt(size), true); // size
    fields.setBigInt64(33, BigInt(size), true); // size with padding
  }
  await writeAt(file, descriptorsOffset, table);
  const end = start + count * size;
  const counts = new Uint8Array(8);
  const view = new DataView(counts.buffer);
  view.setBigInt64(0, 0n, true); // no free descriptor slot
  await writeAt(file, 80, counts);
  view.setBigInt64(0, BigInt(end - dataOffset), true);
  await writeAt(file, 120, counts);
  await file.truncate(end);
}

async function writeAt(file: Deno.FsFile, offset: number, bytes: Uint8Array): Promise<void> {
  await file.seek(offset, Deno.SeekMode.Start);
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/**
 * A clear-signed signature object of exactly `size` bytes whose body is one line of blanks,
 * with the (real, but not matching) signature of examples/example-signed.sif: the signer's
 * key is found, so the whole body is hashed.
 */
export async function blanksSignature(size: number): Promise<Uint8Array> {
  using image = await SifImage.open(`${REPO_ROOT}examples/example-signed.sif`);
  const descriptor = image.descriptors.find((d) => d.dataType === DataType.Signature)!;
  const text = new TextDecoder().decode(await image.objectData(descriptor));
  const armored = text.slice(text.indexOf("-----BEGIN PGP SIGNATURE-----"));
  const head = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n";
  const blanks = " ".repeat(size - head.length - armored.length - 1);
  return new TextEncoder().encode(`${head}${blanks}\n${armored}`);
}
