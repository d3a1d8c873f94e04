/**
 * Where the shipped bundle's entry (cli/bundle_entry.ts, `dist/siftrust.js`) finds the program
 * (`siftrust-full.js`), and whether it may load it. The program lies in the entry's real folder:
 * a symbolic link to the entry (say `/usr/local/bin/siftrust`) is followed first. It must be as
 * protected as the entry: a regular file (no link), with the entry's owner, that nobody can write
 * who cannot write the entry (no group or other write permission that the entry lacks, and group
 * write only for the entry's group). Whoever could change the program could then change the entry
 * as well. This module uses no Node layer: the entry loads it before the fast path answers.
 *
 * @module
 */

/** The program's file name, in the entry's folder. */
export const PROGRAM_FILE = "siftrust-full.js";

/** Why the program may not be loaded. */
export type ProgramProblemKind =
  /** There is no such file. */
  | "missing"
  /** It is a symbolic link, a folder or another kind of file. */
  | "not-a-file"
  /** Its owner is not the entry's. */
  | "owner"
  /** Someone who cannot write the entry can write it. */
  | "writable"
  /** Deno's permissions forbid reading it or the entry (a narrower `--allow-read`). */
  | "not-permitted"
  /** It or the entry cannot be examined. */
  | "unreadable";

/** The program that the entry may not load, and why. */
export interface ProgramProblem {
  /** Why. */
  kind: ProgramProblemKind;
  /** The program's path. */
  program: string;
  /** The entry's real path. */
  entry: string;
}

/** Where the program is: its `file:` URL, or why it may not be loaded. */
export type ProgramLocation = { url: string } | { problem: ProgramProblem };

/** Group and other write permission. */
const WRITE_BY_OTHERS = 0o022;
const GROUP_WRITE = 0o020;
const OTHER_WRITE = 0o002;

/**
 * Why the program (its `lstat`) is less protected than the entry (its `stat`), or undefined when
 * it is not.
 */
export function programFileProblem(
  entry: Deno.FileInfo,
  program: Deno.FileInfo,
): "not-a-file" | "owner" | "writable" | undefined {
  if (!program.isFile) return "not-a-file";
  if (program.uid !== entry.uid) return "owner";
  const entryWriters = (entry.mode ?? 0) & WRITE_BY_OTHERS;
  const programWriters = (program.mode ?? 0o777) & WRITE_BY_OTHERS;
  if ((programWriters & ~entryWriters) !== 0) return "writable";
  // Its group can write it: the entry's group too, unless anyone can write the entry.
  const otherGroup = program.gid !== entry.gid && (entryWriters & OTHER_WRITE) === 0;
  if ((programWriters & GROUP_WRITE) !== 0 && otherGroup) return "writable";
  return undefined;
}

/** Why a file could not be examined. */
function unreadable(error: unknown): "not-permitted" | "unreadable" {
  return error instanceof Deno.errors.NotCapable ? "not-permitted" : "unreadable";
}

/**
 * The program beside the entry whose module URL is `entryUrl`. An entry that is not a local
 * file (no folder to examine) gets the program beside its URL, unexamined.
 */
export async function locateProgram(entryUrl: string): Promise<ProgramLocation> {
  if (!entryUrl.startsWith("file:")) return { url: new URL(PROGRAM_FILE, entryUrl).href };
  let entry = decodeURIComponent(new URL(entryUrl).pathname);
  let program = `${entry.slice(0, entry.lastIndexOf("/"))}/${PROGRAM_FILE}`;
  let entryInfo: Deno.FileInfo;
  try {
    entry = await Deno.realPath(entry);
    program = `${entry.slice(0, entry.lastIndexOf("/"))}/${PROGRAM_FILE}`;
    entryInfo = await Deno.stat(entry);
  } catch (error) {
    return { problem: { kind: unreadable(error), program, entry } };
  }
  let programInfo: Deno.FileInfo;
  try {
    programInfo = await Deno.lstat(program);
  } catch (error) {
    const kind = error instanceof Deno.errors.NotFound ? "missing" : unreadable(error);
    return { problem: { kind, program, entry } };
  }
  const kind = programFileProblem(entryInfo, programInfo);
  if (kind !== undefined) return { problem: { kind, program, entry } };
  return { url: `file://${program.split("/").map(encodeURIComponent).join("/")}` };
}

/** The one line that says why the program may not be loaded, and what to do. */
export function programProblemMessage(problem: ProgramProblem): string {
  const { program, entry } = problem;
  const fix = `install it beside ${entry} with the same owner and mode (docs/install.md)`;
  switch (problem.kind) {
    case "missing":
      return `the program ${program} is missing: ${fix}`;
    case "not-a-file":
      return `the program ${program} is not a regular file: ${fix}`;
    case "owner":
      return `the program ${program} has another owner than ${entry}: ${fix}`;
    case "writable":
      return `the program ${program} can be written by users who cannot write ${entry}: ${fix}`;
    case "not-permitted": {
      const folder = program.slice(0, program.lastIndexOf("/")) || "/";
      return `siftrust needs to read ${folder}, where its program lies: allow it (--allow-read)`;
    }
    case "unreadable":
      return `cannot examine the program ${program} beside ${entry}`;
  }
}
