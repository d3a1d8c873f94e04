/**
 * `siftrust keyserver`: the ordered keyservers of Apptainer's remotes, and logins to them —
 * add, remove, list, login, logout — on Apptainer's own `remote.yaml` files. Also the helpers
 * the `remote` group shares: which files to use, the root check, reading the effective
 * configuration, passwords, HTTP checks and error mapping.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import {
  builtinConfig,
  ConfigError,
  configLocations,
  discoverServices,
  DiscoveryError,
  type Endpoint,
  keyserverBaseUrl,
  type KeyserverEntry,
  KeyserverUriError,
  mergeSystemInto,
  readConfig,
  RemoteConfig,
  RemoteSelectionError,
  sameKeyserver,
  sameService,
  SYSTEM_CONFIG_MODE,
  updateConfig,
  USER_CONFIG_MODE,
} from "../../core/config/mod.ts";
import { FileWriteError } from "../../core/files/atomic.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { log, print } from "../output.ts";
import { askSecret } from "../prompt.ts";
import { tabwrite } from "../render/tabwriter.ts";

// ---------------------------------------------------------------------------------------------
// Shared by `remote` and `keyserver`

/** The files a `remote`/`keyserver` command works on. */
export interface ConfigFiles {
  /** The user's `remote.yaml`, or the `--config` file. */
  user: string;
  /** `$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml`. */
  system: string;
  /** Whether `user` is the system file itself (then nothing is merged into it). */
  userIsSystem: boolean;
}

/** The files, given the group's `--config` option. */
export function configFiles(config: string | undefined): ConfigFiles {
  const locations = configLocations((name) => Deno.env.get(name));
  const user = config ?? locations.userConfig;
  return {
    user,
    system: locations.systemConfig,
    userIsSystem: resolve(user) === resolve(locations.systemConfig),
  };
}

/** Whether siftrust runs as root (uid 0), as Apptainer checks before system-wide changes. */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new CliError(
        "cannot tell whether siftrust runs as root: it needs the --allow-sys=uid permission",
        ExitCode.Failed,
      );
    }
    throw error;
  }
}

/** An environment variable as a boolean (`true`, `1`, `yes`, `on`), Apptainer- or Singularity-prefixed. */
export function envFlag(name: string): boolean {
  const value = Deno.env.get(`APPTAINER_${name}`) ?? Deno.env.get(`SINGULARITY_${name}`);
  return value !== undefined && /^(1|t|true|y|yes|on)$/i.test(value.trim());
}

/** An environment variable, Apptainer- or Singularity-prefixed. */
export function envValue(name: string): string | undefined {
  return Deno.env.get(`APPTAINER_${name}`) ?? Deno.env.get(`SINGULARITY_${name}`);
}

/**
 * Wraps a command action so that the errors a user can cause become one line and a
 * documented exit code: bad configuration 2, failed network or file operations 1.
 */
export function guarded<A extends unknown[]>(
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (error) {
      throw cliError(error);
    }
  };
}

function cliError(error: unknown): unknown {
  if (error instanceof CliError) return error;
  if (
    error instanceof ConfigError || error instanceof KeyserverUriError ||
    error instanceof RemoteSelectionError
  ) {
    return new CliError(error.message, ExitCode.Usage);
  }
  if (error instanceof FileWriteError || error instanceof DiscoveryError) {
    return new CliError(error.message, ExitCode.Failed);
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new CliError(
      `${error.message.replace(/, run again with .*$/, "")}: siftrust lacks that permission`,
      ExitCode.Failed,
    );
  }
  if (
    error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.NotADirectory || error instanceof Deno.errors.AlreadyExists ||
    error instanceof Deno.errors.IsADirectory
  ) {
    return new CliError((error as Error).message, ExitCode.Failed);
  }
  return error;
}

/** The configuration in effect for reading. */
export interface Effective {
  config: RemoteConfig;
  /** `… defined both globally and individually, using individual`. */
  notices: string[];
}

/**
 * The system configuration: the system file, or — when there is none, as when Apptainer is
 * not installed — the built-in one that Apptainer ships (`DefaultRemote`). Undefined when the
 * user file is the system file itself.
 */
export async function readSystem(files: ConfigFiles): Promise<RemoteConfig | undefined> {
  if (files.userIsSystem) return undefined;
  return await readConfig(files.system) ?? builtinConfig();
}

