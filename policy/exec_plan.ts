/**
 * What `siftrust exec` may run, decided before anything runs: the container the runtime's
 * command line starts (./runtime/argv.ts), no runtime environment variable that would make the
 * runtime start something else, and an image file that only root can change while the runtime
 * starts it.
 *
 * @module
 */

import {
  APPTAINER_FLAGS,
  type ContainerCommand,
  type FlagSpec,
  parseRuntimeArgv,
  type RuntimeCommand,
  type RuntimeRefusalKind,
  SINGULARITYCE_FLAGS,
} from "./runtime/mod.ts";
import type { OpenImageFile } from "../core/sif/mod.ts";
import { decideCopy, type DecidedCopy } from "./admit.ts";
import { type CheckContext, checkImage, type CheckResult } from "./check.ts";

/** Why `exec` refuses a command line before opening any image. */
export interface ExecRefusal {
  /** Refused. */
  readonly ok: false;
  /** The command line's fault, or a runtime environment variable that is set. */
  readonly kind: RuntimeRefusalKind | "refused-environment";
  /** One line for the user. */
  readonly detail: string;
}

/** The outcome of {@linkcode planExec}: the runtime command found, or why it is refused. */
export type ExecPlan = RuntimeCommand | ExecRefusal;

/** The environment-variable prefixes through which the runtimes read their flags. */
const ENV_PREFIXES = ["APPTAINER_", "SINGULARITY_"];

/**
 * The runtime environment variables that `exec` refuses: those that set a flag siftrust
 * refuses on the command line (`APPTAINER_SHARENS`, `SINGULARITY_DMTCP_RESTART`…), named as
 * the runtimes name a flag's variable (prefix, then the long name in capitals, `-` as `_`).
 */
export const REFUSED_RUNTIME_ENV: readonly string[] = (() => {
  const names = new Set<string>();
  for (const table of [APPTAINER_FLAGS, SINGULARITYCE_FLAGS]) {
    const specs: FlagSpec[] = [...table.root];
    for (const command of Object.keys(table.commands) as ContainerCommand[]) {
      specs.push(...table.commands[command]);
    }
    for (const spec of specs) {
      if (spec.refused === undefined || spec.long === "help" || spec.long === "version") continue;
      for (const prefix of ENV_PREFIXES) {
        names.add(`${prefix}${spec.long.toUpperCase().replaceAll("-", "_")}`);
      }
    }
  }
  return [...names].sort();
})();

/**
 * Finds the container that `argv` starts and refuses what `exec` cannot run with certainty:
 * the command line's refusals (./runtime/argv.ts) and a set {@linkcode REFUSED_RUNTIME_ENV}
 * variable (`env` reads the environment the runtime will get).
 */
export function planExec(
  argv: readonly string[],
  env: (name: string) => string | undefined,
): ExecPlan {
  const parsed = parseRuntimeArgv(argv);
  if (!parsed.ok) return { ok: false, kind: parsed.kind, detail: parsed.detail };
  const set = REFUSED_RUNTIME_ENV.filter((name) => env(name) !== undefined);
  if (set.length > 0) {
    return {
      ok: false,
      kind: "refused-environment",
      detail: `${set.join(", ")} ${
        set.length === 1 ? "is" : "are"
      } set: the runtime would not start the checked image that way; unset ${
        set.length === 1 ? "it" : "them"
      }`,
    };
  }
  return parsed;
}

/** Who besides root can change an image file's bytes, by its `fstat`. */
export type ImageWriter =
  /** Its owner, a user other than root (an owner can always make the file writable). */
  | { kind: "owner"; uid: number }
  /** Members of its group (group write permission; POSIX ACLs show here as well). */
  | { kind: "group"; gid: number }
  /** Anyone (write permission for others). */
  | { kind: "others" };

/**
 * Who other than root can rewrite the file in place (the same inode) while the runtime starts
 * it: a non-root owner, a group with write permission, or everyone. Empty when only root can.
 * Renaming or replacing the path does not count: the runtime gets the open descriptor.
 */
export function imageWriters(info: Pick<Deno.FileInfo, "uid" | "gid" | "mode">): ImageWriter[] {
  const writers: ImageWriter[] = [];
  const mode = info.mode ?? 0;
  if (info.uid !== 0) writers.push({ kind: "owner", uid: info.uid ?? -1 });
  if ((mode & 0o020) !== 0) writers.push({ kind: "group", gid: info.gid ?? -1 });
  if ((mode & 0o002) !== 0) writers.push({ kind: "others" });
  return writers;
}

