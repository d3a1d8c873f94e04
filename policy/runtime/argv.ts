/**
 * Finds the container that an Apptainer or SingularityCE command line starts, the way the
 * runtime parses it: cobra walks the flags before the subcommand (`Command.Traverse`), then
 * pflag parses the subcommand's flags up to the first argument that is not a flag (flags are
 * not interspersed) or `--`; that argument is the image. Every flag's arity comes from
 * ./flags.ts. Anything siftrust cannot place with certainty is refused.
 *
 * @module
 */

import { classifyContainerArg } from "./container.ts";
import { type FlagSet, flagSetOf, unionFlagSet } from "./flag_set.ts";
import {
  APPTAINER_FLAGS,
  type ContainerCommand,
  type FlagSpec,
  SINGULARITYCE_FLAGS,
} from "./flags.ts";

/** The runtime a command line names, by the file name of its first word. */
export type RuntimeName = "apptainer" | "singularity";

/** Why a command line is refused. */
export type RuntimeRefusalKind =
  /** The first word is not `apptainer` or `singularity` (by file name). */
  | "not-a-runtime"
  /** No subcommand, or one that does not start a container from an image. */
  | "unknown-subcommand"
  /** A flag the runtime does not define for this command. */
  | "unknown-flag"
  /** A flag the runtime accepts but siftrust refuses (see the detail). */
  | "refused-flag"
  /** A flag that takes a value ends the command line. */
  | "missing-value"
  /** A boolean flag with a value that is not a boolean (`--contain=maybe`). */
  | "invalid-value"
  /** The command line has no container argument. */
  | "missing-container"
  /** The command lacks an argument it needs after the image (`exec` a command, `instance` a name). */
  | "missing-argument"
  /** The container argument is a URI or an instance, not a local file. */
  | "unsupported-source"
  /** The runtime's reading of the command line is not certain (see the detail). */
  | "ambiguous";

/** A flag as parsed: its long name, its value (`true` for a bare boolean), its argv index. */
export interface ParsedFlag {
  /** The flag's long name, without `--`. */
  readonly name: string;
  /** Its value as given (`"true"` for a boolean given without one). */
  readonly value: string;
  /** The index in argv of the word that holds the flag. */
  readonly index: number;
}

/** A command line that starts the container at `argv[containerIndex]`. */
export interface RuntimeCommand {
  /** Found. */
  readonly ok: true;
  /** The runtime named by `argv[0]`. */
  readonly runtime: RuntimeName;
  /** The subcommand. */
  readonly subcommand: ContainerCommand;
  /** The index in argv of the container argument. */
  readonly containerIndex: number;
  /** The container argument: a local path (relative to the working folder unless absolute). */
  readonly container: string;
  /** The flags before the subcommand. */
  readonly globalFlags: readonly ParsedFlag[];
  /** The subcommand's flags, before the container argument. */
  readonly flags: readonly ParsedFlag[];
}

/** A command line that siftrust refuses to run. */
export interface RuntimeRefusal {
  /** Refused. */
  readonly ok: false;
  /** Why. */
  readonly kind: RuntimeRefusalKind;
  /** One line for the user, naming the word at fault. */
  readonly detail: string;
  /** The index in argv of the word at fault, if one is. */
  readonly index?: number;
}

/** The outcome of {@linkcode parseRuntimeArgv}. */
export type RuntimeArgvResult = RuntimeCommand | RuntimeRefusal;

/** The runtime a program path names (`/usr/bin/apptainer` → apptainer), if any. */
export function runtimeOf(program: string): RuntimeName | undefined {
  const name = program.slice(program.lastIndexOf("/") + 1);
  return name === "apptainer" || name === "singularity" ? name : undefined;
}

/**
 * Finds the container that `argv` (the runtime's whole command line, program first) starts.
 * A binary named `singularity` may be SingularityCE or Apptainer's compatibility link: its
 * flags are the union of both, and a flag whose arity differs between them is refused.
 */
export function parseRuntimeArgv(argv: readonly string[]): RuntimeArgvResult {
  const runtime = argv.length === 0 ? undefined : runtimeOf(argv[0]);
  if (runtime === undefined) {
    return refusal(
      "not-a-runtime",
      `${argv[0] ?? "(nothing)"} is not apptainer or singularity`,
      0,
    );
  }
  const root = flagSetFor(runtime, (table) => table.root);
  const global = parseRootFlags(argv, root);
  if (!global.ok) return global;
  const found = findSubcommand(argv, global.subcommandIndex);
  if (!found.ok) return found;
  const flags = flagSetFor(runtime, (table) => table.commands[found.subcommand]);
  const local = parseCommandFlags(argv, found.flagsStart, flags);
  if (!local.ok) return local;
  return placeContainer(argv, runtime, found.subcommand, global.flags, local);
}

