/**
 * `core/deffile`: Apptainer definition files (build recipes) — the stage headers, as
 * Apptainer's parser reads them.
 *
 * @module
 */

export { DefinitionError, type DefinitionHeader, parseDefinition } from "./parse.ts";
