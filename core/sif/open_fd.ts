/**
 * Opening an image file's descriptor without races (see ./open_once.ts): resolve the path, open
 * it with `O_NOFOLLOW | O_NONBLOCK`, require a regular file by `fstat`, and name it by the
 * kernel's path of the descriptor.
 *
 * @module
 */

import { closeSync, constants, openSync, readlinkSync } from "node:fs";
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

/** A regular file open read-only: its descriptor, the kernel's path of it, and its `fstat`. */
export interface RegularFd {
  /** The read-only descriptor; the caller closes it. */
  readonly fd: number;
  /** The absolute path the kernel reports for the descriptor. */
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
    return { fd, realPath: kernelPath(fd) ?? resolved, info };
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
