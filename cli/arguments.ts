/**
 * Argument parsing shared by the commands: object IDs and PEM key files.
 *
 * @module
 */

import { CliError, ExitCode, usageError } from "./exit.ts";

/** Parses a numeric ID argument: a whole number from 1 to 2^32 − 1. */
export function parseId(text: string, what: string): number {
  const id = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(id >= 1 && id <= 0xffffffff)) {
    throw usageError(
      `invalid ${what} "${text}": give a number from 1 up, as \`siftrust sif list\` shows`,
    );
  }
  return id;
}

/** Reads a PEM key file given on the command line. */
export async function readPemFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new CliError(`cannot read key file ${path}: ${reason}`, ExitCode.Usage);
  }
}
