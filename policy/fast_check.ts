/**
 * `check`'s cached fast path: the decisions of images the verify-once cache holds, reached
 * without loading the policy, OpenPGP, the YAML parser or the configuration. It reads the
 * policy's bytes for their digest, finds the set-up the full path kept for that policy and
 * user (policy/check_setup.ts), confirms that every environment variable and file it depended
 * on is unchanged, runs the same ownership checks as the full path (policy/trust_path.ts), and
 * looks each image up by the key the full path uses (policy/cache.ts: the image's real path
 * and identity). Any miss, and any doubt, is `undefined`: the caller then takes the full path,
 * which gives the answer. This module imports only light modules, and not Deno's Node layer
 * (see tests/cli/fast_check_test.ts).
 *
 * @module
 */

import {
  type CachedCheck,
  cacheKey,
  type CheckSetup,
  checkSetupKey,
  fileStates,
  readCached,
  readCheckSetup,
  sha256Hex,
} from "./cache.ts";
import {
  checkTrustedPath,
  createRootCaches,
  trustFileWarnings,
  untrustedInput,
} from "./trust_path.ts";

/**
 * The policy a `check` reads without `--policy` or `$SIFTRUST_POLICY`: core/config/resolve.ts
 * `SYSTEM_POLICY` (not imported, as that module loads the YAML parser; a test keeps them equal).
 */
export const FAST_SYSTEM_POLICY = "/etc/siftrust/policy.yaml";

/** Root's cache base: core/config/resolve.ts `SYSTEM_CACHE_DIR` (a test keeps them equal). */
export const FAST_SYSTEM_CACHE_DIR = "/var/cache/siftrust";

/**
 * The process's real and effective user IDs. Deno offers the effective one only through its
 * Node layer (node:process `geteuid`), whose loading costs about as much as Deno's whole
 * start-up, and `/proc` needs every permission; so it asks `/usr/bin/id -u` (POSIX: the
 * effective user ID, which a child inherits), started with an empty environment, and uses
 * node:process only when that fails.
 */