/**
 * The user (or `--config`) file with the system configuration merged in, as Apptainer reads
 * it. Nothing is written.
 */
export async function readEffective(files: ConfigFiles): Promise<Effective> {
  const user = await readConfig(files.user);
  const system = await readSystem(files);
  const config = (user ?? RemoteConfig.empty(files.user)).clone();
  const notices = system === undefined ? [] : mergeSystemInto(config, system);
  if (config.remotes.length === 0) return { config: withBuiltinDefault(config), notices };
  return { config, notices };
}

/** A configuration with the built-in default remote merged in (credentials kept). */
export function withBuiltinDefault(config: RemoteConfig): RemoteConfig {
  mergeSystemInto(config, builtinConfig());
  return config;
}

/**
 * A system file that does not exist yet starts as the one Apptainer ships: `DefaultRemote`
 * (cloud.apptainer.org), active. Called under the folder's lock, before a change.
 */
export async function shippedUnlessExists(config: RemoteConfig, path: string): Promise<void> {
  const exists = await Deno.lstat(path).then(() => true, () => false);
  if (!exists) withBuiltinDefault(config);
}

/** Prints the merge notices. */
export function printNotices(notices: string[]): void {
  for (const notice of notices) log("info", notice);
}

/** Whether a configuration holds secrets: a remote token or a keyserver login. */
export function holdsSecrets(config: RemoteConfig): boolean {
  return config.remotes.some((r) => r.token !== "") ||
    config.credentials.some((c) => c.auth !== "");
}

/** The warning printed the first time a secret goes into a file. */
export function warnUnencrypted(path: string): void {
  log("warning", `credentials are stored unencrypted in ${path}`);
}

/** Tokens and passwords are not written into the system file, which every user can read. */
export function refuseSecretsInSystemFile(files: ConfigFiles): void {
  if (files.userIsSystem) {
    throw usageError(
      `logins are not stored in the system file ${files.user}, which every user can read: ` +
        "log in without --config, or with --config naming your own file",
    );
  }
}

/** Reads all of stdin as text. */
async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/** Password options of the login commands. */
export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/**
 * The password: `--password` (or `APPTAINER_LOGIN_PASSWORD`), `--password-stdin` (one
 * trailing newline removed), or a prompt without echo on a terminal.
 */
export async function readPassword(options: PasswordOptions, prompt: string): Promise<string> {
  if (options.password !== undefined && options.passwordStdin) {
    throw usageError("give either --password or --password-stdin, not both");
  }
  let password: string;
  if (options.passwordStdin) {
    password = await readStdin();
    if (password.endsWith("\n")) password = password.slice(0, -1);
    if (password.endsWith("\r")) password = password.slice(0, -1);
  } else if (options.password !== undefined) {
    password = options.password;
  } else if (envValue("LOGIN_PASSWORD") !== undefined) {
    password = envValue("LOGIN_PASSWORD")!;
  } else {
    if (!Deno.stdin.isTerminal()) {
      throw usageError(
        "a password is needed, but stdin is not a terminal: give --password-stdin (or --password)",
      );
    }
    password = await askSecret(prompt, "give --password-stdin");
  }
  if (password === "") throw usageError("a password is required");
  return password;
}