type Table = typeof APPTAINER_FLAGS;

function flagSetFor(runtime: RuntimeName, pick: (table: Table) => readonly FlagSpec[]): FlagSet {
  return runtime === "apptainer"
    ? flagSetOf(pick(APPTAINER_FLAGS))
    : unionFlagSet(pick(APPTAINER_FLAGS), pick(SINGULARITYCE_FLAGS));
}

function refusal(kind: RuntimeRefusalKind, detail: string, index?: number): RuntimeRefusal {
  return { ok: false, kind, detail, index };
}

/** True for a word cobra takes for a flag with its value attached or none (`isFlagArg`). */
function looksLikeFlag(word: string): boolean {
  return (word.length >= 3 && word.startsWith("--")) ||
    (word.length >= 2 && word[0] === "-" && word[1] !== "-");
}

/**
 * The root flags, grouped as cobra's `Traverse` groups them (a long flag without `=` that is
 * not a boolean, or a lone short flag that is not a boolean, takes the next word), then
 * parsed as pflag parses that group; every word of the group must be used.
 */
function parseRootFlags(
  argv: readonly string[],
  root: FlagSet,
): RuntimeRefusal | { ok: true; flags: ParsedFlag[]; subcommandIndex: number } {
  let inFlag = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const word = argv[i];
    if (word.startsWith("--") && !word.includes("=")) {
      inFlag = root.byLong.get(word.slice(2))?.value ?? true;
    } else if (
      word.startsWith("-") && !word.includes("=") && word.length === 2 &&
      !(root.byShort.get(word[1])?.value === false)
    ) {
      inFlag = true;
    } else if (inFlag) {
      inFlag = false;
    } else if (!looksLikeFlag(word)) {
      break;
    }
  }
  const flags: ParsedFlag[] = [];
  const group = argv.slice(0, i);
  let j = 1;
  while (j < group.length) {
    const word = group[j];
    if (word === "--" || !word.startsWith("-") || word.length === 1) {
      return refusal(
        "ambiguous",
        `${word} before the subcommand: the runtime would skip what follows`,
        j,
      );
    }
    const step = parseFlagWord(group, j, root, flags);
    if (!step.ok) return step;
    j = step.next;
  }
  return { ok: true, flags, subcommandIndex: i };
}

function findSubcommand(
  argv: readonly string[],
  index: number,
): RuntimeRefusal | { ok: true; subcommand: ContainerCommand; flagsStart: number } {
  const word = argv[index];
  if (word === undefined) return refusal("unknown-subcommand", "no subcommand");
  if (word === "exec" || word === "run" || word === "shell" || word === "test") {
    return { ok: true, subcommand: word, flagsStart: index + 1 };
  }
  if (word === "instance") {
    const next = argv[index + 1];
    if (next === "start" || next === "run") {
      return { ok: true, subcommand: `instance ${next}`, flagsStart: index + 2 };
    }
    if (next !== undefined && next.startsWith("-")) {
      return refusal(
        "ambiguous",
        `${next} between instance and its subcommand: put flags after instance start`,
        index + 1,
      );
    }
    const named = next === undefined ? "instance" : `instance ${next}`;
    return refusal(
      "unknown-subcommand",
      `${named} does not start a container from an image`,
      index + 1,
    );
  }
  return refusal(
    "unknown-subcommand",
    `${word} is not exec, run, shell, test, instance start or instance run`,
    index,
  );
}

/**
 * The subcommand's flags, as pflag parses them without interspersed arguments: up to the
 * first word that is not a flag (`-` and the empty word are not flags), or past `--`.
 */
function parseCommandFlags(
  argv: readonly string[],
  start: number,
  set: FlagSet,
): RuntimeRefusal | { ok: true; flags: ParsedFlag[]; containerIndex: number } {
  const flags: ParsedFlag[] = [];
  let j = start;
  while (j < argv.length) {
    const word = argv[j];
    if (word === "--") return { ok: true, flags, containerIndex: j + 1 };
    if (!word.startsWith("-") || word.length === 1) break;
    const step = parseFlagWord(argv, j, set, flags);
    if (!step.ok) return step;
    j = step.next;
  }
  return { ok: true, flags, containerIndex: j };
}

/** pflag's `strconv.ParseBool`: the words a boolean flag accepts after `=`. */
const BOOLEAN_WORDS = new Set([
  "1",
  "t",
  "T",
  "TRUE",
  "true",
  "True",
  "0",
  "f",
  "F",
  "FALSE",
  "false",
  "False",
]);