export async function processUserIds(): Promise<{ uid: number; euid: number }> {
  const uid = Deno.uid() ?? 0;
  try {
    const { success, stdout } = await new Deno.Command("/usr/bin/id", {
      args: ["-u"],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(stdout).trim();
    if (success && /^\d+$/.test(text)) return { uid, euid: Number(text) };
  } catch {
    // not there, or not allowed: ask the Node layer
  }
  const { geteuid } = await import("node:process");
  return { uid, euid: geteuid?.() ?? uid };
}

/** What a fast check is given: the run's inputs, as the full path would read them. */
export interface FastCheckRun {
  /** `--policy`, if given. */
  policyFile?: string;
  /** The images, as given (plain paths). */
  images: string[];
  /** The process's environment. */
  env: Readonly<Record<string, string>>;
  /** The real user ID. */
  uid: number;
  /** The effective user ID. */
  euid: number;
  /** The time to decide at (default: now). */
  now?: Date;
}

/** The fast path's answer: what the full path would print, in order. */
export interface FastCheckAnswer {
  /** Warnings of the set-up (keys, writable trust files), in the full path's order. */
  warnings: string[];
  /** Each image's cached check, in the order given. */
  checks: CachedCheck[];
}

/**
 * Where a `check` run keeps its decisions: core/config/resolve.ts decides; this is the same
 * rule for a `check` (not sanitized). A wrong guess only misses: the set-up found there must
 * name the same folder, under the same environment.
 */
function decisionCacheDir(env: FastCheckRun["env"], euid: number): string {
  const own = env.SIFTRUST_CACHEDIR;
  if (own !== undefined && own.startsWith("/")) return `${own}/decisions`;
  if (euid === 0) return `${FAST_SYSTEM_CACHE_DIR}/decisions`;
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg.startsWith("/") ? xdg : `${env.HOME ?? "/"}/.cache`;
  return `${base}/siftrust/decisions`;
}

function sameEnvironment(setup: CheckSetup, env: FastCheckRun["env"]): boolean {
  return Object.entries(setup.env).every(([name, value]) => (env[name] ?? null) === value);
}

async function sameFiles(setup: CheckSetup): Promise<boolean> {
  const now = await fileStates(Object.keys(setup.inputs));
  return Object.entries(setup.inputs).every(([path, state]) => now[path] === state);
}

/**
 * The ownership checks and warnings of the run, as the full path makes them; undefined when
 * an enforcing check fails (the full path reports it).
 */
async function setupWarnings(setup: CheckSetup, euid: number): Promise<string[] | undefined> {
  const enforcing = setup.enforcing;
  // `check` enforces when, and only when, it runs as root (core/config/resolve.ts).
  if ((euid === 0) !== (enforcing !== null)) return undefined;
  if (enforcing !== null) {
    if (await untrustedInput(enforcing, { enforcement: enforcing }) !== undefined) return undefined;
    await createRootCaches(enforcing.caches, euid);
    return [...setup.warnings];
  }
  return [...setup.warnings, ...await trustFileWarnings(setup.decidingFiles)];
}

/**
 * The cached check of one image, or undefined when the cache does not hold it. The key is the
 * full path's (policy/check.ts): the image's real path and identity. The full path takes them
 * from the descriptor it opens (core/sif/open_fd.ts: the path resolved, opened without
 * following a link, `fstat`); this path opens nothing (a FIFO swapped in could block an
 * `open`), and takes the same fields with `lstat` of the resolved path, which must be a
 * regular file: a link or anything else swapped in is a miss.
 */
async function cachedImage(
  path: string,
  setup: CheckSetup,
  policyDigest: string,
  now: Date,
): Promise<CachedCheck | undefined> {
  const real = await Deno.realPath(path);
  const info = await Deno.lstat(real);
  if (!info.isFile) return undefined;
  const key = await cacheKey(real, policyDigest, setup.keyFiles, info);
  const lookup = await readCached(setup.decisionCacheDir, key.key, now);
  return "hit" in lookup ? lookup.hit : undefined;
}

/**
 * The answer of a `check` whose every image the cache holds, or undefined: then the caller
 * takes the full path. It never throws for what it finds on disk.
 */
export async function fastCheck(run: FastCheckRun): Promise<FastCheckAnswer | undefined> {
  try {
    return await answer(run);
  } catch {
    return undefined;
  }
}

async function answer(run: FastCheckRun): Promise<FastCheckAnswer | undefined> {
  const policyFile = run.policyFile ?? run.env.SIFTRUST_POLICY ?? FAST_SYSTEM_POLICY;
  const dir = decisionCacheDir(run.env, run.euid);
  // Root trusts what the folder holds only once root (or the effective user) is its owner and
  // nobody else can write it: then the set-up in it is the full path's.
  if (run.euid === 0 && await checkTrustedPath(dir, [0]) !== undefined) return undefined;
  const digest = await sha256Hex(await Deno.readFile(policyFile));
  // Key files are named relative to the policy's folder: the same bytes elsewhere are another
  // policy.
  const policyPath = await Deno.realPath(policyFile);
  const key = await checkSetupKey(policyPath, digest, run.uid, run.euid);
  const setup = await readCheckSetup(dir, key);
  const same = setup !== undefined && setup.decisionCacheDir === dir &&
    setup.uid === run.uid && setup.euid === run.euid && setup.policy.file === policyFile &&
    setup.policy.path === policyPath && setup.policy.digest === digest &&
    sameEnvironment(setup, run.env);
  if (!same || !await sameFiles(setup)) return undefined;
  const warnings = await setupWarnings(setup, run.euid);
  if (warnings === undefined) return undefined;
  const now = run.now ?? new Date();
  const checks: CachedCheck[] = [];
  for (const image of new Set(run.images)) {
    const check = await cachedImage(image, setup, digest, now);
    if (check === undefined) return undefined;
    checks.push(check);
  }
  return { warnings, checks };
}
