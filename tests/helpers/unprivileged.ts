/**
 * Running siftrust, or any command, as an unprivileged user (`nobody`, via `setpriv`) from
 * tests that run as root, as they do in CI: the attacker of tests/security/, or a user who is
 * refused something.
 *
 * `nobody` cannot reach root's Deno cache (/root is 0700), where the npm dependencies live, so
 * siftrust is bundled once per test process into one self-contained file (`deno bundle`,
 * offline) in a folder anyone can read, and runs with its own empty DENO_DIR.
 *
 * @module
 */

import type { CliResult } from "./cli.ts";
import { PERMISSIONS } from "./cli.ts";
import { REPO_ROOT } from "./peers.ts";

/** The uid and gid of `nobody`. */
export const NOBODY = 65534;

/** Whether the tests can switch to another user: they run as root. */
export const CAN_DROP_PRIVILEGES: boolean = Deno.uid() === 0;

let bundled: Promise<string> | undefined;

/** The siftrust bundle, built once per process into a folder anyone can read. */
export function siftrustBundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-bundle-" });
    await Deno.chmod(dir, 0o755);
    const bundle = `${dir}/siftrust.js`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--no-lock", "--output", bundle, `${REPO_ROOT}cli/full_entry.ts`],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    await Deno.chmod(bundle, 0o644);
    // The folder is left for the OS to clean (one per test process; the bundle is read-only).
    return bundle;
  })();
  return bundled;
}

/** Options of {@linkcode runAsNobody}. */
export interface NobodyOptions {
  /** The working folder (default `/`). */
  cwd?: string;
  /** The whole environment besides PATH, HOME, DENO_DIR and NO_COLOR. */
  env?: Record<string, string>;
  /** A folder `nobody` owns, for HOME and DENO_DIR (made if missing). */
  home: string;
}

/** The `setpriv` command line that runs `command` as `nobody`, with no supplementary groups. */
export function asNobodyArgs(command: string[]): string[] {
  return [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...command];
}

/** The environment of a command run as `nobody`. */
function nobodyEnv(options: NobodyOptions): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: options.home,
    DENO_DIR: options.home,
    NO_COLOR: "1",
    ...options.env,
  };
}

/** Makes `home` (if missing) and gives it to `nobody`. */
async function ensureHome(home: string): Promise<void> {
  await Deno.mkdir(home, { recursive: true });
  await Deno.chown(home, NOBODY, NOBODY);
}

/** Starts `command` as `nobody` (stdout and stderr piped, stdin closed). */
export async function spawnAsNobody(
  command: string[],
  options: NobodyOptions,
): Promise<Deno.ChildProcess> {
  await ensureHome(options.home);
  return new Deno.Command("setpriv", {
    args: asNobodyArgs(command),
    cwd: options.cwd ?? "/",
    clearEnv: true,
    env: nobodyEnv(options),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `command` as `nobody` and collects its output. */
export async function runAsNobody(command: string[], options: NobodyOptions): Promise<CliResult> {
  const out = await (await spawnAsNobody(command, options)).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

/** Runs `siftrust ARGS…` (the bundle, with the binary's permissions) as `nobody`. */
export async function runCliAsNobody(args: string[], options: NobodyOptions): Promise<CliResult> {
  const bundle = await siftrustBundle();
  return await runAsNobody(
    [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, bundle, ...args],
    options,
  );
}

/** A shell script run as `nobody` in `home`: `sh -c SCRIPT`; throws when it fails. */
export async function nobodyShell(script: string, home: string): Promise<void> {
  const result = await runAsNobody(["sh", "-c", script], { home });
  if (result.code !== 0) {
    throw new Error(`unprivileged step failed (exit ${result.code}): ${script}\n${result.stderr}`);
  }
}
