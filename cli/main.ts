/**
 * The siftrust command line, run from the sources (`deno task siftrust`, `deno run … cli/main.ts`):
 * ./run.ts, with the commands (./program.ts) loaded by a computed specifier. Deno resolves every
 * module a literal `import("…")` names when the program starts, before its first line runs: for
 * the commands that is the whole program and its npm packages, about 15 ms, which `check`'s
 * cached fast path and `--version` would pay for nothing. The bundle and the compiled binary,
 * which must contain the commands, start from ./full_entry.ts instead.
 *
 * @example Running siftrust in-process
 * ```ts ignore
 * import { main } from "./main.ts";
 *
 * const code = await main(["sif", "list", "examples/example.sif"]);
 * ```
 *
 * @module
 */

import { main as runArgs, type MainOptions, runMain } from "./run.ts";

/** The commands, loaded from beside this file when first needed. */
const fromSources: Pick<MainOptions, "loadProgram"> = {
  loadProgram: () => import(new URL("./program.ts", import.meta.url).href),
};

/** Runs siftrust with these arguments (the commands from the sources) and returns the exit code. */
export function main(
  args: string[],
  options: Omit<MainOptions, "loadProgram"> = {},
): Promise<number> {
  return runArgs(args, { ...options, ...fromSources });
}

if (import.meta.main) await runMain(Deno.args, fromSources);
