/**
 * Plumbing of the `remote` and `keyserver` commands: reading a password or username from
 * the flags, the environment, stdin or a prompt; printing the notices and warnings of a
 * configuration change; the keyserver login and logout flows, which both groups reach
 * (`keyserver login`, and the deprecated `remote login <keyserver URL>`); and the endpoint
 * login flow of `remote add` and `remote login`.
 *
 * @module
 */

import {
  apptainerEnv,
  type ConfigFiles,
  type Endpoint,
  endpointLogin,
  keyserverLogin,
  keyserverLoginTarget,
  keyserverLogout,
  readTokenFile,
  refuseSecretsInSystemFile,
} from "../core/config/mod.ts";
import type { Wording } from "./config_errors.ts";
import { usageError } from "./exit.ts";
import { log } from "./output.ts";
import { ask, askSecret } from "./prompt.ts";

/** The environment, as core/config reads it. */
export const env = (name: string): string | undefined => Deno.env.get(name);

/** Password flags of the login commands. */
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
  const fromEnv = apptainerEnv(env, "LOGIN_PASSWORD");
  if (options.passwordStdin) {
    password = await new Response(Deno.stdin.readable).text();
    if (password.endsWith("\n")) password = password.slice(0, -1);
    if (password.endsWith("\r")) password = password.slice(0, -1);
  } else if (options.password !== undefined) {
    password = options.password;
  } else if (fromEnv !== undefined) {
    password = fromEnv;
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

/** The username of a registry login: `--username`, `APPTAINER_LOGIN_USERNAME`, or a prompt. */
export async function readRegistryUsername(
  options: { username?: string; passwordStdin?: boolean },
): Promise<string> {
  let username = options.username ?? apptainerEnv(env, "LOGIN_USERNAME");
  if (username === undefined) {
    if (!Deno.stdin.isTerminal() || options.passwordStdin) {
      throw usageError("a username is needed: give --username");
    }
    username = await ask("Username: ", "give --username");
  }
  if (username === "") throw usageError("a username is required for a registry: give --username");
  return username;
}

/** Prints the merge notices of a configuration read. */
export function printNotices(notices: string[]): void {
  for (const notice of notices) log("info", notice);
}

/** After a login: the warning the first time a secret goes into a file, and where it went. */
export function reportStored(path: string, firstSecret: boolean): void {
  if (firstSecret) log("warning", `credentials are stored unencrypted in ${path}`);
  log("info", `Token stored in ${path}`);
}

/** Flags of a keyserver login. */
export interface KeyserverLoginOptions extends PasswordOptions {
  username?: string;
  /** `remote login --insecure` (the `keyserver login` command has no such flag). */
  insecure: boolean;
}

/**
 * Logs in to an External keyserver: finds it, warns when its configuration forces an
 * insecure login, reads the password, then lets core/config check and store the login.
 */
export async function loginToKeyserver(
  files: ConfigFiles,
  uri: string,
  options: KeyserverLoginOptions,
): Promise<void> {
  const target = await keyserverLoginTarget(files, uri, options.insecure);
  if (target.forcedInsecure) {
    log("warning", `${uri} is configured as insecure, forcing insecure flag for login`);
  }
  const username = options.username ?? apptainerEnv(env, "LOGIN_USERNAME") ?? "";
  const password = await readPassword(options, "Password / Token: ");
  const { firstSecret } = await keyserverLogin(files, target, { username, password });
  reportStored(files.user, firstSecret);
}

/** Forgets the logins to a keyserver's scheme and host. */
export async function logoutOfKeyserver(files: ConfigFiles, uri: string): Promise<void> {
  await keyserverLogout(files, uri);
  log("info", "Logout succeeded");
}

/** Wording of keyserver login failures. */
export const KEYSERVER_LOGIN_WORDING: Wording = {
  "no-external-keyserver": (message) =>
    `${message} (an administrator adds one with 'siftrust keyserver add')`,
};

/**
 * The endpoint login flow: the token from `--tokenfile` or the prompts, checked against the
 * endpoint's token service, then stored in the user file (only after a good check).
 */
export async function loginToEndpoint(
  files: ConfigFiles,
  endpoint: Endpoint,
  tokenfile: string | undefined,
  adding = false,
): Promise<void> {
  refuseSecretsInSystemFile(files);
  let token: string;
  if (tokenfile !== undefined) {
    token = await readTokenFile(tokenfile);
  } else {
    const alternative = "give --tokenfile FILE";
    if (!Deno.stdin.isTerminal()) {
      throw usageError(
        adding
          ? "the remote was added, but logging in to it needs an access token and stdin is not " +
            `a terminal: run 'siftrust remote login --tokenfile FILE ${endpoint.name}' ` +
            "(next time, add with --no-login or --tokenfile FILE)"
          : `an access token is needed, but stdin is not a terminal: ${alternative}`,
      );
    }
    if (endpoint.token !== "") {
      const answer = await ask(
        "An access token is already set for this remote. Replace it? [y/N] ",
        alternative,
      );
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const scheme = endpoint.insecure ? "http" : "https";
    Deno.stderr.writeSync(new TextEncoder().encode(
      `Generate an access token at ${scheme}://${endpoint.uri}/auth/tokens, and paste it here.\n` +
        "Token entered will be hidden for security.\n",
    ));
    token = (await askSecret("Access Token: ", alternative)).trim();
    if (token === "") {
      log("info", "No token entered: nothing changed.");
      return;
    }
  }
  const { firstSecret } = await endpointLogin(files, endpoint, token);
  log("info", "Access Token Verified!");
  reportStored(files.user, firstSecret);
}
