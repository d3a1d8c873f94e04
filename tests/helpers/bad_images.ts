/**
 * Damaged and foreign files for the bad-input tests: every way the header, the descriptor
 * table or a descriptor can be wrong, and odd but harmless images that must still load.
 * The cases patch a small deterministic image made with `createImage`; the library tests
 * (tests/sif/bad_input_test.ts) and the CLI tests run the same files.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  createImage,
  DataType,
  dataTypeName,
  DESCRIPTOR_SIZE,
  FsType,
  partitionExtra,
  PartType,
  type SifErrorKind,
  type SifImage,
} from "../../core/sif/mod.ts";

// ---------------------------------------------------------------------------------------------
// The base image

/** Object 1: a 4-byte raw primary partition in group 1. */
export const PART_DATA: Uint8Array = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
/** Object 2: a JSON object in group 1, linked to object 1. */
export const JSON_DATA: Uint8Array = new TextEncoder().encode('{"hello":"world"}\n');
/** Object 3: a definition file in no group, linked to group 1. */
export const DEFFILE_DATA: Uint8Array = new TextEncoder().encode("Bootstrap: scratch\n");

/**
 * Where the reference library's layout puts the base image's objects: the table holds 48
 * slots at 4096, so data starts at 32176; the partition is aligned to 4096 (32768), the
 * other two follow without padding.
 */
export const LAYOUT = {
  descriptorsOffset: 4096,
  descriptorsTotal: 48,
  dataOffset: 32176,
  part: { id: 1, offset: 32768, size: 4 },
  json: { id: 2, offset: 32772, size: 18 },
  deffile: { id: 3, offset: 32790, size: 19 },
  fileSize: 32809,
} as const;

/** Makes the base image at `path`. */
export async function makeBaseImage(path: string): Promise<void> {
  const image = await createImage(path, {
    deterministic: true,
    objects: [
      {
        dataType: DataType.Partition,
        data: PART_DATA,
        groupId: 1,
        name: "rootfs.raw",
        extra: partitionExtra(FsType.Raw, PartType.PrimarySystem, "amd64"),
      },
      {
        dataType: DataType.GenericJSON,
        data: JSON_DATA,
        groupId: 1,
        link: { id: 1, isGroup: false },
        name: "meta.json",
      },
      {
        dataType: DataType.Deffile,
        data: DEFFILE_DATA,
        groupId: 0,
        link: { id: 1, isGroup: true },
        name: "recipe.def",
      },
    ],
  });
  image.close();
}

let base: Promise<Uint8Array> | undefined;