/** `Basic base64(user:pass)`. */
export function basicAuth(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/**
 * A GET request with a deadline. Transport failures (refused, DNS, TLS, timeout) become a
 * `CliError` (exit 1) that names the URL; the caller reads (or cancels) the body.
 */
export async function httpGet(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  what: string,
): Promise<Response> {
  try {
    return await fetch(url, {
      headers: { "User-Agent": "siftrust", ...headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new CliError(
      `${what}: cannot reach ${url}: ${fetchFailure(error, timeoutMs)}`,
      ExitCode.Failed,
    );
  }
}

/** Why a fetch failed, in a few words (Deno's own message is often just "fetch failed"). */
export function fetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === "TimeoutError") {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  if (error instanceof Deno.errors.NotCapable) return "siftrust lacks the --allow-net permission";
  const cause = (error as { cause?: unknown })?.cause;
  const message = cause instanceof Error
    ? cause.message
    : (error as Error)?.message ?? String(error);
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}

// ---------------------------------------------------------------------------------------------
// keyserver login / logout (also reached through `remote login|logout <url>`)

/** Whether an argument names a keyserver (http, https, hkp or hkps URL). */
export function isKeyserverUri(text: string): boolean {
  return /^(https?|hkps?):\/\//i.test(text);
}

/** Options of {@linkcode keyserverLogin}. */
export interface KeyserverLoginOptions extends PasswordOptions {
  username?: string;
  /** `remote login --insecure` (the `keyserver login` command has no such flag). */
  insecure?: boolean;
}

/** How long the login check may take. */
const LOGIN_TIMEOUT_MS = 5000;

/**
 * Logs in to an External keyserver: checks the credentials with a GET of the URL, then
 * stores the Authorization value as a `Credentials` entry of the user file, replacing any
 * entry for the same scheme and host.
 */
export async function keyserverLogin(
  files: ConfigFiles,
  uri: string,
  options: KeyserverLoginOptions,
): Promise<void> {
  refuseSecretsInSystemFile(files);
  const failed = `while login to ${uri}`;
  const base = keyserverBaseUrl(uri); // validates the scheme
  const { config } = await readEffective(files);
  const configured = config.remotes.flatMap((r) => r.keyservers)
    .find((k) => k.external && sameKeyserver(k.uri, uri));
  if (configured === undefined) {
    throw usageError(
      `${failed}: no external keyserver configuration found for ${uri} ` +
        "(an administrator adds one with 'siftrust keyserver add')",
    );
  }
  let insecure = options.insecure ?? false;
  if (configured.insecure && !insecure) {
    log("warning", `${uri} is configured as insecure, forcing insecure flag for login`);
    insecure = true;
  }
  const username = options.username ?? envValue("LOGIN_USERNAME") ?? "";
  const password = await readPassword(options, "Password / Token: ");
  const auth = username === "" ? `Bearer ${password}` : basicAuth(username, password);
  // The URL as given, with hkp/hkps turned into what they stand for.
  const given = new URL(uri);
  const target = `${base.origin}${given.pathname === "/" ? "/" : given.pathname}${given.search}`;
  const response = await httpGet(target, { Authorization: auth }, LOGIN_TIMEOUT_MS, failed);
  await response.body?.cancel();
  if (response.status !== 200) {
    throw new CliError(
      `${failed}: error response from server: ${response.status} ${response.statusText}`,
      ExitCode.Failed,
    );
  }
  const first = await updateConfig(files.user, USER_CONFIG_MODE, (c) => {
    const before = holdsSecrets(c);
    c.setCredentials([
      ...c.credentials.filter((cred) => !sameService(cred.uri, uri)),
      { uri, auth, insecure },
    ]);
    return !before;
  });
  if (first) warnUnencrypted(files.user);
  log("info", `Token stored in ${files.user}`);
}

/** Removes the stored logins for this keyserver's scheme and host (none is fine). */
export async function keyserverLogout(files: ConfigFiles, uri: string): Promise<void> {
  keyserverBaseUrl(uri);
  await removeCredentials(files.user, (c) => sameService(c.uri, uri));
  log("info", "Logout succeeded");
}

/** Removes matching `Credentials` entries; a file without any is not written (nor created). */
export async function removeCredentials(
  path: string,
  match: (credential: { uri: string }) => boolean,
): Promise<boolean> {
  const current = await readConfig(path);
  if (current === undefined || !current.credentials.some(match)) return false;
  return await updateConfig(path, USER_CONFIG_MODE, (c) => {
    const kept = c.credentials.filter((cred) => !match(cred));
    const changed = kept.length !== c.credentials.length;
    c.setCredentials(kept);
    return changed;
  });
}

// ---------------------------------------------------------------------------------------------
// keyserver add / remove

/** The target remote of `keyserver add|remove` in the system file. */
function targetRemote(config: RemoteConfig, name: string | undefined): Endpoint {
  const wanted = name ?? config.active;
  if (wanted === "") throw usageError("no endpoint found: no default remote");
  const endpoint = config.remote(wanted);
  if (endpoint === undefined) throw usageError(`no endpoint found: ${wanted} is not a remote`);
  if (!endpoint.system) throw usageError("current endpoint is not a system defined endpoint");
  return endpoint;
}

/** The remote's keyservers, with the discovered default filled in when it lists none. */
async function materialized(endpoint: Endpoint): Promise<KeyserverEntry[]> {
  if (endpoint.keyservers.length > 0) return endpoint.keyservers.map((k) => ({ ...k }));
  let uri: string | undefined;
  try {
    uri = (await discoverServices(endpoint)).get("keyserver");
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    throw new CliError(
      `cannot find the default keyserver of remote ${endpoint.name}: ${error.message}`,
      ExitCode.Failed,
    );
  }
  if (uri === undefined || uri === "") {
    throw new CliError(
      `keyserver is not a service at endpoint ${endpoint.uri} (remote ${endpoint.name})`,
      ExitCode.Failed,
    );
  }
  return [{ uri, skip: false, external: false, insecure: false }];
}

/** Inserts an entry so that it shows as number `order` among the non-skipped entries. */
function insertAtOrder(list: KeyserverEntry[], entry: KeyserverEntry, order: number): void {
  let seen = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i].skip) continue;
    if (++seen === order) {
      list.splice(i, 0, entry);
      return;
    }
  }
  list.push(entry);
}

