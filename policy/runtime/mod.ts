/**
 * `policy/runtime`: which container a runtime command line (`apptainer exec …`,
 * `singularity run …`, `apptainer instance start …`) starts, read as the runtime reads it,
 * with each flag's arity from the runtimes' own command definitions; and what a container
 * argument names.
 *
 * @module
 */

export * from "./argv.ts";
export * from "./container.ts";
export * from "./flags.ts";
