/**
 * No known bad input reaches the CLI's internal-error guard (exit 70, `internal error: …`):
 * every case of tests/helpers/bad_images.ts goes through `sif list`, `sif header` and
 * `sif info 1`, and each run must end with a documented exit code and no stack trace.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliResult, runCliWithin } from "../helpers/cli.ts";
import { BAD_CASES, writeCases } from "../helpers/bad_images.ts";
import { tempDir } from "../helpers/env.ts";

const COMMANDS = [["sif", "list"], ["sif", "header"], ["sif", "info", "1"]];

/** `runCliWithin`, with a timeout as a failure message. */
async function runWithin(args: string[], fifo: string | undefined): Promise<CliResult | string> {
  return await runCliWithin(args, fifo) ?? "did not finish within 20 s";
}

Deno.test("no bad image makes sif list|header|info exit 70 or print `internal error`", async () => {
  await using temp = await tempDir("siftrust-no-internal-");
  const dir = temp.dir;
  const paths = await writeCases(dir);
  const runs = BAD_CASES.flatMap((c) =>
    COMMANDS.map((command) => ({ c, args: [...command, paths.get(c.name)!] }))
  );
  const problems: string[] = [];
  let next = 0;
  // Four runs at a time: enough to keep 2 cores busy while processes start.
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < runs.length) {
      const { c, args } = runs[next++];
      const fifo = c.name === "fifo" ? args.at(-1) : undefined;
      const result = await runWithin(args, fifo);
      const what = `${c.name}: siftrust ${args.join(" ")}`;
      if (typeof result === "string") {
        problems.push(`${what}: ${result}`);
        continue;
      }
      const expected = c.error !== undefined ? [3] : args[1] === "info"
        ? [0, 2] // an image without object 1 is a usage error
        : [0];
      const stderr = result.stderr.trimEnd();
      if (
        result.code === 70 || /internal error/i.test(result.stderr) ||
        /^\s+at /m.test(result.stderr) || !expected.includes(result.code) ||
        (result.code !== 0 && (stderr === "" || stderr.includes("\n")))
      ) {
        problems.push(`${what}: exit ${result.code}, stderr ${JSON.stringify(result.stderr)}`);
      }
    }
  }));
  assert.equal(runs.length, BAD_CASES.length * COMMANDS.length);
  assert.deepEqual(problems, []);
});
