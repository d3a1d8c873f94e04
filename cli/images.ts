/**
 * The images a command is given (see policy/image_set.ts), with the command line's words and
 * exit codes for what could not be searched: a folder without `--recursive` and an invalid
 * pattern are usage errors (exit 2); a pattern that matches nothing and a folder that cannot
 * be read are reported, the other images are checked, and the exit code is at least 3, as for
 * an image that cannot be read.
 *
 * @module
 */

import { expandImageSet, type ImageSetProblem } from "../policy/image_set.ts";
import { ExitCode, usageError } from "./exit.ts";
import { displayText } from "./output.ts";

/** The images to check, and the problems to report (each with its exit code). */
export interface ExpandedImages {
  images: string[];
  /** One error line per problem. */
  problems: string[];
  /** The exit code the problems call for (0 when none). */
  exitCode: number;
}

/** A problem in words (one line; the path escaped). */
export function imageSetProblemText(problem: ImageSetProblem): string {
  switch (problem.kind) {
    case "folder-not-recursive":
      return `${
        displayText(problem.path)
      } is a folder: add --recursive to check the SIF images in it`;
    case "invalid-pattern":
      return `invalid glob pattern ${displayText(problem.pattern)}: ${displayText(problem.detail)}`;
    case "no-match":
      return `no file matches ${displayText(problem.pattern)}: nothing was checked for it`;
    case "unreadable":
      return `cannot read ${displayText(problem.path)} (${
        displayText(problem.detail)
      }): the images in it were not checked`;
  }
}

/**
 * Expands the command-line image arguments.
 *
 * @throws CliError (exit 2) for a folder without `recursive` or an invalid pattern
 */
export async function expandImages(args: string[], recursive: boolean): Promise<ExpandedImages> {
  const { images, problems } = await expandImageSet(args, recursive);
  const usage = problems.find((p) =>
    p.kind === "folder-not-recursive" || p.kind === "invalid-pattern"
  );
  if (usage !== undefined) throw usageError(imageSetProblemText(usage));
  return {
    images,
    problems: problems.map(imageSetProblemText),
    exitCode: problems.length > 0 ? ExitCode.BadImage : ExitCode.Ok,
  };
}
