/**
 * Keyserver configuration problems as Apptainer words them, with the command to run about
 * them: core says what is wrong (core/config), this says what to do.
 *
 * @module
 */

import { RemoteSelectionError, ResolutionError } from "../../core/config/mod.ts";

const USE_REMOTE = "use 'siftrust remote use <endpoint>'";

/**
 * The line for a keyserver configuration that cannot be used, e.g. `no default endpoint set:
 * use 'siftrust remote use <endpoint>', available endpoints are: a, b`.
 */
export function configProblemText(error: ResolutionError | RemoteSelectionError): string {
  const selection = error instanceof RemoteSelectionError
    ? error
    : error.cause instanceof RemoteSelectionError
    ? error.cause
    : undefined;
  if (selection?.kind === "no-default-remote") {
    return `no default endpoint set: ${USE_REMOTE}, available endpoints are: ${
      selection.endpoints.join(", ")
    }`;
  }
  if (selection?.kind === "unknown-remote") {
    return `the default remote ${selection.remote} is not defined: ${USE_REMOTE}`;
  }
  if (error instanceof ResolutionError && error.kind === "no-keyserver") {
    return `${error.message}: add one with \`siftrust keyserver add URL\`, or name one with --url URL`;
  }
  return error.message;
}
