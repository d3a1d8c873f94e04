/**
 * The `siftrust` command tree.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import denoJson from "../deno.json" with { type: "json" };
import { registerCheck } from "./commands/check.ts";
import { registerCompletions } from "./commands/completions.ts";
import { registerDeffile } from "./commands/deffile.ts";
import { registerExec } from "./commands/exec.ts";
import { registerKey } from "./commands/key.ts";
import { registerKeyserver } from "./commands/keyserver.ts";
import { registerPolicy } from "./commands/policy.ts";
import { registerRemote } from "./commands/remote.ts";
import { registerSif } from "./commands/sif.ts";
import { registerSign } from "./commands/sign.ts";
import { registerVerify } from "./commands/verify.ts";
import { log } from "./output.ts";

/** The siftrust version. */
export const VERSION: string = denoJson.version;

/** Builds the command tree. Errors surface as exceptions (commander's `exitOverride`). */
export function buildProgram(): Command {
  const program = new Command("siftrust")
    .description(
      "Decide whether to trust Singularity/Apptainer (SIF) container images: inspect, sign and " +
        "verify them byte-compatibly with Apptainer.",
    )
    .version(`siftrust ${VERSION} (deno ${Deno.version.deno})`, "-V, --version")
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({
      outputError: (text) => {
        log("error", text.trim().replace(/^error: /, ""));
        log("info", "(add --help for usage)");
      },
    });
  registerCheck(program);
  registerDeffile(program);
  registerExec(program);
  registerKey(program);
  registerKeyserver(program);
  registerPolicy(program);
  registerRemote(program);
  registerSif(program);
  registerSign(program);
  registerVerify(program);
  registerCompletions(program);
  return program;
}
