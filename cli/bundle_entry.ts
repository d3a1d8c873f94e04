/**
 * The entry of a two-file bundle: this small file answers `check`'s fast path
 * (cli/fast_check.ts) and loads the program, bundled beside it as `siftrust-full.js` from
 * cli/main.ts, only when it must. A one-file bundle makes Deno parse the whole program and load
 * its Node layer before the first line runs (bench/RESULTS.md). Build it with
 *
 * ```sh
 * deno bundle --output dist/siftrust-full.js cli/main.ts
 * deno bundle --output dist/siftrust.js cli/bundle_entry.ts
 * ```
 *
 * @module
 */

import { printFastCheck, tryFastCheck } from "./fast_check.ts";

/** The program's bundle, beside this one (a computed specifier, so that it is not inlined). */
const PROGRAM = "./siftrust-full.js";

let failure: { error: unknown } | undefined;
const fastPathTried = Deno.args[0] === "check";
if (fastPathTried) {
  try {
    const answer = await tryFastCheck(Deno.args);
    if (answer !== undefined) Deno.exit(printFastCheck(answer));
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) Deno.exit(0); // e.g. `| head`, as cli/main.ts
    failure = { error };
  }
}
const { runMain } = await import(new URL(PROGRAM, import.meta.url).href);
await runMain(Deno.args, failure === undefined ? { fastPathTried } : { failure: failure.error });
