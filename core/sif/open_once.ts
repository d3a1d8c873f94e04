/**
 * Opening an image once, so that nothing can be swapped between deciding and reading: the
 * path is resolved, opened without following a last symlink (`O_NOFOLLOW`) and without
 * blocking (`O_NONBLOCK`: a FIFO swapped in cannot hang the caller), and must be a regular
 * file by `fstat` of the descriptor. The path rules match is the one the kernel reports for
 * the open descriptor (`/proc/self/fd/N`), so a folder renamed or exchanged between resolving
 * and opening cannot pair one file's path with another file's bytes.
 *
 * @module
 */

import { closeSync, constants, openSync, readlinkSync } from "node:fs";
import { SifError } from "./errors.ts";
import { descriptorInfo } from "./handle.ts";
import { SifImage } from "./image.ts";

/** An image file open for reading: its descriptor, the kernel's path of it, and its `fstat`. */
export interface OpenImageFile extends Disposable {
  /** The read-only descriptor. */
  readonly fd: number;
  /** The absolute path the kernel reports for the descriptor (what rules match). */
  readonly realPath: string;
  /** `fstat` of the descriptor, taken once, right after opening. */
  readonly info: Deno.FileInfo;
  /** Reads it as a SIF image (the descriptor stays open). */
  image(): Promise<SifImage>;
  /** Closes the descriptor; a second call does nothing. */
  close(): void;
}

/** Why {@linkcode openImageOnce} refused: the path is missing, or the `SifError` kind. */
export class OpenImageError extends SifError {
  /** Whether the path does not exist (else it exists but cannot be used). */
  readonly notFound: boolean;

  /** A refusal of `path`; `notFound` when nothing is there. */
  constructor(message: string, path: string, notFound: boolean, options?: ErrorOptions) {
    super("unreadable", message, path, options);
    this.name = "OpenImageError";
    this.notFound = notFound;
  }
}

/**
 * Opens the image at `path` once (see the module). Throws {@linkcode OpenImageError} (a
 * `SifError` of kind `unreadable`) when the path does not exist, cannot be opened, or is not a
 * regular file (a folder, FIFO, device, socket), without ever blocking.
 */
export function openImageOnce(path: string): OpenImageFile {
  let resolved: string;
  try {
    resolved = Deno.realPathSync(path);
  } catch (error) {
    throw openError(path, error);
  }
  let fd: number;
  try {
    fd = openSync(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const info = descriptorInfo(fd);
    if (info.isDirectory) {
      throw new OpenImageError("is a directory, not a SIF image", path, false);
    }
    if (!info.isFile) {
      throw new OpenImageError(`is not a regular file (${fileType(info)})`, path, false);
    }
    const realPath = kernelPath(fd) ?? resolved;
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
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** The kernel's path of an open descriptor, or undefined without `/proc`. */
function kernelPath(fd: number): string | undefined {
  try {
    const link = readlinkSync(`/proc/self/fd/${fd}`);
    return link.startsWith("/") ? link : undefined;
  } catch {
    return undefined;
  }
}

function fileType(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a file";
}

function openError(path: string, error: unknown): OpenImageError {
  const code = (error as { code?: string }).code;
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new OpenImageError("no such file", path, true, { cause: error });
  }
  if (code === "ELOOP") {
    return new OpenImageError("changed to a symbolic link while it was opened", path, false, {
      cause: error,
    });
  }
  if (code === "EACCES" || error instanceof Deno.errors.PermissionDenied) {
    return new OpenImageError("permission denied", path, false, { cause: error });
  }
  return new OpenImageError(`cannot open: ${(error as Error).message}`, path, false, {
    cause: error,
  });
}
