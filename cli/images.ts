/**
 * The images a command is given: paths, glob patterns (when quoted past the shell) and,
 * with `--recursive`, folders (every `*.sif` file below them).
 *
 * @module
 */

import { compileGlob, GlobError, type PathPattern } from "../policy/mod.ts";
import { usageError } from "./exit.ts";

const GLOB = /[*?[]/;

/** Expands the command-line image arguments, in order, without duplicates. */
export async function expandImages(args: string[], recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    const info = await Deno.stat(arg).catch(() => undefined);
    if (info?.isDirectory) {
      if (!recursive) {
        throw usageError(`${arg} is a folder: add --recursive to check the SIF images in it`);
      }
      out.push(...await walk(arg, (path) => path.endsWith(".sif")));
    } else if (info === undefined && GLOB.test(arg)) {
      const matches = await expandGlob(arg);
      if (matches.length === 0) throw usageError(`no file matches ${arg}`);
      out.push(...matches);
    } else {
      out.push(arg); // a missing file is reported as that image's error
    }
  }
  return [...new Set(out)];
}

async function expandGlob(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/") ? pattern : `${Deno.cwd()}/${pattern}`;
  const segments = absolute.split("/");
  const firstWild = segments.findIndex((s) => GLOB.test(s));
  const root = segments.slice(0, firstWild).join("/") || "/";
  let compiled: PathPattern;
  try {
    compiled = compileGlob(absolute);
  } catch (error) {
    if (!(error instanceof GlobError)) throw error;
    throw usageError(`invalid pattern ${pattern}: ${error.message}`);
  }
  const matches = await walk(root, (path) => compiled.test(path));
  const cwd = `${Deno.cwd()}/`;
  return pattern.startsWith("/")
    ? matches
    : matches.map((m) => m.startsWith(cwd) ? m.slice(cwd.length) : m);
}

/** Regular files below a folder whose path passes `keep`, sorted. */
async function walk(dir: string, keep: (path: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const visit = async (folder: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(folder));
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = `${folder.replace(/\/$/, "")}/${entry.name}`;
      if (entry.isDirectory) await visit(path);
      else if (entry.isFile && keep(path)) found.push(path);
    }
  };
  await visit(dir);
  return found.sort();
}
