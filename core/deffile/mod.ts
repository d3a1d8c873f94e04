/**
 * `core/deffile`: Apptainer definition files (build recipes) — the stage headers, as
 * Apptainer's parser reads them.
 *
 * @module
 */

export * from "./parse.ts";
