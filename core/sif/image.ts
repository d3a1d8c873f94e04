/**
 * Opening a SIF image: the header and descriptor table are read and checked once; object
 * data is read on demand with positioned reads, so memory does not grow with the image.
 *
 * @module
 */

import { FieldRangeError } from "./binary.ts";
import { decodeDescriptor, type Descriptor, isUsed } from "./descriptor.ts";
import { SifError } from "./errors.ts";
import { DESCRIPTOR_SIZE, HEADER_SIZE, MAX_DESCRIPTORS } from "./format.ts";
import { DescriptorHandle, descriptorInfo, type FileHandle } from "./handle.ts";
import { decodeHeader, type SifHeader } from "./header.ts";
import { openRegularFd } from "./open_fd.ts";

/** Size of the buffer that {@linkcode SifImage.chunks} reads with: 4 MiB. */
export const CHUNK_SIZE: number = 4 << 20;

/** How to open an image. */
export interface OpenOptions {
  /** Open for writing too (to append objects). Default false. */
  write?: boolean;
}

/**
 * An open SIF image. Close it with {@linkcode SifImage.close} (or `using`).
 *
 * @example List the objects of an image
 * ```ts
 * import { SifImage, dataTypeName } from "./mod.ts";
 * using image = await SifImage.open("examples/example.sif");
 * for (const d of image.descriptors) console.log(d.id, dataTypeName(d.dataType));
 * ```
 */
export class SifImage implements Disposable {
  /** The path the image was opened from. */
  readonly path: string;
  /** Whether the image was opened for writing. */
  readonly writable: boolean;
  #file: FileHandle;
  #header: SifHeader;
  #descriptors: Descriptor[];
  #fileSize: number;
  #identity: FileIdentity;
  /** An absolute path of the file, for {@linkcode SifImage.sameFile}. */
  #filePath: string;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    path: string,
    file: FileHandle,
    writable: boolean,
    loaded: Loaded,
    filePath: string,
  ) {
    this.path = path;
    this.#filePath = filePath.startsWith("/") ? filePath : `${Deno.cwd()}/${filePath}`;
    this.#file = file;
    this.writable = writable;
    this.#header = loaded.header;
    this.#descriptors = loaded.descriptors;
    this.#fileSize = loaded.fileSize;
    this.#identity = loaded.identity;
  }

  /**
   * Opens and checks an image.
   *
   * @throws SifError("unreadable") when the file cannot be opened or read, and
   *   SifError("invalid") when it is not a SIF image this reader accepts
   */
  static async open(path: string, options: OpenOptions = {}): Promise<SifImage> {
    const writable = options.write ?? false;
    // Read-only: opened once, never blocking on a FIFO, a regular file by fstat (./open_fd.ts).
    let file: FileHandle;
    let filePath = path;
    if (writable) {
      file = await openRegularFile(path, writable);
      // A symbolic link resolved, for sameFile's readers (which do not follow one).
      filePath = await Deno.realPath(path).catch(() => path);
    } else {
      const opened = openRegularFd(path);
      file = new DescriptorHandle(opened.fd, true);
      filePath = opened.realPath;
    }
    try {
      return new SifImage(path, file, writable, await load(file, path), filePath);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Reads an image from a file descriptor that is already open (read-only). `name` names it
   * in messages. The descriptor stays open: its owner closes it.
   */
  static async fromDescriptor(fd: number, name: string): Promise<SifImage> {
    const handle = new DescriptorHandle(fd);
    if (!descriptorInfo(fd).isFile) throw new SifError("unreadable", "is not a regular file", name);
    return new SifImage(name, handle, false, await load(handle, name), name);
  }

  /** The global header, as last read. */
  get header(): Readonly<SifHeader> {
    return this.#header;
  }

  /** The used descriptors, in slot order. */
  get descriptors(): readonly Descriptor[] {
    return this.#descriptors;
  }

  /** The file size in bytes, as last read. */
  get fileSize(): number {
    return this.#fileSize;
  }

  /**
   * Where another thread may open this very file to read it (a hashing worker: Deno's
   * descriptors are per thread), and the device and inode it must have: the resolved path it
   * was opened by (or the name it was read from a descriptor as). Undefined when the image's
   * own file is closed or is not the file it was opened as, or its inode is unknown. While the
   * image stays open its inode cannot be reused, but the path may lead elsewhere by the time it
   * is opened: a reader must check the device and inode.
   */
  async sameFile(): Promise<SameFile | undefined> {
    const { dev, ino } = this.#identity;
    if (ino === null) return undefined;
    try {
      const now = await this.#file.stat();
      if (now.dev !== dev || now.ino !== ino) return undefined;
    } catch {
      return undefined;
    }
    return { path: this.#filePath, dev, ino };
  }

  /** The descriptor with this object ID, or undefined. */
  descriptor(id: number): Descriptor | undefined {
    return this.#descriptors.find((d) => d.id === id);
  }

  /** Reads `length` bytes at `offset` into a new buffer. */
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    await this.readInto(offset, buffer);
    return buffer;
  }

  /** Fills `buffer` with the bytes at `offset` (e.g. a chunk a hashing worker will take). */
  readInto(offset: number, buffer: Uint8Array): Promise<void> {
    return this.#exclusive(() => this.#fill(offset, buffer));
  }

  /**
   * Reads the bytes `[offset, offset + length)` in chunks of at most `chunkSize`. The next
   * chunk is read while the caller works on the current one (two buffers, used in turn), so
   * reading and hashing overlap. Each yielded chunk is a view of a reused buffer, valid until
   * the next chunk is requested.
   */
  async *chunks(
    offset: number,
    length: number,
    chunkSize: number = CHUNK_SIZE,
  ): AsyncGenerator<Uint8Array> {
    const size = Math.min(chunkSize, Math.max(length, 1));
    const buffers = [new Uint8Array(size), new Uint8Array(size)];
    const read = (at: number, turn: number) => {
      const view = buffers[turn % 2].subarray(0, Math.min(size, length - at));
      const reading = this.#exclusive(() => this.#fill(offset + at, view)).then(() => view);
      // A caller that stops early never awaits the read ahead: its failure must not go unhandled.
      reading.catch(() => undefined);
      return reading;
    };
    let next = length > 0 ? read(0, 0) : undefined;
    for (let done = 0, turn = 0; next !== undefined; turn++) {
      const view = await next;
      done += view.length;
      next = done < length ? read(done, turn + 1) : undefined;
      yield view;
    }
  }

  /** The data of an object, in chunks (see {@linkcode SifImage.chunks}). */
  objectChunks(d: Descriptor, chunkSize: number = CHUNK_SIZE): AsyncGenerator<Uint8Array> {
    return this.chunks(d.offset, d.size, chunkSize);
  }

  /** The whole data of an object; for small objects only (signatures, JSON). */
  objectData(d: Descriptor): Promise<Uint8Array> {
    return this.readAt(d.offset, d.size);
  }

  /**
   * Writes `bytes` at `offset`. For the writers in this module; the image must have been
   * opened with `write: true`.
   */
  async writeAt(offset: number, bytes: Uint8Array): Promise<void> {
    if (!this.writable) throw new TypeError("image was not opened for writing");
    await this.#exclusive(async () => {
      await this.#file.seek(offset, Deno.SeekMode.Start);
      for (let done = 0; done < bytes.length;) {
        done += await this.#file.write(bytes.subarray(done));
      }
    });
  }

  /** Flushes written data to the disk. */
  async sync(): Promise<void> {
    await this.#exclusive(() => this.#file.sync());
  }

  /** Re-reads and re-checks the header and descriptor table, e.g. after a write. */
  async reload(): Promise<void> {
    const loaded = await this.#exclusive(() => load(this.#file, this.path));
    this.#header = loaded.header;
    this.#descriptors = loaded.descriptors;
    this.#fileSize = loaded.fileSize;
    this.#identity = loaded.identity;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Closes the file (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #fill(offset: number, buffer: Uint8Array): Promise<void> {
    await readFully(this.#file, offset, buffer, this.path);
  }
}

