/**
 * The images a check is given: paths, glob patterns (when quoted past the shell) and, when
 * recursive, folders (every `*.sif` file below them). Symlinks are followed, to files and to
 * folders (each folder once, so a loop ends). Nothing is skipped silently: a folder that
 * cannot be read, a pattern that matches nothing or is not valid, and a folder given without
 * `recursive` each come back as a problem beside the images found (docs/policy.md, "Checking
 * many images").
 *
 * @module
 */

import { compileGlob, GlobError, type PathPattern } from "./glob.ts";

/** Why the set of images may be short of what was asked. */
export type ImageSetProblem =
  /** A folder given without `recursive`. */
  | { kind: "folder-not-recursive"; path: string }
  /** A glob pattern that is not valid; `detail` is the pattern parser's word. */
  | { kind: "invalid-pattern"; pattern: string; detail: string }
  /** A glob pattern that matches no file. */
  | { kind: "no-match"; pattern: string }
  /** A folder (or a symlink below one) that could not be read; its images were not found. */
  | { kind: "unreadable"; path: string; detail: string };

/** The images found, in order and without duplicates, and what could not be searched. */
export interface ImageSet {
  /** The image paths to check. */
  images: string[];
  /** What could not be searched, or was given wrong. */
  problems: ImageSetProblem[];
}

/** The file system calls the search makes (tests inject failures). */
export interface ImageSetFs {
  /** `stat`, following symlinks. */
  stat(path: string): Promise<Deno.FileInfo>;
  /** The entries of a folder. */
  readDir(path: string): AsyncIterable<Deno.DirEntry>;
  /** The absolute path with every symlink resolved. */
  realPath(path: string): Promise<string>;
  /** The current folder. */
  cwd(): string;
}

const DENO_FS: ImageSetFs = {
  stat: (path) => Deno.stat(path),
  readDir: (path) => Deno.readDir(path),
  realPath: (path) => Deno.realPath(path),
  cwd: () => Deno.cwd(),
};

const GLOB = /[*?[]/;

/**
 * Expands image arguments, in order. A path that exists is taken as is (a missing one too: its
 * check reports it); a folder needs `recursive`; an argument that does not exist and holds
 * `*`, `?` or `[` is a glob pattern.
 */
export async function expandImageSet(
  args: string[],
  recursive: boolean,
  fs: ImageSetFs = DENO_FS,
): Promise<ImageSet> {
  const images: string[] = [];
  const problems: ImageSetProblem[] = [];
  for (const arg of args) {
    const info = await fs.stat(arg).catch(() => undefined);
    if (info?.isDirectory) {
      if (!recursive) problems.push({ kind: "folder-not-recursive", path: arg });
      else images.push(...await walk(fs, arg, (path) => path.endsWith(".sif"), problems));
    } else if (info === undefined && GLOB.test(arg)) {
      images.push(...await expandGlob(fs, arg, problems));
    } else {
      images.push(arg);
    }
  }
  return { images: [...new Set(images)], problems };
}

async function expandGlob(
  fs: ImageSetFs,
  pattern: string,
  problems: ImageSetProblem[],
): Promise<string[]> {
  const absolute = pattern.startsWith("/") ? pattern : `${fs.cwd()}/${pattern}`;
  let compiled: PathPattern;
  try {
    compiled = compileGlob(absolute);
  } catch (error) {
    if (!(error instanceof GlobError)) throw error;
    problems.push({ kind: "invalid-pattern", pattern, detail: error.message });
    return [];
  }
  const segments = absolute.split("/");
  const firstWild = segments.findIndex((s) => GLOB.test(s));
  const root = segments.slice(0, firstWild).join("/") || "/";
  // Without `**`, nothing deeper than the pattern can match: do not descend there.
  const depth = absolute.includes("**") ? Infinity : segments.length - 1;
  const matches = await walk(fs, root, (path) => compiled.test(path), problems, depth);
  if (matches.length === 0) problems.push({ kind: "no-match", pattern });
  const cwd = `${fs.cwd()}/`;
  return pattern.startsWith("/")
    ? matches
    : matches.map((m) => m.startsWith(cwd) ? m.slice(cwd.length) : m);
}

/**
 * Files below a folder whose path passes `keep`, sorted, following symlinks. A symlink that
 * leads nowhere is kept when its path passes (its check then reports it missing). Folders
 * whose paths have `maxDepth` segments or more are not read.
 */
async function walk(
  fs: ImageSetFs,
  dir: string,
  keep: (path: string) => boolean,
  problems: ImageSetProblem[],
  maxDepth = Infinity,
): Promise<string[]> {
  const found: string[] = [];
  const visited = new Set<string>();
  const unreadable = (path: string, error: unknown) =>
    problems.push({ kind: "unreadable", path, detail: (error as Error).message });
  const visit = async (folder: string) => {
    if (folder.split("/").filter((s) => s !== "").length >= maxDepth) return;
    try {
      const real = await fs.realPath(folder);
      if (visited.has(real)) return;
      visited.add(real);
    } catch (error) {
      return unreadable(folder, error);
    }
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(fs.readDir(folder));
    } catch (error) {
      return unreadable(folder, error);
    }
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = `${folder.replace(/\/$/, "")}/${entry.name}`;
      let isDirectory = entry.isDirectory;
      let isFile = entry.isFile;
      if (entry.isSymlink) {
        try {
          const target = await fs.stat(path);
          isDirectory = target.isDirectory;
          isFile = target.isFile;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) {
            unreadable(path, error);
            continue;
          }
          isFile = true; // dangling: checked, and reported missing, if it matches
        }
      }
      if (isDirectory) await visit(path);
      else if (isFile && keep(path)) found.push(path);
    }
  };
  await visit(dir);
  return found.sort();
}
