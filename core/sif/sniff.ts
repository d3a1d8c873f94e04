/**
 * Telling a SIF image from other files by its first bytes, as Apptainer's image-format
 * detection does: the magic `SIF_MAGIC\0` at offset 32 of the global header.
 *
 * @module
 */

import { closeSync, openSync, readSync } from "node:fs";
import { MAGIC } from "./format.ts";

/** Where the magic sits in the global header. */
const MAGIC_OFFSET = 32;

/** How many leading bytes {@linkcode sniffSif} needs to see. */
export const SIF_SNIFF_LENGTH: number = MAGIC_OFFSET + MAGIC.length;

/** Whether a file's first bytes (at least {@linkcode SIF_SNIFF_LENGTH} of them) carry the magic. */
export function sniffSif(head: Uint8Array): boolean {
  if (head.length < SIF_SNIFF_LENGTH) return false;
  return MAGIC.every((byte, i) => head[MAGIC_OFFSET + i] === byte);
}

/** What the first bytes of a path say: a SIF image, another file, or nothing readable. */
export type SifSniff =
  /** A regular file whose first bytes carry the SIF magic. */
  | "sif"
  /** Not a regular file, or a regular file without the magic (too short counts). */
  | "not-sif"
  /** The path does not exist, or the file cannot be opened or read. */
  | "unreadable";

/**
 * Sniffs the file at a path. Only a regular file is opened (a FIFO or device would block or
 * have side effects), and only its first {@linkcode SIF_SNIFF_LENGTH} bytes are read.
 */
export function sniffSifFile(path: string): SifSniff {
  let fd: number | undefined;
  try {
    if (!Deno.statSync(path).isFile) return "not-sif";
    fd = openSync(path, "r");
    const head = new Uint8Array(SIF_SNIFF_LENGTH);
    let done = 0;
    while (done < head.length) {
      const n = readSync(fd, head, done, head.length - done, done);
      if (n === 0) break;
      done += n;
    }
    return sniffSif(head.subarray(0, done)) ? "sif" : "not-sif";
  } catch {
    return "unreadable";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Whether a path names a readable regular file that starts like a SIF image. */
export function isSifFile(path: string): boolean {
  return sniffSifFile(path) === "sif";
}
