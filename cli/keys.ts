/**
 * The key material of a command, from the one configuration resolution
 * (core/config/resolve.ts): this process's run context, the verification keyrings and
 * keyservers of `verify`, the primary keyserver of the `key` commands, and the messages the
 * resolution has for the user.
 *
 * @module
 */

import { geteuid } from "node:process";
import {
  accountHome,
  DEFAULT_KEYSERVER,
  type Keyserver,
  type KeyserverChoice,
  type Resolution,
  ResolutionError,
  resolveRun,
  type RunContext,
  SANITIZED_COMMANDS,
} from "../core/config/mod.ts";
import {
  chainFinders,
  type KeyFinder,
  KeyringError,
  type KeySet,
  loadKeySet,
} from "../core/keys/mod.ts";
import { RemoteKeyFinder, type RemoteKeyWarning } from "../core/keyserver/mod.ts";
import { untrustedInput } from "../policy/trust_path.ts";
import { CliError, ExitCode } from "./exit.ts";
import { log } from "./output.ts";
import { configProblemText } from "./render/config_problems.ts";
import { untrustedText } from "./render/untrusted_text.ts";

/** The command's part of a run context: its name and options, and a policy's key block. */
export type RunOptions = Omit<RunContext, "env" | "uid" | "euid" | "accountHome">;

/**
 * The run context of this process: its environment and user, and the command's options
 * (`command: "exec"` or `"admit"` for runs that decide on behalf of their invoker; they also
 * get the effective user's home from the account database).
 */
export function runContext(options: RunOptions = {}): RunContext {
  const uid = Deno.uid() ?? 0;
  const euid = geteuid?.() ?? uid;
  const home = SANITIZED_COMMANDS.includes(options.command ?? "") ? accountHome(euid) : undefined;
  return {
    env: Deno.env.toObject(),
    uid,
    euid,
    ...(home === undefined ? {} : { accountHome: home }),
    ...options,
  };
}

/** The configuration resolution of this run. */
export function resolveThisRun(options: RunOptions = {}): Resolution {
  return resolveRun(runContext(options));
}

/** The keyring paths (and the other locations) of this run. */
export function locations(): Resolution["locations"] {
  return resolveThisRun().locations;
}

/**
 * The keyservers of a resolution, with its messages printed (and Apptainer's warning when the
 * built-in default remote is used). A configuration that cannot be used ends the command with
 * `prefix` and the reason (exit 2).
 */
export async function keyserverChoice(
  resolution: Resolution,
  prefix: string,
): Promise<KeyserverChoice> {
  let choice: KeyserverChoice;
  try {
    choice = await resolution.keyservers();
  } catch (error) {
    if (!(error instanceof ResolutionError)) throw error;
    throw new CliError(`${prefix}${configProblemText(error)}`, ExitCode.Usage);
  }
  printMessages(choice);
  return choice;
}

/** The primary keyserver (`key search|pull|push`, `newpair --push`); exit 2 without one. */
export async function primaryKeyserver(resolution: Resolution): Promise<Keyserver> {
  const prefix = "Keyserver client failed: ";
  await keyserverChoice(resolution, prefix);
  try {
    return (await resolution.primaryKeyserver()).keyserver;
  } catch (error) {
    if (!(error instanceof ResolutionError)) throw error;
    throw new CliError(`${prefix}${configProblemText(error)}`, ExitCode.Usage);
  }
}

function printMessages(choice: KeyserverChoice): void {
  for (const { level, text } of choice.messages.filter((m) => m.level === "info")) {
    log(level, text);
  }
  if (choice.source === "builtin") {
    log(
      "warning",
      `No default remote in use, falling back to default keyserver: ${DEFAULT_KEYSERVER}`,
    );
  }
  for (const { level, text } of choice.messages.filter((m) => m.level === "warning")) {
    log(level, text);
  }
}

