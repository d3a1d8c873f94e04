/**
 * What an image is read from: a Deno file, or a file descriptor already open (as `siftrust
 * exec` holds the image it will run, to check exactly that file).
 *
 * @module
 */

import { closeSync, fstatSync, readSync } from "node:fs";

/** The file operations SifImage uses: those of `Deno.FsFile`. */
export type FileHandle = Pick<
  Deno.FsFile,
  "seek" | "seekSync" | "read" | "write" | "sync" | "stat" | "close"
>;

/**
 * A read-only handle over an open file descriptor. Reads are positioned (`pread`), so the
 * descriptor's own offset is untouched. `close()` closes the descriptor only when the handle
 * owns it; otherwise its owner closes it.
 */
export class DescriptorHandle implements FileHandle {
  readonly #fd: number;
  readonly #owned: boolean;
  #closed = false;
  #position = 0;

  /** A handle over `fd`; with `owned`, `close()` closes the descriptor (once). */
  constructor(fd: number, owned = false) {
    this.#fd = fd;
    this.#owned = owned;
  }

  seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number> {
    if (whence !== Deno.SeekMode.Start) throw new TypeError("only absolute seeks are supported");
    this.#position = Number(offset);
    return Promise.resolve(this.#position);
  }

  seekSync(offset: number | bigint, whence: Deno.SeekMode): number {
    if (whence !== Deno.SeekMode.Start) throw new TypeError("only absolute seeks are supported");
    this.#position = Number(offset);
    return this.#position;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const n = readSync(this.#fd, buffer, 0, buffer.length, this.#position);
    this.#position += n;
    return Promise.resolve(n === 0 && buffer.length > 0 ? null : n);
  }

  write(): Promise<number> {
    return Promise.reject(new TypeError("a descriptor handle is read-only"));
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  stat(): Promise<Deno.FileInfo> {
    return Promise.resolve(descriptorInfo(this.#fd));
  }

  close(): void {
    if (!this.#owned || this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

/** `fstat` of a descriptor, in Deno's shape (the fields siftrust uses). */
export function descriptorInfo(fd: number): Deno.FileInfo {
  const s = fstatSync(fd);
  return {
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymlink: false,
    size: s.size,
    mtime: s.mtime,
    atime: s.atime,
    birthtime: s.birthtime,
    ctime: s.ctime,
    dev: s.dev,
    ino: s.ino,
    mode: s.mode,
    nlink: s.nlink,
    uid: s.uid,
    gid: s.gid,
    rdev: s.rdev,
    blksize: s.blksize,
    blocks: s.blocks,
    isBlockDevice: s.isBlockDevice(),
    isCharDevice: s.isCharacterDevice(),
    isFifo: s.isFIFO(),
    isSocket: s.isSocket(),
  };
}
