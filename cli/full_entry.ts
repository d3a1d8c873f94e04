/**
 * The entry that contains the commands: the bundle's program (`dist/siftrust-full.js`, which
 * cli/bundle_entry.ts loads) and the compiled binary (`deno task compile`) are built from it, and
 * `deno bundle` and `deno compile` take in the commands (./program.ts) because it imports them by a
 * literal specifier. Run by itself (a one-file bundle of it), it runs the command line.
 *
 * @module
 */

import { type MainOptions, runMain as runWith } from "./run.ts";

/** The commands, bundled with this file. */
const bundled: Pick<MainOptions, "loadProgram"> = { loadProgram: () => import("./program.ts") };

/**
 * Runs siftrust (./run.ts) with the bundled commands, then exits with its code; `failure` is an
 * error the caller met before (it is reported).
 */
export function runMain(
  args: string[],
  options: Omit<MainOptions, "loadProgram"> & { failure?: unknown } = {},
): Promise<never> {
  return runWith(args, { ...options, ...bundled });
}

if (import.meta.main) await runMain(Deno.args);
