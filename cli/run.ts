/**
 * Runs siftrust's command line: {@linkcode main}. Every failure ends in one line on stderr and a
 * documented exit code; an exception nobody expected ends in `internal error: …`, exit 70
 * (`SIFTRUST_DEBUG=1` adds the stack). A `check` whose decisions are all cached is answered
 * by the fast path (cli/fast_check.ts) before commander and the commands are loaded.
 *
 * The commands (./program.ts) are loaded by the entry's {@linkcode ProgramLoader}: ./main.ts
 * (the sources) and ./full_entry.ts (the bundle's program and the compiled binary) load them
 * differently, and this module runs nothing by itself.
 *
 * @module
 */

import type { StartedHashWorker } from "../core/integrity/hash_worker.ts";
import type { HashingAhead } from "./image_ahead.ts";
import { SifError } from "../core/sif/errors.ts";
import { CliError, ExitCode } from "./exit.ts";
import { log } from "./output.ts";
import { hashingPlan } from "./hashing_plan.ts";

/** Loads the commands (./program.ts). */
export type ProgramLoader = () => Promise<typeof import("./program.ts")>;

/** How {@linkcode main} is called. */
export interface MainOptions {
  /** How the entry loads the commands. */
  loadProgram: ProgramLoader;
  /** The caller has tried `check`'s fast path already (cli/bundle_entry.ts): do not again. */
  fastPathTried?: boolean;
  /** Hashing workers the caller started (cli/worker_ahead.ts), for the process's pool. */
  hashWorkers?: StartedHashWorker[];
  /** The images the caller hashes already, and its pool (cli/image_ahead.ts). */
  hashingAhead?: HashingAhead;
}

/** Runs siftrust with these arguments and returns the exit code. */
export async function main(args: string[], options: MainOptions): Promise<number> {
  const checking = args[0] === "check";
  let checkAhead: typeof import("./check_ahead.ts") | undefined;
  let imageAhead: typeof import("./image_ahead.ts") | undefined;
  try {
    if (checking && !options.fastPathTried) {
      const fast = await import("./fast_check.ts");
      const answer = await fast.tryFastCheck(args);
      if (answer !== undefined) return fast.printFastCheck(answer);
    }
    const ahead = await hashAhead(args, options);
    // The first images' hashing runs while the commands, the policy and its keys load.
    if (checking) {
      checkAhead = await import("./check_ahead.ts");
      await checkAhead.startCheckAhead(args, ahead?.images);
    } else if (ahead !== undefined && ahead.images.length > 0) {
      imageAhead = await import("./image_ahead.ts");
      imageAhead.keepImageAhead(ahead.images[0]);
    }
    const [{ buildProgram }, { CommanderError }] = await Promise.all([
      options.loadProgram(),
      import("@commander-js/extra-typings"),
    ]);
    try {
      await (await buildProgram(args)).parseAsync(args, { from: "user" });
      return ExitCode.Ok;
    } catch (error) {
      if (error instanceof CommanderError) return commanderExit(error);
      throw error;
    }
  } catch (error) {
    return report(error);
  } finally {
    checkAhead?.dropCheckAhead();
    imageAhead?.dropImageAhead();
  }
}

/**
 * Gives the process's hashing pool the workers the caller started (cli/bundle_entry.ts), and
 * those hashing ahead as they finish; run from the sources, starts them and their hashing
 * first (cli/worker_ahead.ts, cli/image_ahead.ts), so that they load and hash while the
 * program loads. Gives what is being hashed ahead.
 */
async function hashAhead(args: string[], options: MainOptions): Promise<HashingAhead | undefined> {
  let { hashWorkers: workers, hashingAhead: ahead } = options;
  if (workers === undefined && hashingPlan(args) !== undefined) {
    const [{ hashWorkersAhead }, { startHashingAhead }] = await Promise.all([
      import("./worker_ahead.ts"),
      import("./image_ahead.ts"),
    ]);
    ({ ahead, workers } = await startHashingAhead(args, hashWorkersAhead(args)));
  }
  if ((workers === undefined || workers.length === 0) && ahead === undefined) return undefined;
  const { sharedHashPool } = await import("../core/integrity/hash_pool.ts");
  for (const worker of workers ?? []) sharedHashPool().adopt(worker);
  ahead?.pool.handOver((worker) => sharedHashPool().adopt(worker));
  return ahead;
}

/** The exit code of commander's own errors (help and --version are not errors). */
function commanderExit(error: { exitCode: number; code: string }): number {
  // Commander has printed the message already. A group called without a subcommand prints
  // its help to stderr: say why.
  if (error.exitCode === 0) return ExitCode.Ok;
  if (error.code === "commander.help") log("error", "a subcommand is needed: see the list above");
  return ExitCode.Usage;
}

/** Prints an error and returns its exit code. */
function report(error: unknown): number {
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

/**
 * Runs siftrust as a program: {@linkcode main}, then exits with its code; an unhandled
 * rejection is an internal error. `failure` is an error a caller met before (it is reported).
 */
export async function runMain(
  args: string[],
  options: MainOptions & { failure?: unknown },
): Promise<never> {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    Deno.exit(internalError(event.reason));
  });
  if ("failure" in options) Deno.exit(report(options.failure));
  Deno.exit(await main(args, options));
}