/** Parses `--order`: a whole number (0 is refused, as in Apptainer). */
function parseOrder(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) > 0xffffffff) {
    throw usageError(`invalid --order "${text}": give a position from 1 up`);
  }
  const order = Number(text);
  if (order === 0) throw usageError("order must be > 0");
  return order;
}

/** `[remoteName] <url>` from the one or two arguments. */
function remoteAndUrl(first: string, second: string | undefined): [string | undefined, string] {
  return second === undefined ? [undefined, first] : [first, second];
}

function requireRoot(): void {
  if (!isRoot()) {
    throw usageError(
      "Unable to modify keyserver configuration: not root user (keyservers are set system-wide: run as root)",
    );
  }
}

// ---------------------------------------------------------------------------------------------
// keyserver list

/** The `keyserver list` text for these remotes. */
async function listText(config: RemoteConfig, only: string | undefined): Promise<string> {
  let remotes = [...config.remotes].sort((a, b) => compareBytes(a.name, b.name));
  if (only !== undefined) {
    remotes = remotes.filter((r) => r.name === only);
    if (remotes.length === 0) throw usageError(`no remote-endpoint with the name "${only}" found`);
  }
  const rows = await Promise.all(remotes.map(async (remote) => {
    let keyservers: KeyserverEntry[] | undefined;
    try {
      keyservers = (await materialized(remote)).filter((k) => !k.skip);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
    }
    const marks = `${remote.system ? "*" : ""}${remote.name === config.active ? "^" : ""}`;
    const lines = [`\n${remote.name}${marks === "" ? "" : ` ${marks}`}\n`];
    if (keyservers === undefined) {
      lines.push("   (unable to fetch associated keyserver info for this endpoint)\n");
    } else {
      keyservers.forEach((k, i) =>
        lines.push(`   #${i + 1}\t${k.uri}\t${k.insecure ? "" : "🔒"}\n`)
      );
    }
    return lines.join("");
  }));
  return tabwrite(`${rows.join("")}\n(* = system endpoint, ^ = default endpoint)\n`, 2);
}

