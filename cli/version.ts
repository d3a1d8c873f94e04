/**
 * The version line of `siftrust --version`, and when the arguments ask only for it. Small and
 * without dependencies, so that the bundle's entry (cli/bundle_entry.ts) answers `--version`
 * without loading the program.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

/** The siftrust version. */
export const VERSION: string = denoJson.version;

/** The openpgp.js version siftrust is built with (from the pinned import). */
const OPENPGP_VERSION = denoJson.imports.openpgp.replace(/^npm:openpgp@/, "");

/** What `siftrust --version` prints (without the newline). */
export const VERSION_LINE: string =
  `siftrust ${VERSION} (deno ${Deno.version.deno}, openpgp.js ${OPENPGP_VERSION})`;

/** Whether the arguments are only `-V`/`--version` flags (at least one). */
export function versionOnly(args: readonly string[]): boolean {
  return args.length > 0 && args.every((a) => a === "-V" || a === "--version");
}
