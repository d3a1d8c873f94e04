/**
 * `policy/runtime`: which container a runtime command line (`apptainer exec …`,
 * `singularity run …`, `apptainer instance start …`) starts, read as the runtime reads it,
 * with each flag's arity from the runtimes' own command definitions; and what a container
 * argument names.
 *
 * @module
 */

export {
  type ParsedFlag,
  parseRuntimeArgv,
  type RuntimeArgvResult,
  type RuntimeCommand,
  type RuntimeName,
  runtimeOf,
  type RuntimeRefusal,
  type RuntimeRefusalKind,
} from "./argv.ts";
export { classifyContainerArg, type ContainerArg } from "./container.ts";
export {
  APPTAINER_FLAGS,
  CONTAINER_COMMANDS,
  type ContainerCommand,
  type FlagSpec,
  type RuntimeFlagTable,
  SINGULARITYCE_FLAGS,
} from "./flags.ts";
