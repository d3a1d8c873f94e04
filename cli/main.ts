/**
 * The siftrust command-line entry point. Every failure ends in one line on stderr and a
 * documented exit code; an exception nobody expected ends in `internal error: …`, exit 70
 * (`SIFTRUST_DEBUG=1` adds the stack).
 *
 * @module
 */

import { CommanderError } from "@commander-js/extra-typings";
import { SifError } from "../core/sif/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { log } from "./output.ts";
import { buildProgram } from "./program.ts";

/** Runs siftrust with these arguments and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    await (await buildProgram(args)).parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (error) {
    return report(error);
  }
}

/** Prints an error and returns its exit code. */
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed the message already; help and --version are not errors. A group
    // called without a subcommand prints its help to stderr: say why.
    if (error.exitCode === 0) return ExitCode.Ok;
    if (error.code === "commander.help") log("error", "a subcommand is needed: see the list above");
    return ExitCode.Usage;
  }
  if (error instanceof CliError) {
    if (error.message !== "") log("error", error.message);
    return error.exitCode;
  }
  if (error instanceof SifError) {
    log("error", error.message);
    return error.kind === "unwritable" ? ExitCode.Failed : ExitCode.BadImage;
  }
  if (error instanceof Deno.errors.BrokenPipe) return ExitCode.Ok; // e.g. `| head`
  return internalError(error);
}

function internalError(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  log("error", `internal error: ${message} (please report this; SIFTRUST_DEBUG=1 shows details)`);
  if (Deno.env.get("SIFTRUST_DEBUG") === "1" && error instanceof Error) console.error(error.stack);
  return ExitCode.Internal;
}

if (import.meta.main) {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    Deno.exit(internalError(event.reason));
  });
  Deno.exit(await main(Deno.args));
}
