/**
 * `check`'s command line read without commander, for the plain forms that two early steps
 * serve before the program is loaded: the cached fast path (./fast_check.ts) and the head
 * start on the first image's hashing (./check_ahead.ts). Anything else (another option, a
 * glob pattern, a folder to search) is undefined here, and commander reads it as usual.
 *
 * @module
 */

/** This machine's CPUs: `check`'s default `-j`, and the most CPUs its hashing uses. */
export const CPUS: number = navigator.hardwareConcurrency || 1;

/** A plain `check` command line. */
export interface PlainCheck {
  /** `--policy FILE`, if given. */
  policyFile?: string;
  /** The images, as given (plain paths, no pattern). */
  images: string[];
  /** `-j N`, if given. */
  jobs?: number;
  /** The options given that change neither the policy, the images nor `-j`. */
  flags: Set<"--json" | "--explain" | "--no-cache" | "--audit-log">;
}

/** A whole number from 1 up, as `check -j` takes it; else undefined. */
function jobsValue(value: string | undefined): number | undefined {
  const jobs = Number(value);
  return value !== undefined && Number.isInteger(jobs) && jobs >= 1 ? jobs : undefined;
}

/**
 * `check [--policy FILE] [-j N] [--json] [--explain] [--no-cache] [--audit-log FILE] IMAGE…`,
 * or undefined for any other form.
 */
export function plainCheck(args: readonly string[]): PlainCheck | undefined {
  if (args[0] !== "check") return undefined;
  const plain: PlainCheck = { images: [], flags: new Set() };
  for (let i = 1; i < args.length; i++) {
    const arg = args[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? args[++i];
    if (name === "--policy" && plain.policyFile === undefined) {
      plain.policyFile = value();
      if (plain.policyFile === undefined) return undefined;
    } else if (name === "-j" && inline === undefined || name === "--jobs") {
      plain.jobs = jobsValue(value());
      if (plain.jobs === undefined) return undefined;
    } else if (name === "--audit-log" && !plain.flags.has(name)) {
      if (value() === undefined) return undefined;
      plain.flags.add(name);
    } else if (
      (name === "--json" || name === "--explain" || name === "--no-cache") && inline === undefined
    ) {
      plain.flags.add(name);
    } else if (arg.startsWith("-") || /[*?[]/.test(arg)) {
      return undefined;
    } else {
      plain.images.push(arg);
    }
  }
  if (plain.images.length === 0 || plain.policyFile === "" || plain.policyFile?.startsWith("-")) {
    return undefined;
  }
  return plain;
}
