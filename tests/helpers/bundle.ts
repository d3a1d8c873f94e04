/**
 * The shipped bundle, built by the commands of deno.json's `bundle` task into a folder of a
 * test's own (`deno bundle` truncates its output before writing it, and other tests may be
 * running `dist/siftrust.js` at that moment).
 *
 * @module
 */

import { REPO_ROOT } from "./peers.ts";

/** The files the `bundle` task writes: the entry (the fast path) and the program. */
export const BUNDLE_FILES = { entry: "siftrust.js", program: "siftrust-full.js" } as const;

/**
 * The `deno` arguments of each command of the `bundle` task, in order, with `dist/` replaced by
 * `dir` (relative source paths are the repository's: run them there).
 */
export async function bundleCommands(dir: string): Promise<string[][]> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const task: string = config.tasks.bundle;
  return task.split("&&").map((command) => {
    const [program, ...args] = command.trim().split(/\s+/);
    if (program !== "deno") throw new Error(`the bundle task runs ${program}: ${task}`);
    return args.map((word) => word.startsWith("dist/") ? `${dir}/${word.slice(5)}` : word);
  });
}

/** Builds the bundle into `dir` (made if missing) and returns the entry's path. */
export async function buildBundle(dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const args of await bundleCommands(dir)) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`deno ${args.join(" ")}: ${new TextDecoder().decode(stderr).trim()}`);
    }
  }
  return `${dir}/${BUNDLE_FILES.entry}`;
}
