/**
 * Opening an image once, so that nothing can be swapped between deciding and reading: the
 * path is resolved, opened without following a last symlink (`O_NOFOLLOW`) and without
 * blocking (`O_NONBLOCK`: a FIFO swapped in cannot hang the caller), and must be a regular
 * file by `fstat` of the descriptor. The path rules match is the resolved path, and it must
 * still name the open file (same device and inode) after the open, so a folder renamed or
 * exchanged between resolving and opening cannot pair one file's path with another file's
 * bytes: the open is refused instead.
 *
 * @module
 */

import { closeSync } from "node:fs";
import { SifImage } from "./image.ts";
import { openRegularFd, type RegularFd } from "./open_fd.ts";

export { OpenImageError } from "./open_fd.ts";

/** An image file open for reading: its descriptor, its resolved path, and its `fstat`. */
export interface OpenImageFile extends RegularFd, Disposable {
  /** Reads it as a SIF image (the descriptor stays open). */
  image(): Promise<SifImage>;
  /** Closes the descriptor; a second call does nothing. */
  close(): void;
}

/**
 * Opens the image at `path` once (see the module). Throws `OpenImageError` (a `SifError` of
 * kind `unreadable`) when the path does not exist, cannot be opened, or is not a regular file
 * (a folder, FIFO, device, socket), without ever blocking.
 */
export function openImageOnce(path: string): OpenImageFile {
  const { fd, realPath, info } = openRegularFd(path);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeSync(fd);
  };
  return {
    fd,
    realPath,
    info,
    image: () => SifImage.fromDescriptor(fd, realPath),
    close,
    [Symbol.dispose]: close,
  };
}
