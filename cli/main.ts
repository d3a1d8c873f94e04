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

import { CliError, ExitCode } from "./exit.ts";
import { main as runArgs, type MainOptions, runMain } from "./run.ts";

/**
 * The commands, loaded from beside this file when first needed. Deno reads a module loaded so
 * under `--allow-read`: one that does not cover the sources fails here, in one line (exit 2).
 */
const fromSources: Pick<MainOptions, "loadProgram"> = {
  loadProgram: async () => {
    const program = new URL("./program.ts", import.meta.url);
    try {
      return await import(program.href);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw error;
      const sources = new URL("..", program).pathname;
      throw new CliError(
        `cannot load siftrust's commands from ${sources}: run from the sources, Deno's --allow-read must include them`,
        ExitCode.Usage,
      );
    }
  },
};

/** Runs siftrust with these arguments (the commands from the sources) and returns the exit code. */
export function main(
  args: string[],
  options: Omit<MainOptions, "loadProgram"> = {},
): Promise<number> {
  return runArgs(args, { ...options, ...fromSources });
}

if (import.meta.main) await runMain(Deno.args, fromSources);
