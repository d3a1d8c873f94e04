/**
 * The entry of the shipped bundle (`deno task bundle`): this small file, `dist/siftrust.js`,
 * answers `--version` and `check`'s fast path (cli/fast_check.ts) and loads the program, bundled from
 * cli/full_entry.ts as `siftrust-full.js` in the same folder, only when it must
 * (cli/bundle_program.ts finds it and checks that it is as protected as this file). A one-file
 * bundle would make Deno compile the whole program and load its Node layer before the first line
 * runs (bench/RESULTS.md). The task runs
 *
 * ```sh
 * deno bundle --output dist/siftrust-full.js cli/full_entry.ts
 * deno bundle --output dist/siftrust.js cli/bundle_entry.ts
 * ```
 *
 * @module
 */

import { locateProgram, programProblemMessage } from "./bundle_program.ts";
import { ExitCode } from "./exit.ts";
import { printFastCheck, tryFastCheck } from "./fast_check.ts";
import { log } from "./output.ts";
import { VERSION_LINE, versionOnly } from "./version.ts";
import { startHashingAhead } from "./image_ahead.ts";
import { hashWorkersAhead } from "./worker_ahead.ts";

// `--version` needs nothing of the program: its line is printed as the program prints it.
if (versionOnly(Deno.args)) {
  console.log(VERSION_LINE);
  Deno.exit(ExitCode.Ok);
}
let failure: { error: unknown } | undefined;
const fastPathTried = Deno.args[0] === "check";
if (fastPathTried) {
  try {
    const answer = await tryFastCheck(Deno.args);
    if (answer !== undefined) Deno.exit(printFastCheck(answer));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(0); // e.g. `| head`, as cli/run.ts
    failure = { error };
  }
}
// The hashing workers of a command that will hash a large image start while the program loads,
// and hash the first images meanwhile (cli/image_ahead.ts).
const { ahead: hashingAhead, workers: hashWorkers } = failure === undefined
  ? await startHashingAhead(Deno.args, hashWorkersAhead(Deno.args))
  : { workers: [] };
const program = await locateProgram(import.meta.url);
if ("problem" in program) {
  log("error", programProblemMessage(program.problem));
  Deno.exit(ExitCode.Usage);
}
const runMain = await loadProgram(program.url);
await runMain(
  Deno.args,
  failure === undefined ? { fastPathTried, hashWorkers, hashingAhead } : { failure: failure.error },
);

/** The program's `runMain`; a program that cannot be loaded ends the run (exit 70). */
async function loadProgram(url: string): Promise<typeof import("./full_entry.ts").runMain> {
  let problem: string;
  try {
    // A computed specifier, so that `deno bundle` leaves the program out of this file.
    const { runMain } = await import(url);
    if (typeof runMain === "function") return runMain;
    problem = "it has no runMain (a program of another build?)";
  } catch (error) {
    problem = error instanceof Error ? error.message.split("\n")[0] : String(error);
  }
  log("error", `internal error: cannot load the program ${url}: ${problem}`);
  Deno.exit(ExitCode.Internal);
}