/** Loads the keys verify uses: global, then the user's, then `files`. */
export async function verificationKeys(resolution: Resolution, files: string[]): Promise<KeySet> {
  const { globalKeyring, publicKeyring } = resolution.locations;
  try {
    const { keys, skipped } = await loadKeySet({
      globalKeyring,
      localKeyring: publicKeyring,
      files,
    });
    for (const { path, reason } of skipped) {
      log("warning", `skipping a key in ${path} that siftrust cannot use: ${reason}`);
    }
    return keys;
  } catch (error) {
    if (error instanceof KeyringError) {
      throw new CliError(`${error.message}: fix or replace the keyring file`, ExitCode.Usage);
    }
    throw error;
  }
}

/** How verify may use keyservers. */
export interface RemoteKeyOptions {
  /**
   * `--local`: keyrings only. Neither the network nor the cache of keys fetched from
   * keyservers is used: `verify --local` accepts only keys the user (or the administrator) put
   * in a keyring, or named with `--keyring`, which is what scripts that pass `--local` count on.
   * A cached key, although local data, was never chosen by the user.
   */
  local: boolean;
  /** `--url`: this keyserver only, without credentials (when the configuration allows it). */
  url?: string;
}

/** What {@linkcode verificationFinder} returns. */
export interface VerificationFinder {
  /** Global → local → `--keyring` files → keyservers (unless `--local`). */
  keys: KeyFinder;
  /** The keyserver part, when there is one. */
  remote?: RemoteKeyFinder;
}

/**
 * The key lookup of `verify`: the keyrings, then (unless `--local`) the keyservers of the
 * active remote, or `--url`. The configuration is only read, and keyservers only asked, when
 * a signature's key is in no keyring. Keyserver failures are printed as warnings
 * (`WARNING: failed to get key material: …`) and do not stop verification; a configuration
 * that cannot be used does (exit 2).
 */
export async function verificationFinder(
  files: string[],
  options: RemoteKeyOptions,
): Promise<VerificationFinder> {
  const resolution = resolveThisRun({ local: options.local, url: options.url });
  if (resolution.enforcement.enforcing) {
    // Root's verify: the keyrings and the key cache must be root's, as for check.
    const { globalKeyring, publicKeyring, keyCacheDir } = resolution.locations;
    const problem = await untrustedInput({
      files: [globalKeyring, publicKeyring],
      caches: options.local ? [] : [keyCacheDir],
    }, resolution);
    if (problem !== undefined) throw new CliError(untrustedText(problem), ExitCode.Usage);
  }
  const keyrings = await verificationKeys(resolution, files);
  if (options.local) return { keys: keyrings };
  const remote = new RemoteKeyFinder({
    keyservers: async () =>
      (await keyserverChoice(resolution, "Error while getting keyserver client config: "))
        .keyservers,
    cacheDir: resolution.locations.keyCacheDir,
    onWarning: logRemoteWarning,
  });
  return { keys: chainFinders(keyrings, remote), remote };
}

/**
 * A finder that asks these keyservers, in order, for keys no keyring has (with the key
 * cache in `cacheDir`; warnings printed as they arise).
 */
export function remoteKeyFinder(keyservers: Keyserver[], cacheDir: string): RemoteKeyFinder {
  return new RemoteKeyFinder({ keyservers, cacheDir, onWarning: logRemoteWarning });
}

/** Prints a keyserver warning; a 401 first gets the login help. */
export function logRemoteWarning(warning: RemoteKeyWarning): void {
  if (warning.status === 401) printLoginHelp();
  log("warning", warning.message);
}

/** The INFO block printed when a keyserver answers 401 (`extra`: more steps). */
export function printLoginHelp(extra: string[] = []): void {
  for (
    const line of [
      "Access token is expired or missing. To update or obtain a token:",
      '  1) View configured remotes and keyservers using "siftrust remote list" and "siftrust keyserver list"',
      "  2) Identify the remote or keyserver in use (the default remote is marked)",
      '  3) Log in with "siftrust remote login <RemoteName>", or for a keyserver added with',
      '     "siftrust keyserver add", with "siftrust keyserver login <keyserver URL>"',
      ...extra,
    ]
  ) log("info", line);
}