/** Byte-wise string order (uppercase before lowercase), as Go's sort does. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The command group

/** Adds the `keyserver` command group to the program. */
export function registerKeyserver(program: Command): void {
  const group = program.command("keyserver")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust keyserver list\n  sudo siftrust keyserver add --order 1 https://keys.example.edu",
    )
    // Group options (`--config`) may follow the subcommand, as in Apptainer.
    .enablePositionalOptions(false)
    .description(
      "manage the ordered keyservers of the remotes (system-wide, root only) and your logins to them",
    )
    .option(
      "-c, --config <file>",
      "your remote configuration file (default: ~/.apptainer/remote.yaml)",
    );
  const files = () => configFiles(group.opts().config);

  group.command("add")
    .description(
      "add a keyserver to a system remote (the default one unless named); always edits " +
        "$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml; needs root",
    )
    .usage("[options] [remoteName] <keyserver_url>")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .option("-o, --order <n>", "position in the list, from 1 (default: last)")
    .option("-i, --insecure", "do not check the keyserver's TLS certificate")
    .addHelpText(
      "after",
      "\nExamples:\n  sudo siftrust keyserver add https://pgp.example.com\n" +
        "  sudo siftrust keyserver add --order 1 DefaultRemote hkps://keys.example.org",
    )
    .action(guarded(async (first, second, options) => {
      requireRoot();
      const [name, uri] = remoteAndUrl(first, second);
      if (uri === "") throw usageError("invalid URI: cannot have empty URI");
      keyserverBaseUrl(uri);
      const order = parseOrder(options.order);
      const path = files().system;
      const done = await updateConfig(path, SYSTEM_CONFIG_MODE, async (config) => {
        await shippedUnlessExists(config, path);
        const remote = targetRemote(config, name);
        const list = await materialized(remote);
        const maxOrder = list.filter((k) => !k.skip).length + 1;
        const at = order ?? maxOrder;
        if (at > maxOrder) throw usageError(`order is out of range: maximum is ${maxOrder}`);
        const index = list.findIndex((k) => sameKeyserver(k.uri, uri));
        let entry: KeyserverEntry = {
          uri,
          skip: false,
          external: true,
          insecure: !!options.insecure,
        };
        if (index !== -1) {
          const existing = list[index];
          if (existing.external || !existing.skip) throw usageError(`${uri} is already configured`);
          list.splice(index, 1);
          entry = { ...existing, skip: false };
        }
        insertAtOrder(list, entry, at);
        config.setRemote({ ...remote, keyservers: list });
        return { remote: remote.name, uri: entry.uri, at };
      });
      log("info", `Keyserver ${done.uri} added to remote "${done.remote}" as #${done.at}.`);
    }));

  group.command("remove")
    .description(
      "remove a keyserver from a system remote (the default one unless named); always edits " +
        "$SIFTRUST_SYSCONFDIR/apptainer/remote.yaml; needs root",
    )
    .usage("[options] [remoteName] <keyserver_url>")
    .argument("<remote-or-url>", "remote name, or the keyserver URL")
    .argument("[url]", "keyserver URL (when a remote name is given)")
    .addHelpText("after", "\nExample:\n  sudo siftrust keyserver remove https://pgp.example.com")
    .action(guarded(async (first, second) => {
      requireRoot();
      const [name, uri] = remoteAndUrl(first, second);
      if (uri === "") throw usageError("invalid URI: cannot have empty URI");
      const path = files().system;
      const done = await updateConfig(path, SYSTEM_CONFIG_MODE, async (config) => {
        await shippedUnlessExists(config, path);
        const remote = targetRemote(config, name);
        const list = await materialized(remote);
        const index = list.findIndex((k) => !k.skip && sameKeyserver(k.uri, uri));
        if (index === -1) throw usageError(`keyserver ${uri} is not configured`);
        if (list.filter((k) => !k.skip).length === 1) {
          throw usageError(`the primary keyserver ${list[index].uri} can't be removed`);
        }
        const removed = list[index];
        if (removed.external) list.splice(index, 1);
        else list[index] = { ...removed, skip: true };
        config.setRemote({ ...remote, keyservers: list });
        return { remote: remote.name, uri: removed.uri };
      });
      log("info", `Keyserver ${done.uri} removed from remote "${done.remote}".`);
    }));

  group.command("list")
    .description("list the keyservers of each remote (or of one), in the order they are tried")
    .argument("[remoteName]", "only this remote")
    .addHelpText("after", "\nExample:\n  siftrust keyserver list")
    .action(guarded(async (only) => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      print(await listText(config, only));
    }));

  group.command("login")
    .description("log in to a keyserver that an administrator added (checked before it is stored)")
    .argument("<keyserver_url>", "the keyserver URL, as `siftrust keyserver list` shows it")
    .option("-u, --username <name>", "user name (env APPTAINER_LOGIN_USERNAME); none: a token")
    .addOption(
      new Option("-p, --password <secret>", "password or token (env APPTAINER_LOGIN_PASSWORD)"),
    )
    .option("--password-stdin", "read the password or token from stdin")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust keyserver login --username me https://pgp.example.com\n" +
        '  echo "$TOKEN" | siftrust keyserver login --password-stdin https://pgp.example.com',
    )
    .action(guarded(async (uri, options) => {
      await keyserverLogin(files(), uri, options);
    }));

  group.command("logout")
    .description("forget your login to a keyserver")
    .argument("[keyserver_url]", "the keyserver URL")
    .addHelpText("after", "\nExample:\n  siftrust keyserver logout https://pgp.example.com")
    .action(guarded(async (uri) => {
      if (uri === undefined || uri === "") {
        throw usageError(
          "give the keyserver URL to log out of, e.g. siftrust keyserver logout https://pgp.example.com",
        );
      }
      await keyserverLogout(files(), uri);
    }));
}
