/**
 * Creating a new SIF image, laid out exactly as the reference library lays it out.
 *
 * @module
 */

import { appendObject, type ObjectInput } from "./append.ts";
import { SifError } from "./errors.ts";
import {
  DEFAULT_CAPACITY,
  DEFAULT_DESCRIPTORS_OFFSET,
  DESCRIPTOR_SIZE,
  LAUNCH_SCRIPT_LENGTH,
  ZERO_TIME,
} from "./format.ts";
import { encodeHeader } from "./header.ts";
import { SifImage } from "./image.ts";

/** Options of {@linkcode createImage}. */
export interface CreateOptions {
  /** The objects, in order (each takes the next descriptor slot). */
  objects?: ObjectInput[];
  /**
   * A reproducible image: nil UUID and Go's zero time everywhere, as the reference's
   * `OptCreateDeterministic`. Default false.
   */
  deterministic?: boolean;
  /** Creation time, Unix seconds (default now; ignored when deterministic). */
  time?: number;
  /** The image UUID, 16 bytes (default random; nil when deterministic). */
  id?: Uint8Array;
  /** Launch script, shorter than 32 bytes, e.g. `#!/usr/bin/env run-singularity\n`. */
  launchScript?: string;
  /** Number of descriptor slots (default 48). */
  capacity?: number;
}

/**
 * Creates (or replaces) a SIF image at `path` and returns it open for writing.
 *
 * @example A deterministic image with one JSON object
 * ```ts
 * import { createImage, DataType } from "./mod.ts";
 * const data = new TextEncoder().encode('{"hello":"world"}');
 * using image = await createImage("/tmp/hello.sif", {
 *   deterministic: true,
 *   objects: [{ dataType: DataType.GenericJSON, data, name: "hello.json" }],
 * });
 * ```
 */
export async function createImage(path: string, options: CreateOptions = {}): Promise<SifImage> {
  const deterministic = options.deterministic ?? false;
  const time = deterministic ? ZERO_TIME : options.time ?? Math.floor(Date.now() / 1000);
  const capacity = options.capacity ?? DEFAULT_CAPACITY;
  const launchScript = new TextEncoder().encode(options.launchScript ?? "");
  if (launchScript.length >= LAUNCH_SCRIPT_LENGTH) {
    throw new SifError(
      "unwritable",
      `launch script is not shorter than ${LAUNCH_SCRIPT_LENGTH} bytes`,
      path,
    );
  }
  const header = encodeHeader({
    launchScript: Uint8Array.from({ length: LAUNCH_SCRIPT_LENGTH }, (_, i) => launchScript[i] ?? 0),
    arch: new TextEncoder().encode("00\0"),
    id: deterministic
      ? new Uint8Array(16)
      : options.id ?? crypto.getRandomValues(new Uint8Array(16)),
    createdAt: time,
    modifiedAt: time,
    descriptorsFree: capacity,
    descriptorsTotal: capacity,
    descriptorsOffset: DEFAULT_DESCRIPTORS_OFFSET,
    descriptorsSize: capacity * DESCRIPTOR_SIZE,
    dataOffset: DEFAULT_DESCRIPTORS_OFFSET + capacity * DESCRIPTOR_SIZE,
    dataSize: 0,
  });
  const prefix = new Uint8Array(DEFAULT_DESCRIPTORS_OFFSET + capacity * DESCRIPTOR_SIZE);
  prefix.set(header);
  try {
    await Deno.writeFile(path, prefix, { mode: 0o644 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SifError("unwritable", `cannot create: ${reason}`, path, { cause: error });
  }
  const image = await SifImage.open(path, { write: true });
  try {
    for (const object of options.objects ?? []) {
      await appendObject(image, { time, ...object }, { time, durable: false });
    }
    await image.sync();
    return image;
  } catch (error) {
    image.close();
    throw error;
  }
}