/** Why the `exec.copy-writable` folder cannot take copies. */
export type CopyFolderProblem =
  /** It does not exist, or is not a folder. */
  | "not-a-folder"
  /** It is owned by a user other than root and the running user. */
  | "foreign-owner"
  /** Its group or everyone may write it (they could replace a copy between check and run). */
  | "writable-by-others";

/**
 * Whether `folder` may take `exec`'s copies: a folder owned by root or the running user
 * (`euid`), that neither its group nor others can write. Undefined when it may.
 */
export async function copyFolderProblem(
  folder: string,
  euid: number,
): Promise<CopyFolderProblem | undefined> {
  const info = await Deno.stat(folder).catch(() => undefined);
  if (info === undefined || !info.isDirectory) return "not-a-folder";
  if (info.uid !== 0 && info.uid !== euid) return "foreign-owner";
  if (((info.mode ?? 0) & 0o022) !== 0) return "writable-by-others";
  return undefined;
}

/** The user a command runs as: uid and primary gid. */
export interface RunAs {
  /** The user ID. */
  readonly uid: number;
  /** The primary group ID. */
  readonly gid: number;
}

/**
 * Who `exec` starts the runtime as: when it runs as root (`euid` 0) through `sudo`, the user who
 * invoked `sudo` (`SUDO_UID`, `SUDO_GID`), so that the container never runs as root on a user's
 * behalf; otherwise undefined (the runtime runs as `exec` does).
 */
export function invokingUser(
  env: (name: string) => string | undefined,
  euid: number,
): RunAs | undefined {
  const [uid, gid] = [env("SUDO_UID"), env("SUDO_GID")];
  if (euid !== 0 || uid === undefined || gid === undefined) return undefined;
  if (!/^[0-9]+$/.test(uid) || !/^[0-9]+$/.test(gid) || Number(uid) === 0) return undefined;
  return { uid: Number(uid), gid: Number(gid) };
}

/** The copy-writable folder cannot take `exec`'s copies (see {@linkcode copyFolderProblem}). */
export class CopyFolderError extends Error {
  /** What is wrong with the folder. */
  readonly kind: CopyFolderProblem;
  /** The folder. */
  readonly folder: string;

  /** An error about `folder`. */
  constructor(kind: CopyFolderProblem, folder: string) {
    super(`exec.copy-writable ${folder}: ${kind}`);
    this.name = "CopyFolderError";
    this.kind = kind;
    this.folder = folder;
  }
}

/** What `exec` decided about the open image. */
export type ExecDecision =
  /** Others than root can rewrite it, the policy enforces, and has no copy-writable folder. */
  | { readonly kind: "refused-writable"; readonly writers: ImageWriter[] }
  /**
   * Checked: the image itself (`writers` is non-empty only in warn mode), or its copy in the
   * copy-writable folder (`copy`; the caller closes `copy.file` and discards `copy.copy`).
   */
  | {
    readonly kind: "checked";
    readonly result: CheckResult;
    /** The open file to run: the image, or the copy. */
    readonly run: OpenImageFile;
    readonly writers: ImageWriter[];
    readonly copy?: DecidedCopy;
  };

/**
 * Decides on an image `exec` opened: checked as it is when only root can write it; else copied
 * into the policy's `exec.copy-writable` folder (which must pass {@linkcode copyFolderProblem}
 * for `euid`) and the copy decided; else refused, or in warn mode checked as it is.
 *
 * @throws CopyFolderError for an unusable copy folder, AdmitError when the copy fails
 */
export async function decideExecImage(
  image: OpenImageFile,
  context: CheckContext,
  euid: number,
): Promise<ExecDecision> {
  const { policy } = context;
  const writers = imageWriters(image.info);
  const folder = policy.exec.copyWritable;
  if (writers.length > 0 && folder !== undefined) {
    const problem = await copyFolderProblem(folder, euid);
    if (problem !== undefined) throw new CopyFolderError(problem, folder);
    const name = image.realPath.slice(image.realPath.lastIndexOf("/") + 1);
    const copy = await decideCopy(image, `${folder.replace(/\/+$/, "")}/${name}`, context);
    return { kind: "checked", result: copy.result, run: copy.file, writers, copy };
  }
  if (writers.length > 0 && policy.mode === "enforce") return { kind: "refused-writable", writers };
  const result = await checkImage(image.realPath, context, undefined, image);
  return { kind: "checked", result, run: image, writers };
}

/** An {@linkcode ExecDecision} that checked an image (or its copy). */
export type ExecChecked = Extract<ExecDecision, { kind: "checked" }>;
