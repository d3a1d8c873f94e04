/**
 * Plumbing of the `remote` and `keyserver` commands: reading a password or username from
 * the flags, the environment, stdin or a prompt; printing the notices and warnings of a
 * configuration change; the keyserver and registry login and logout flows, which several
 * groups reach (`keyserver login`, `registry login`, and the deprecated
 * `remote login <URL>`); and the endpoint login flow of `remote add` and `remote login`.
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
import { registryLogin, registryLogout, type RegistryTarget } from "../core/registry/mod.ts";
import type { Wording } from "./config_errors.ts";
import { usageError } from "./exit.ts";
import { log } from "./output.ts";
import { ask, askSecret, readPipedLine } from "./prompt.ts";

/** The environment, as core/config reads it. */
export const env = (name: string): string | undefined => Deno.env.get(name);

const encoder = new TextEncoder();

/**
 * A secret: typed without echo on a terminal; otherwise, as Apptainer does, the prompt is
 * shown and the next line of stdin is the answer ("" at the end of input).
 */
async function promptSecret(prompt: string, alternative: string): Promise<string> {
  if (Deno.stdin.isTerminal()) return await askSecret(prompt, alternative);
  Deno.stderr.writeSync(encoder.encode(`${prompt}\n`));
  return await readPipedLine();
}

/** An answer: read on a terminal, or the next line of a stdin that is not one. */
async function promptLine(question: string, alternative: string): Promise<string> {
  if (Deno.stdin.isTerminal()) return await ask(question, alternative);
  Deno.stderr.writeSync(encoder.encode(`${question}\n`));
  return await readPipedLine();
}

/** Password flags of the login commands. */
export interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
}

/**
 * The password: `--password` (or `APPTAINER_LOGIN_PASSWORD`), `--password-stdin` (one
 * trailing newline removed), or a prompt: without echo on a terminal, else the next line of
 * stdin.
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
    password = await promptSecret(prompt, "give --password-stdin");
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
      throw usageError("Docker/OCI registry requires a username: give --username");
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

/** Flags of a registry login. */
export interface RegistryLoginOptions extends PasswordOptions {
  username?: string;
  /** Allow plain http (`remote login --insecure`; `registry login` has no such flag). */
  insecure: boolean;
  /** `--authfile`. */
  authfile?: string;
}

/** Logs in to an OCI registry: reads the username and password, then checks and stores. */
export async function loginToRegistry(
  files: ConfigFiles,
  target: RegistryTarget,
  options: RegistryLoginOptions,
): Promise<void> {
  const username = await readRegistryUsername(options);
  const password = await readPassword(options, "Password / Token: ");
  const { insecure, authfile: authFile } = options;
  const stored = await registryLogin(files, target, {
    username,
    password,
    insecure,
    env,
    authFile,
  });
  reportStored(stored.authFile, stored.firstSecret);
}

/** Forgets a registry login, and says what became of the secret (Apptainer's lines). */
export async function logoutOfRegistry(
  files: ConfigFiles,
  target: RegistryTarget,
  authFile?: string,
): Promise<void> {
  const done = await registryLogout(files, target, { env, authFile });
  if (done.secret === "absent") {
    log("warning", `There is no existing login to registry "${target.host}".`);
  } else if (done.secret === "kept") {
    const other = target.scheme === "docker" ? "oras" : "docker";
    log("info", `Token kept in ${done.authFile}: ${other}://${target.host} still uses it`);
  } else {
    log("info", `Token removed from ${done.authFile}`);
  }
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
): Promise<void> {
  refuseSecretsInSystemFile(files);
  let token: string;
  if (tokenfile !== undefined) {
    token = await readTokenFile(tokenfile);
  } else {
    const alternative = "give --tokenfile FILE";
    if (endpoint.token !== "") {
      const answer = await promptLine(
        "An access token is already set for this remote. Replace it? [y/N] ",
        alternative,
      );
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const scheme = endpoint.insecure ? "http" : "https";
    Deno.stderr.writeSync(encoder.encode(
      `Generate an access token at ${scheme}://${endpoint.uri}/auth/tokens, and paste it here.\n` +
        "Token entered will be hidden for security.\n",
    ));
    token = (await promptSecret("Access Token: ", alternative)).trim();
    if (token === "") {
      log("info", "No token entered: not logged in.");
      return;
    }
  }
  const { firstSecret } = await endpointLogin(files, endpoint, token);
  log("info", "Access Token Verified!");
  reportStored(files.user, firstSecret);
}