/** A file's device and inode, by `fstat` (the inode null where the platform has none). */
interface FileIdentity {
  dev: number;
  ino: number | null;
}

/** Where another thread may open an image's file, and what it must be (see `sameFile`). */
export interface SameFile {
  /** A path of the very file. */
  path: string;
  /** Its device. */
  dev: number;
  /** Its inode. */
  ino: number;
}

interface Loaded {
  header: SifHeader;
  descriptors: Descriptor[];
  fileSize: number;
  identity: FileIdentity;
}

async function openRegularFile(path: string, write: boolean): Promise<Deno.FsFile> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    throw unreadable(error, path);
  }
  if (info.isDirectory) throw new SifError("unreadable", "is a directory, not a SIF image", path);
  if (!info.isFile) throw new SifError("unreadable", "is not a regular file", path);
  try {
    return await Deno.open(path, { read: true, write });
  } catch (error) {
    throw unreadable(error, path);
  }
}

function unreadable(error: unknown, path: string): SifError {
  if (error instanceof Deno.errors.NotFound) {
    return new SifError("unreadable", "no such file", path, { cause: error });
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SifError("unreadable", "permission denied", path, { cause: error });
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new SifError("unreadable", "siftrust was not given permission to read it", path, {
      cause: error,
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new SifError("unreadable", `cannot read: ${reason}`, path, { cause: error });
}

async function readFully(
  file: FileHandle,
  offset: number,
  buffer: Uint8Array,
  path: string,
): Promise<void> {
  try {
    // A synchronous seek: the read that follows starts at once, and so overlaps whatever the
    // caller does meanwhile (hashing the previous chunk), instead of waiting its turn.
    file.seekSync(offset, Deno.SeekMode.Start);
    for (let done = 0; done < buffer.length;) {
      const n = await file.read(buffer.subarray(done));
      if (n === null) {
        throw new SifError(
          "invalid",
          `unexpected end of file at byte ${offset + done}: the image is truncated`,
          path,
        );
      }
      done += n;
    }
  } catch (error) {
    throw error instanceof SifError ? error : unreadable(error, path);
  }
}

async function load(file: FileHandle, path: string): Promise<Loaded> {
  const info = await file.stat();
  const fileSize = info.size;
  const head = new Uint8Array(Math.min(HEADER_SIZE, fileSize));
  await readFully(file, 0, head, path);
  const header = decodeHeader(head, fileSize, path);
  const table = await readDescriptorTable(file, header, fileSize, path);
  const descriptors = decodeUsed(table, path);
  checkPlacement(descriptors, header, fileSize, path);
  return { header, descriptors, fileSize, identity: { dev: info.dev, ino: info.ino } };
}

async function readDescriptorTable(
  file: FileHandle,
  header: SifHeader,
  fileSize: number,
  path: string,
): Promise<Uint8Array> {
  const invalid = (message: string) => new SifError("invalid", message, path);
  const { descriptorsTotal: total, descriptorsOffset: offset, descriptorsSize: size } = header;
  if (total < 0 || total > MAX_DESCRIPTORS) {
    throw invalid(
      `corrupt SIF header: descriptor count ${total} is invalid (siftrust reads 0 to ${MAX_DESCRIPTORS})`,
    );
  }
  const needed = total * DESCRIPTOR_SIZE;
  if (total === 0) return new Uint8Array(0);
  if (offset < HEADER_SIZE) {
    throw invalid(`corrupt SIF header: descriptor table offset ${offset} overlaps the header`);
  }
  if (size < needed) {
    throw invalid(
      `corrupt SIF header: ${total} descriptors need ${needed} bytes, the header gives ${size}`,
    );
  }
  if (offset + needed > fileSize) {
    throw invalid(
      `truncated image: the descriptor table ends at byte ${
        offset + needed
      }, the file has ${fileSize}`,
    );
  }
  const table = new Uint8Array(needed);
  await readFully(file, offset, table, path);
  return table;
}

function decodeUsed(table: Uint8Array, path: string): Descriptor[] {
  const descriptors: Descriptor[] = [];
  const slotOfId = new Map<number, number>();
  for (let slot = 0; slot * DESCRIPTOR_SIZE < table.length; slot++) {
    const record = table.subarray(slot * DESCRIPTOR_SIZE, (slot + 1) * DESCRIPTOR_SIZE);
    if (!isUsed(record)) continue;
    let d: Descriptor;
    try {
      d = decodeDescriptor(record, slot);
    } catch (error) {
      if (!(error instanceof FieldRangeError)) throw error;
      throw new SifError("invalid", `corrupt descriptor in slot ${slot}: ${error.message}`, path);
    }
    if (d.id === 0) {
      throw new SifError("invalid", `corrupt descriptor in slot ${slot}: object ID 0`, path);
    }
    const other = slotOfId.get(d.id);
    if (other !== undefined) {
      throw new SifError(
        "invalid",
        `corrupt descriptor table: slots ${other} and ${slot} both hold object ID ${d.id}`,
        path,
      );
    }
    slotOfId.set(d.id, slot);
    descriptors.push(d);
  }
  return descriptors;
}

/** Every object must lie inside the file, clear of the header, the table and each other. */
function checkPlacement(
  descriptors: Descriptor[],
  header: SifHeader,
  fileSize: number,
  path: string,
): void {
  const invalid = (message: string) => new SifError("invalid", message, path);
  const tableStart = header.descriptorsOffset;
  const tableEnd = tableStart + header.descriptorsTotal * DESCRIPTOR_SIZE;
  const spans = [];
  for (const d of descriptors) {
    const what = `object ${d.id}`;
    if (d.offset < 0 || d.size < 0) {
      throw invalid(`corrupt descriptor: ${what} has offset ${d.offset} and size ${d.size}`);
    }
    const end = d.offset + d.size;
    if (end > fileSize) {
      throw invalid(
        `truncated image: ${what} spans bytes ${d.offset}-${end}, but the file has ${fileSize}`,
      );
    }
    if (d.size === 0) continue;
    if (d.offset < HEADER_SIZE || (d.offset < tableEnd && end > tableStart)) {
      throw invalid(
        `corrupt descriptor: ${what} (bytes ${d.offset}-${end}) overlaps the header or descriptor table`,
      );
    }
    spans.push({ d, end });
  }
  spans.sort((a, b) => a.d.offset - b.d.offset);
  for (let i = 1; i < spans.length; i++) {
    const previous = spans[i - 1];
    if (spans[i].d.offset < previous.end) {
      throw invalid(
        `corrupt descriptor table: objects ${previous.d.id} and ${spans[i].d.id} overlap`,
      );
    }
  }
}
