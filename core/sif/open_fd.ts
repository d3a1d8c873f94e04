/**
 * Opening an image file's descriptor without races (see ./open_once.ts): resolve the path, open
 * it with `O_NOFOLLOW | O_NONBLOCK`, require a regular file by `fstat`, and require that the
 * resolved path still names that file (same device and inode by `lstat`) once it is open.
 *
 * @module
 */

import { closeSync, constants, openSync } from "node:fs";
import { SifError } from "./errors.ts";
import { descriptorInfo } from "./handle.ts";

/** Why {@linkcode openRegularFd} refused: the path is missing, or cannot be used. */
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

/** A regular file open read-only: its descriptor, its resolved path, and its `fstat`. */
export interface RegularFd {
  /** The read-only descriptor; the caller closes it. */
  readonly fd: number;
  /** The absolute path, symlinks resolved, that still named the file once it was open. */
  readonly realPath: string;
  /** `fstat` of the descriptor, taken right after opening. */
  readonly info: Deno.FileInfo;
}

/**
 * Opens `path` read-only once (see the module). Throws {@linkcode OpenImageError} when the path
 * does not exist, cannot be opened, or is not a regular file, without ever blocking.
 */
export function openRegularFd(path: string): RegularFd {
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
    throw openError(path, error, true);
  }
  try {
    const info = descriptorInfo(fd);
    if (info.isDirectory) {
      throw new OpenImageError("is a directory, not a SIF image", path, false);
    }
    if (!info.isFile) {
      throw new OpenImageError(`is not a regular file (${fileType(info)})`, path, false);
    }
    if (!namesFile(resolved, info)) {
      // A folder on the way or the file itself was swapped between resolving and opening.
      throw new OpenImageError("changed while it was opened", path, false);
    }
    return { fd, realPath: resolved, info };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Whether `path` names the file `info` describes (device and inode by `lstat`), now that it is
 * open: then the path and the bytes belong together, as the kernel's own path of the
 * descriptor would say (`/proc/self/fd/N`, which Deno lets only `--allow-all` read).
 */
function namesFile(path: string, info: Deno.FileInfo): boolean {
  try {
    const now = Deno.lstatSync(path);
    return now.dev === info.dev && now.ino === info.ino;
  } catch {
    return false;
  }
}

function fileType(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a file";
}

/** The error of resolving (`opening` false) or opening `path`. */
function openError(path: string, error: unknown, opening = false): OpenImageError {
  const code = (error as { code?: string }).code;
  if (error instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new OpenImageError("no such file", path, true, { cause: error });
  }
  if (opening && code === "ELOOP") {
    // The path was resolved to a file, and is a symbolic link when opened: it was swapped.
    return new OpenImageError("changed to a symbolic link while it was opened", path, false, {
      cause: error,
    });
  }
  if (code === "EACCES" || error instanceof Deno.errors.PermissionDenied) {
    return new OpenImageError("permission denied", path, false, { cause: error });
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new OpenImageError("siftrust was not given permission to read it", path, false, {
      cause: error,
    });
  }
  return new OpenImageError(`cannot read: ${(error as Error).message}`, path, false, {
    cause: error,
  });
}
