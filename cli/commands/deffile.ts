/**
 * `siftrust deffile check RECIPE.def`: would `apptainer build` accept the bootstrap image of
 * this definition file? The recipe is read by `core/deffile`, judged by `policy/deffile.ts`,
 * and the results are worded here.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { dirname, resolve } from "node:path";
import { DefinitionError, type DefinitionHeader, parseDefinition } from "../../core/deffile/mod.ts";
import { checkStage, imageMismatch, type StageResult } from "../../policy/deffile.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { verificationFinder } from "../keys.ts";
import { log } from "../output.ts";
import { hashingProgress } from "../progress.ts";
import { stageLines } from "../render/deffile_text.ts";

/** Adds `deffile` (check) to the program. */
export function registerDeffile(program: Command): void {
  const deffile = program.command("deffile")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust deffile check recipe.def\n  siftrust deffile check --image base.sif recipe.def",
    )
    .description("check definition files (recipes) as `apptainer build` would");

  deffile.command("check")
    .description(
      "check that the bootstrap image of a recipe verifies, and is signed by every " +
        "fingerprint of its Fingerprints: header",
    )
    .argument("<recipe>", "the definition file (.def)")
    .option(
      "--image <sif>",
      "the bootstrap image of a library, oras or shub recipe (downloaded beforehand)",
    )
    .option(
      "--keyring <file>",
      "also use this keyring file, armored or binary (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("-l, --local", "use only keyrings (global, yours, --keyring), never keyservers")
    .addHelpText(
      "after",
      "\nExit codes: 0 the build would accept the image (or verify only warns: no Fingerprints " +
        "header), 1 it would not, 2 the recipe cannot be read or --image is missing, 3 the " +
        "image is not a readable SIF, 4 a signer's key could not be found.\n\nExamples:\n" +
        "  siftrust deffile check app.def                 # Bootstrap: localimage\n" +
        "  siftrust deffile check --image base.sif app.def  # Bootstrap: library",
    )
    .action(async (recipe, options) => {
      const stages = await readRecipe(recipe);
      const mismatch = imageMismatch(stages, options.image !== undefined);
      if (mismatch?.kind === "several-downloads") {
        throw usageError(
          `${recipe} has ${mismatch.count} stages that download their image: --image can stand for one only`,
        );
      }
      if (mismatch?.kind === "no-download") {
        throw usageError(
          `${recipe} downloads no image (no library, oras or shub stage): ` +
            "its images are named by From:, drop --image",
        );
      }
      let finder: ReturnType<typeof verificationFinder> | undefined;
      const context = {
        folder: dirname(resolve(recipe)),
        image: options.image,
        keys: async () => {
          finder ??= verificationFinder(options.keyring, { local: options.local === true });
          return (await finder).keys;
        },
        progress: hashingProgress,
      };
      let code: number = ExitCode.Ok;
      for (const [i, stage] of stages.entries()) {
        const label = stages.length > 1 ? `stage ${i + 1}: ` : "";
        const result = await checkStage(stage, context);
        for (const [level, text] of stageLines(result)) log(level, `${label}${text}`);
        code = Math.max(code, stageExitCode(result));
      }
      if (code !== ExitCode.Ok) throw new CliError("", code);
    });
}

/** The exit code of one stage's result (the worst stage's ends the command). */
function stageExitCode(result: StageResult): number {
  switch (result.kind) {
    case "needs-from":
    case "needs-image":
      return ExitCode.Usage;
    case "bad-image":
      return ExitCode.BadImage;
    case "checked": {
      const { verdict } = result;
      if (verdict.kind === "not-signed-by") return ExitCode.Failed;
      if (verdict.kind !== "failed") return ExitCode.Ok;
      const missingKey = verdict.failure.kind === "key-unavailable" ||
        verdict.failure.kind === "no-key-material";
      return missingKey ? ExitCode.KeyUnavailable : ExitCode.Failed;
    }
    default:
      return ExitCode.Ok;
  }
}

/** Reads and parses a recipe; a recipe that cannot be read or parsed is a usage error. */
async function readRecipe(recipe: string): Promise<DefinitionHeader[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(recipe);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw usageError(`cannot read the definition file ${recipe}: ${reason}`);
  }
  let stages: DefinitionHeader[];
  try {
    stages = parseDefinition(text);
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    throw usageError(`${recipe}: failed to parse deffile header: ${error.message}`);
  }
  if (stages.length === 0) throw usageError(`${recipe}: empty definition file`);
  return stages;
}