/** The bytes of the base image (made once). */
export function baseImageBytes(): Promise<Uint8Array> {
  base ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-base-" });
    try {
      await makeBaseImage(`${dir}/base.sif`);
      return await Deno.readFile(`${dir}/base.sif`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return base;
}

// ---------------------------------------------------------------------------------------------
// Byte patching

/** Header int64 field offsets (docs/sif.md). */
const H = {
  createdAt: 64,
  descriptorsFree: 80,
  descriptorsTotal: 88,
  descriptorsOffset: 96,
  descriptorsSize: 104,
  dataSize: 120,
} as const;

/** Descriptor field offsets within a 585-byte record (docs/sif.md). */
const D = { dataType: 0, used: 4, id: 5, offset: 17, size: 25, createdAt: 41 } as const;

/** File offset of descriptor slot `i` of the base image. */
const slot = (i: number) => LAYOUT.descriptorsOffset + i * DESCRIPTOR_SIZE;

const setInt64 = (view: DataView, at: number, value: number | bigint) =>
  view.setBigInt64(at, BigInt(value), true);

const TWO_62 = 2n ** 62n;

// ---------------------------------------------------------------------------------------------
// The cases

/** A file (or directory, FIFO, nothing) to open, and what opening it must do. */
export interface BadCase {
  /** Short name, also the file name. */
  name: string;
  /** Creates the thing at `path` (may leave nothing there). */
  make: (path: string) => Promise<void>;
  /** The error `SifImage.open` must throw; absent when the image must load. */
  error?: { kind: SifErrorKind; message: RegExp };
  /** For an image that must load: checks what was read. */
  check?: (image: SifImage) => void;
}

const invalid = (message: RegExp) => ({ kind: "invalid" as const, message });
const unreadable = (message: RegExp) => ({ kind: "unreadable" as const, message });

/** A case whose file holds these bytes. */
function file(name: string, bytes: () => Promise<Uint8Array>, error: BadCase["error"]): BadCase {
  return { name, make: async (path) => Deno.writeFile(path, await bytes()), error };
}

/** A case made by patching a copy of the base image. */
function patched(
  name: string,
  patch: (view: DataView, bytes: Uint8Array) => void,
  expected: { error: BadCase["error"] } | { check: BadCase["check"] },
): BadCase {
  return {
    name,
    make: async (path) => {
      const bytes = (await baseImageBytes()).slice();
      patch(new DataView(bytes.buffer), bytes);
      await Deno.writeFile(path, bytes);
    },
    ...expected,
  };
}

/** The first `n` bytes of the base image. */
const prefix = (n: number) => async () => (await baseImageBytes()).slice(0, n);

const PNG_LIKE = new Uint8Array(256);
PNG_LIKE.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
PNG_LIKE.set([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0, 0, 0, 1, 0, 8, 6, 0, 0, 0], 8);

/**
 * Every bad (or odd but acceptable) input. The CLI tests run all of them through
 * `sif list|header|info`, so a new case here is covered there too.
 */
export const BAD_CASES: readonly BadCase[] = [
  // Not a SIF image at all.
  file(
    "text",
    () => Promise.resolve(new TextEncoder().encode("Just some text, not an image.\n".repeat(9))),
    invalid(/not a SIF image: invalid SIF magic/),
  ),
  file("png", () => Promise.resolve(PNG_LIKE), invalid(/not a SIF image: invalid SIF magic/)),
  file("empty", () => Promise.resolve(new Uint8Array(0)), invalid(/the file is empty/)),
  file("ten-bytes", prefix(10), invalid(/not a SIF image: the file is only 10 bytes/)),

  // The header is cut short, or of another version.
  file(
    "cut-in-magic",
    prefix(37),
    invalid(/truncated SIF header: the file is 37 bytes, a header is 128/),
  ),
  file(
    "cut-after-magic",
    prefix(100),
    invalid(/truncated SIF header: the file is 100 bytes, a header is 128/),
  ),
  patched("version-02", (_, b) => b.set([0x30, 0x32, 0], 42), {
    error: invalid(/incompatible SIF version "02": siftrust reads SIF version 01/),
  }),
  patched("version-binary", (_, b) => b.set([0xff, 0x01, 0x7f], 42), {
    error: invalid(/incompatible SIF version "\?\?\?"/),
  }),

  // Header fields that describe an impossible descriptor table.
  patched("count-negative", (v) => setInt64(v, H.descriptorsTotal, -1), {
    error: invalid(/descriptor count -1 is invalid \(siftrust reads 0 to 65536\)/),
  }),
  patched("count-2^40", (v) => setInt64(v, H.descriptorsTotal, 2 ** 40), {
    error: invalid(/descriptor count 1099511627776 is invalid/),
  }),
  patched("count-65537", (v) => setInt64(v, H.descriptorsTotal, 65537), {
    error: invalid(/descriptor count 65537 is invalid/),
  }),
  patched("count-2^62", (v) => setInt64(v, H.descriptorsTotal, TWO_62), {
    error: invalid(/corrupt SIF header: descriptorsTotal 4611686018427387904 is out of range/),
  }),
  patched("header-datasize-2^62", (v) => setInt64(v, H.dataSize, TWO_62), {
    error: invalid(/corrupt SIF header: dataSize 4611686018427387904 is out of range/),
  }),
  patched("header-time-minus-2^62", (v) => setInt64(v, H.createdAt, -TWO_62), {
    error: invalid(/corrupt SIF header: createdAt -4611686018427387904 is out of range/),
  }),
  patched("table-offset-0", (v) => setInt64(v, H.descriptorsOffset, 0), {
    error: invalid(/descriptor table offset 0 overlaps the header/),
  }),
  patched("table-size-short", (v) => setInt64(v, H.descriptorsSize, 47 * DESCRIPTOR_SIZE), {
    error: invalid(/48 descriptors need 28080 bytes, the header gives 27495/),
  }),
  patched(
    "table-past-eof",
    (v) => setInt64(v, H.descriptorsOffset, LAYOUT.fileSize - DESCRIPTOR_SIZE),
    {
      error: invalid(
        new RegExp(
          `descriptor table ends at byte ${
            LAYOUT.fileSize - DESCRIPTOR_SIZE + 48 * DESCRIPTOR_SIZE
          }, the file has ${LAYOUT.fileSize}`,
        ),
      ),
    },
  ),
  file(
    "cut-in-table",
    prefix(10000),
    invalid(/truncated image: the descriptor table ends at byte 32176, the file has 10000/),
  ),

  // Used descriptors that point outside the file or at each other.
  patched("offset-past-eof", (v) => setInt64(v, slot(2) + D.offset, LAYOUT.fileSize + 1), {
    error: invalid(
      new RegExp(
        `truncated image: object 3 spans bytes ${LAYOUT.fileSize + 1}-${
          LAYOUT.fileSize + 20
        }, but the file has ${LAYOUT.fileSize}`,
      ),
    ),
  }),
  patched("size-past-eof", (v) => setInt64(v, slot(1) + D.size, LAYOUT.fileSize), {
    error: invalid(
      new RegExp(`truncated image: object 2 spans bytes 32772-${32772 + LAYOUT.fileSize}`),
    ),
  }),
  file(
    "cut-in-data",
    prefix(LAYOUT.fileSize - 5),
    invalid(/truncated image: object 3 spans bytes 32790-32809, but the file has 32804/),
  ),
  patched("size-negative", (v) => setInt64(v, slot(0) + D.size, -4), {
    error: invalid(/corrupt descriptor: object 1 has offset 32768 and size -4/),
  }),
  patched("offset-negative", (v) => setInt64(v, slot(1) + D.offset, -1), {
    error: invalid(/corrupt descriptor: object 2 has offset -1 and size 18/),
  }),
  patched("offset-2^62", (v) => setInt64(v, slot(0) + D.offset, TWO_62), {
    error: invalid(/corrupt descriptor in slot 0: offset 4611686018427387904 is out of range/),
  }),
  patched("size-2^62", (v) => setInt64(v, slot(2) + D.size, TWO_62), {
    error: invalid(/corrupt descriptor in slot 2: size 4611686018427387904 is out of range/),
  }),
  patched("time-2^62", (v) => setInt64(v, slot(1) + D.createdAt, TWO_62), {
    error: invalid(/corrupt descriptor in slot 1: createdAt 4611686018427387904 is out of range/),
  }),
  patched("overlaps-header", (v) => setInt64(v, slot(2) + D.offset, 100), {
    error: invalid(/object 3 \(bytes 100-119\) overlaps the header or descriptor table/),
  }),
  patched("overlaps-table", (v) => setInt64(v, slot(2) + D.offset, slot(1)), {
    error: invalid(/object 3 \(bytes 4681-4700\) overlaps the header or descriptor table/),
  }),
  patched("overlaps-object", (v) => setInt64(v, slot(1) + D.offset, 32770), {
    error: invalid(/corrupt descriptor table: objects 1 and 2 overlap/),
  }),
  patched("contains-object", (v) => {
    setInt64(v, slot(2) + D.offset, LAYOUT.part.offset);
    setInt64(v, slot(2) + D.size, LAYOUT.fileSize - LAYOUT.part.offset);
  }, { error: invalid(/corrupt descriptor table: objects 1 and 3 overlap/) }),
  patched("id-0", (v) => v.setUint32(slot(1) + D.id, 0, true), {
    error: invalid(/corrupt descriptor in slot 1: object ID 0/),
  }),
  patched("id-duplicate", (v) => v.setUint32(slot(2) + D.id, 1, true), {
    error: invalid(/corrupt descriptor table: slots 0 and 2 both hold object ID 1/),
  }),

  // Not a regular file, or nothing there.
  {
    name: "directory",
    make: (path) => Deno.mkdir(path),
    error: unreadable(/is a directory, not a SIF image/),
  },
  {
    name: "fifo",
    make: async (path) => {
      const { success, stderr } = await new Deno.Command("mkfifo", {
        args: [path],
        stderr: "piped",
      })
        .output();
      assert.ok(success, `mkfifo failed: ${new TextDecoder().decode(stderr)}`);
    },
    error: unreadable(/is not a regular file/),
  },
  { name: "missing", make: () => Promise.resolve(), error: unreadable(/no such file/) },
  {
    name: "symlink-loop",
    make: (path) => Deno.symlink(path, path),
    error: unreadable(/cannot read: .*symbolic links/),
  },

  // Odd but valid: these must load.
  patched("unknown-type", (v) => v.setInt32(slot(2) + D.dataType, 0x400c, true), {
    check: (image) => {
      assert.deepEqual(image.descriptors.map((d) => dataTypeName(d.dataType)), [
        "FS",
        "JSON.Generic",
        "Unknown",
      ]);
    },
  }),
  patched("garbage-in-free-slots", (_, bytes) => {
    let seed = 12345;
    for (let i = 3; i < LAYOUT.descriptorsTotal; i++) {
      for (let at = slot(i); at < slot(i + 1); at++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        bytes[at] = seed >>> 16;
      }
      bytes[slot(i) + D.used] = 0;
    }
  }, {
    check: (image) => assert.deepEqual(image.descriptors.map((d) => d.id), [1, 2, 3]),
  }),
  patched("used-flag-0xff", (_, bytes) => {
    bytes[slot(1) + D.used] = 0xff;
  }, {
    check: (image) => assert.deepEqual(image.descriptors.map((d) => d.id), [1, 2, 3]),
  }),
  patched("empty-objects-anywhere", (v) => {
    // Objects of size 0 in the header, in the table, inside another object and at the end.
    const at = [0, 100, slot(5) + 10, LAYOUT.part.offset + 2, LAYOUT.fileSize];
    at.forEach((offset, i) => {
      const s = slot(3 + i);
      v.setInt32(s + D.dataType, DataType.Generic, true);
      v.setUint8(s + D.used, 1);
      v.setUint32(s + D.id, 4 + i, true);
      setInt64(v, s + D.offset, offset);
      setInt64(v, s + D.size, 0);
    });
  }, {
    check: (image) => {
      assert.deepEqual(image.descriptors.map((d) => d.id), [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(image.descriptors.slice(3).map((d) => d.size), [0, 0, 0, 0, 0]);
    },
  }),
  patched("no-descriptors", (v) => {
    setInt64(v, H.descriptorsTotal, 0);
    setInt64(v, H.descriptorsFree, 0);
    setInt64(v, H.descriptorsSize, 0);
  }, {
    check: (image) => assert.equal(image.descriptors.length, 0),
  }),
];

/** The case with this name. */
export function badCase(name: string): BadCase {
  const found = BAD_CASES.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no case "${name}"`);
  return found;
}

/** Creates every case (or the named ones) in `dir`; returns the paths by case name. */
export async function writeCases(
  dir: string,
  cases: readonly BadCase[] = BAD_CASES,
): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const c of cases) {
    const path = `${dir}/${c.name}.sif`;
    await c.make(path);
    paths.set(c.name, path);
  }
  return paths;
}
