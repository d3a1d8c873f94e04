/**
 * Where the installed Apptainer keeps its system configuration (`SYSCONFDIR`: `/etc` for a
 * distribution package, `/usr/local/etc` for a source install), when `SIFTRUST_SYSCONFDIR`
 * does not say.
 *
 * The installed `apptainer` is asked first (`apptainer buildcfg SYSCONFDIR`). siftrust often
 * runs as root, so it never looks for `apptainer` on `PATH` (a folder a user may control):
 * only in fixed system folders, where it runs the first regular file owned by root that
 * neither its group nor others can write, with an empty environment. Without such an `apptainer`,
 * or when it does not answer with an absolute path, the first of `/etc` and `/usr/local/etc`
 * that has an `apptainer` folder is taken, else `/etc`.
 *
 * @module
 */

/** The folders where an `apptainer` binary is looked for, in order. */
export const APPTAINER_BINARY_DIRS: readonly string[] = [
  "/usr/bin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/local/sbin",
  "/bin",
  "/sbin",
];

/** The configuration folders tried without an answer from `apptainer`, in order. */
export const SYSCONFDIR_CANDIDATES: readonly string[] = ["/etc", "/usr/local/etc"];

/** What a file is, as far as trusting it to run goes. */
export interface FileFacts {
  /** A regular file (symbolic links followed). */
  isFile: boolean;
  /** A folder. */
  isDirectory: boolean;
  /** Owner's user ID. */
  uid: number;
  /** Permission bits. */
  mode: number;
}

/** The system access the detection needs, replaceable in tests. */
export interface SysconfdirProbe {
  /** Facts about a path, or undefined when it does not exist or cannot be read. */
  stat(path: string): FileFacts | undefined;
  /** Runs a program with these arguments and an empty environment; its stdout, or undefined on failure. */
  run(program: string, args: string[]): string | undefined;
}

/** Whether a binary is safe to run as root: a root-owned file that only root can change. */
function trustworthy(facts: FileFacts | undefined): boolean {
  return facts !== undefined && facts.isFile && facts.uid === 0 && (facts.mode & 0o022) === 0;
}

/** The installed Apptainer's `SYSCONFDIR`, found with `probe` (see the module's rules). */
export function findSysconfdir(probe: SysconfdirProbe): string {
  const binary = APPTAINER_BINARY_DIRS.map((dir) => `${dir}/apptainer`)
    .find((path) => trustworthy(probe.stat(path)));
  if (binary !== undefined) {
    const answer = probe.run(binary, ["buildcfg", "SYSCONFDIR"])?.trim();
    if (answer !== undefined && /^\/[^\n\0]*$/.test(answer)) return answer.replace(/(.)\/+$/, "$1");
  }
  return SYSCONFDIR_CANDIDATES.find((dir) => probe.stat(`${dir}/apptainer`)?.isDirectory) ??
    SYSCONFDIR_CANDIDATES[0];
}

/** Whether Deno already grants this permission (never prompts: a library user may not). */
function granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

/**
 * The probe of this machine: `Deno.statSync`, and `Deno.Command` with an empty environment,
 * each only where Deno's permissions already allow it (nothing is asked).
 */
export const systemProbe: SysconfdirProbe = {
  stat(path) {
    if (!granted({ name: "read", path })) return undefined;
    try {
      const info = Deno.statSync(path);
      return {
        isFile: info.isFile,
        isDirectory: info.isDirectory,
        uid: info.uid ?? -1,
        mode: info.mode ?? 0o777,
      };
    } catch {
      return undefined;
    }
  },
  run(program, args) {
    if (!granted({ name: "run", command: program })) return undefined;
    try {
      const { success, stdout } = new Deno.Command(program, {
        args,
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      return success ? new TextDecoder().decode(stdout) : undefined;
    } catch {
      return undefined;
    }
  },
};

let installed: string | undefined;

/** This machine's Apptainer `SYSCONFDIR`, found once per process. */
export function installedSysconfdir(): string {
  installed ??= findSysconfdir(systemProbe);
  return installed;
}