/** Parses the flag word `words[at]` (long, or a stack of shorts); returns the next index. */
function parseFlagWord(
  words: readonly string[],
  at: number,
  set: FlagSet,
  out: ParsedFlag[],
): RuntimeRefusal | { ok: true; next: number } {
  const word = words[at];
  if (word.startsWith("--")) return parseLong(words, at, set, out);
  let shorts = word.slice(1);
  let next = at + 1;
  while (shorts.length > 0) {
    if (shorts.startsWith("test.")) {
      return refusal("ambiguous", `${word}: the runtime silently ignores -test.… flags`, at);
    }
    const found = usableFlag(set.byShort.get(shorts[0]), `-${shorts[0]}`, at);
    if (!found.ok) return found;
    const flag = found.spec;
    let given: string;
    if (shorts.length > 2 && shorts[1] === "=") {
      given = shorts.slice(2);
      shorts = "";
      if (!flag.value && !BOOLEAN_WORDS.has(given)) {
        return refusal("invalid-value", `${word}: -${flag.short} takes true or false`, at);
      }
    } else if (!flag.value) {
      given = "true";
      shorts = shorts.slice(1);
    } else if (shorts.length > 1) {
      given = shorts.slice(1);
      shorts = "";
    } else if (next < words.length) {
      given = words[next];
      next++;
      shorts = "";
    } else {
      return refusal("missing-value", `-${flag.short} needs a value`, at);
    }
    out.push({ name: flag.long, value: given, index: at });
  }
  return { ok: true, next };
}

function parseLong(
  words: readonly string[],
  at: number,
  set: FlagSet,
  out: ParsedFlag[],
): RuntimeRefusal | { ok: true; next: number } {
  const word = words[at];
  const body = word.slice(2);
  if (body.startsWith("-") || body.startsWith("=")) {
    return refusal("unknown-flag", `${word} is not a flag the runtime accepts`, at);
  }
  const equals = body.indexOf("=");
  const name = equals === -1 ? body : body.slice(0, equals);
  const found = usableFlag(set.byLong.get(name), `--${name}`, at);
  if (!found.ok) return found;
  const flag = found.spec;
  if (equals !== -1) {
    const given = body.slice(equals + 1);
    if (!flag.value && !BOOLEAN_WORDS.has(given)) {
      return refusal("invalid-value", `${word}: --${name} takes true or false`, at);
    }
    out.push({ name, value: given, index: at });
    return { ok: true, next: at + 1 };
  }
  if (!flag.value) {
    out.push({ name, value: "true", index: at });
    return { ok: true, next: at + 1 };
  }
  if (at + 1 >= words.length) return refusal("missing-value", `--${name} needs a value`, at);
  out.push({ name, value: words[at + 1], index: at });
  return { ok: true, next: at + 2 };
}

/** The flag looked up, or why it cannot be used: unknown, or refused by siftrust. */
function usableFlag(
  spec: FlagSpec | undefined,
  shown: string,
  at: number,
): RuntimeRefusal | { ok: true; spec: FlagSpec } {
  if (spec === undefined) {
    return refusal("unknown-flag", `${shown} is not a flag the runtime accepts here`, at);
  }
  if (spec.refused !== undefined) {
    return refusal("refused-flag", `${shown} is refused: ${spec.refused}`, at);
  }
  return { ok: true, spec };
}

function placeContainer(
  argv: readonly string[],
  runtime: RuntimeName,
  subcommand: ContainerCommand,
  globalFlags: ParsedFlag[],
  local: { flags: ParsedFlag[]; containerIndex: number },
): RuntimeArgvResult {
  const containerIndex = local.containerIndex;
  if (containerIndex >= argv.length) {
    return refusal("missing-container", `${subcommand} has no container argument`);
  }
  const container = argv[containerIndex];
  const needsMore = subcommand === "exec" || subcommand.startsWith("instance");
  if (needsMore && containerIndex + 1 >= argv.length) {
    const what = subcommand === "exec" ? "a command" : "an instance name";
    return refusal("missing-argument", `${subcommand} needs ${what} after the image`);
  }
  const arg = classifyContainerArg(container);
  switch (arg.kind) {
    case "local-path":
      return {
        ok: true,
        runtime,
        subcommand,
        containerIndex,
        container,
        globalFlags,
        flags: local.flags,
      };
    case "instance":
      return refusal(
        "unsupported-source",
        `${container} is a running instance, not an image siftrust can check`,
        containerIndex,
      );
    case "uri":
      return refusal(
        "unsupported-source",
        `${container} is a ${arg.transport} source, not a local SIF file: pull it and admit it`,
        containerIndex,
      );
    case "ambiguous":
      return refusal("ambiguous", arg.reason, containerIndex);
  }
}
