/**
 * The one environment fixture of the tests: a throw-away folder, and an environment whose every
 * input of siftrust (HOME, keyrings, Apptainer's config, the system config dir, caches) lies
 * inside it, so that nothing of the user's or the machine's leaks into a test.
 *
 * ```ts
 * await using box = await testEnv("siftrust-rules-");
 * await runCli(["check", "--policy", `${box.dir}/policy.yaml`, image], { env: box.env });
 * ```
 *
 * @module
 */

/** A temporary folder, removed (with everything in it) when disposed. */
export interface TempDir {
  /** Its real path (symlinks resolved, as siftrust reports paths). */
  dir: string;
  /** Removes the folder and everything in it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes a temporary folder; `await using` removes it at the end of the scope. */
export async function tempDir(prefix = "siftrust-test-"): Promise<TempDir> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    dir,
    async [Symbol.asyncDispose]() {
      // A test may have taken its own rights away (chmod 0500): give them back first.
      await Deno.chmod(dir, 0o700).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `fn` in a temporary folder, and removes the folder however `fn` ends. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix?: string,
): Promise<T> {
  await using temp = await tempDir(prefix);
  return await fn(temp.dir);
}

/**
 * siftrust's inputs, all inside `dir`: `HOME` (`dir/home`), `APPTAINER_KEYSDIR` (`dir/keys`),
 * `APPTAINER_CONFIGDIR` (`dir/apptainer`), `SIFTRUST_SYSCONFDIR` (`dir/etc`: the global
 * keyring is `dir/etc/apptainer/global-pgp-public`), `XDG_CACHE_HOME` (`dir/cache`: decisions
 * go to `dir/cache/siftrust/decisions`) and `SIFTRUST_CACHEDIR` (the same `dir/cache/siftrust`,
 * which root's runs use instead of the system cache).
 */
export function isolatedEnv(dir: string): IsolatedEnv {
  return {
    HOME: `${dir}/home`,
    APPTAINER_KEYSDIR: `${dir}/keys`,
    APPTAINER_CONFIGDIR: `${dir}/apptainer`,
    SIFTRUST_SYSCONFDIR: `${dir}/etc`,
    XDG_CACHE_HOME: `${dir}/cache`,
    SIFTRUST_CACHEDIR: `${dir}/cache/siftrust`,
  };
}

/** The variables of {@link isolatedEnv} (more may be added to it). */
export interface IsolatedEnv {
  [name: string]: string;
  HOME: string;
  APPTAINER_KEYSDIR: string;
  APPTAINER_CONFIGDIR: string;
  SIFTRUST_SYSCONFDIR: string;
  XDG_CACHE_HOME: string;
}

/** A temporary folder with an {@link isolatedEnv} inside it. */
export interface TestEnv extends TempDir {
  /** For `runCli(…, { env })`, or as an `EnvReader` through `(name) => env[name]`. */
  env: IsolatedEnv;
}

/** Options of {@link testEnv}. */
export interface TestEnvOptions {
  /** Create the folders the environment names (default: leave them to whoever writes them). */
  folders?: boolean;
}

/** Makes a temporary folder and an environment inside it; disposing removes both. */
export async function testEnv(
  prefix = "siftrust-test-",
  options: TestEnvOptions = {},
): Promise<TestEnv> {
  const temp = await tempDir(prefix);
  const env = options.folders ? await preparedEnv(temp.dir) : isolatedEnv(temp.dir);
  return { ...temp, env };
}

/** An {@link isolatedEnv} in `dir` with its folders made, the key folder with mode 0700. */
export async function preparedEnv(dir: string): Promise<IsolatedEnv> {
  const env = isolatedEnv(dir);
  for (const folder of Object.values(env)) await Deno.mkdir(folder, { recursive: true });
  await Deno.chmod(env.APPTAINER_KEYSDIR, 0o700);
  return env;
}

/** A {@link TestEnv} with the paths of its user's and the system's `remote.yaml`. */
export interface RemoteHome extends TestEnv {
  /** The user's `remote.yaml` (in `APPTAINER_CONFIGDIR`; not created). */
  user: string;
  /** The system `remote.yaml` (in `SIFTRUST_SYSCONFDIR/apptainer`; not created). */
  system: string;
}

/** A {@link testEnv} for the remote and keyserver commands. */
export async function remoteHome(prefix = "siftrust-remote-"): Promise<RemoteHome> {
  const box = await testEnv(prefix);
  return {
    ...box,
    user: `${box.env.APPTAINER_CONFIGDIR}/remote.yaml`,
    system: `${box.env.SIFTRUST_SYSCONFDIR}/apptainer/remote.yaml`,
  };
}
