/**
 * The ownership checks of trust inputs, with no dependency (not even Deno's Node layer) so
 * that the cached fast path of `check` (policy/fast_check.ts) runs exactly the checks the
 * full path runs (policy/file_trust.ts re-exports everything here): OpenSSH-`StrictModes`-like checks of a
 * path and every folder above it ({@linkcode checkTrustedPath}), and the warnings of a run by
 * a user for themselves ({@linkcode trustFileWarnings}).
 *
 * @module
 */

/** Why a path cannot be trusted. */
export type TrustProblemKind =
  /** Its owner is not one the run trusts. */
  | "owner"
  /** Its group can write it. */
  | "group-writable"
  /** Anyone can write it. */
  | "other-writable"
  /** A folder above it has an owner the run does not trust. */
  | "parent-owner"
  /** A folder above it can be written by its group (and is not sticky above a trusted child). */
  | "parent-group-writable"
  /** A folder above it can be written by anyone (and is not sticky above a trusted child). */
  | "parent-other-writable"
  /** It or a folder above it cannot be examined. */
  | "unreadable";

/** A path that an enforcing run cannot trust. */
export interface TrustProblem {
  /** Why. */
  kind: TrustProblemKind;
  /** The input that was checked. */
  input: string;
  /** The path at fault: the input or a folder above it. */
  path: string;
  /** The owner of `path`, when the kind is about its owner. */
  uid: number | null;
  /** The owners the run trusts for this input. */
  owners: number[];
}

const STICKY = 0o1000;

/**
 * `path` made absolute (against the current folder) and normal: no `.`, `..` or empty
 * segment, as node:path `resolve` makes it (not imported: see the module's note).
 */
function absolutePath(path: string): string {
  const segments: string[] = [];
  for (const segment of (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/")) {
    if (segment === "..") segments.pop();
    else if (segment !== "" && segment !== ".") segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/** The folder holding an absolute, normal path (`/` for `/`). */
function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** `path` and every folder above it, up to `/`. */
function chain(path: string): string[] {
  const paths = [path];
  while (paths[paths.length - 1] !== "/") paths.push(parentOf(paths[paths.length - 1]));
  return paths;
}

/** Checks one chain of paths (the input first, `/` last). */
async function checkChain(
  input: string,
  paths: string[],
  owners: number[],
): Promise<TrustProblem | undefined> {
  // Whether the entry below the current folder exists and has an owner the run trusts.
  let trustedBelow = false;
  // Missing entries (the input, and folders that do not exist yet) are skipped: the first
  // existing folder above them decides who could create them.
  let existing = false;
  for (const [i, path] of paths.entries()) {
    const parent = i > 0;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      const absent = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory;
      if (absent && !existing) continue;
      return { kind: "unreadable", input, path, uid: null, owners };
    }
    existing = true;
    const uid = info.uid ?? 0;
    if (!owners.includes(uid)) {
      return { kind: parent ? "parent-owner" : "owner", input, path, uid, owners };
    }
    const mode = info.mode ?? 0;
    // A symbolic link's own mode means nothing; its target's chain is checked on its own.
    if (!info.isSymlink) {
      const stickyAboveTrusted = parent && (mode & STICKY) !== 0 && trustedBelow;
      if ((mode & 0o002) !== 0 && !stickyAboveTrusted) {
        const kind = parent ? "parent-other-writable" : "other-writable";
        return { kind, input, path, uid, owners };
      }
      if ((mode & 0o020) !== 0 && !stickyAboveTrusted) {
        const kind = parent ? "parent-group-writable" : "group-writable";
        return { kind, input, path, uid, owners };
      }
    }
    trustedBelow = true;
  }
  return undefined;
}

/**
 * Whether an enforcing run may trust `path`: it (when it exists) and every folder above it
 * must be owned by one of `owners` and not writable by group or others; a sticky folder that
 * others can write (such as `/tmp`) is accepted above an entry with a trusted owner. When the
 * path goes through a symbolic link, the chain of its real path is checked too.
 */
export async function checkTrustedPath(
  path: string,
  owners: number[],
): Promise<TrustProblem | undefined> {
  const absolute = absolutePath(path);
  const problem = await checkChain(absolute, chain(absolute), owners);
  if (problem !== undefined) return problem;
  let real: string;
  try {
    real = await Deno.realPath(absolute);
  } catch {
    return undefined;
  }
  return real === absolute ? undefined : await checkChain(absolute, chain(real), owners);
}

/** The trust inputs of a run, and which owners each may have. */
export interface TrustInputs {
  /** The policy, its key files, and (with `keys.local`) the global and the user's keyrings. */
  files: string[];
  /** The cache folders the run uses. */
  caches: string[];
}

/** The owners a run trusts (core/config/resolve.ts, `Enforcement`). */
export interface TrustOwners {
  /** For the policy and the key files. */
  owners: number[];
  /** For the caches. */
  cacheOwners: number[];
}

/**
 * The first trust input of an enforcing run that it cannot trust (see
 * {@linkcode checkTrustedPath}; caches with the resolution's cache owners), or undefined.
 */
export async function untrustedInput(
  inputs: TrustInputs,
  run: { enforcement: TrustOwners },
): Promise<TrustProblem | undefined> {
  const { owners: fileOwners, cacheOwners } = run.enforcement;
  for (const path of inputs.files) {
    const problem = await checkTrustedPath(path, fileOwners);
    if (problem !== undefined) return problem;
  }
  for (const path of inputs.caches) {
    const problem = await checkTrustedPath(path, cacheOwners);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * After the checks pass, a root run creates its missing cache folders (mode 0755, so that
 * `exec` run by a user can read what root's runs keep); other runs leave them to whoever
 * writes them.
 */
export async function createRootCaches(caches: string[], euid: number): Promise<void> {
  if (euid !== 0) return;
  for (const dir of caches) {
    // A folder that cannot be made is reported when the cache is used (policy/cache.ts).
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 }).catch(() => undefined);
  }
}

/** Who besides root can write a file (`anyone`, `its group`, `its owner, uid N`), if anyone. */
export function writersBesidesRoot(info: Deno.FileInfo): string | undefined {
  const mode = info.mode;
  if (mode === null) return undefined;
  if ((mode & 0o002) !== 0) return "anyone can write it";
  if ((mode & 0o020) !== 0) return "its group can write it";
  // An owner other than root can always give itself write access (chmod u+w).
  if (info.uid !== null && info.uid !== 0) {
    return `its owner, uid ${info.uid}, can write it`;
  }
  return undefined;
}

/**
 * Warnings for the existing files among `paths` that others than root can write. Missing
 * files are left to whoever reads them.
 */
export async function trustFileWarnings(paths: string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      continue;
    }
    const who = writersBesidesRoot(info);
    if (who !== undefined) {
      warnings.push(
        `${path}: ${who}, and whoever can change it decides what runs: make it owned by root, mode 0644 (chmod go-w)`,
      );
    }
  }
  return warnings;
}
