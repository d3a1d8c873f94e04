/**
 * `siftrust remote`: Apptainer's remote endpoints in Apptainer's own `remote.yaml` files —
 * add, remove, use, list, status — and logins: endpoint access tokens, and OCI registry
 * credentials (`docker://HOST`, `oras://HOST`) kept as Apptainer keeps them.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import {
  activeEndpoint,
  discoverServices,
  DiscoveryError,
  type Endpoint,
  mergeSystemInto,
  readConfig,
  type RemoteConfig,
  sameService,
  SYSTEM_CONFIG_MODE,
  updateConfig,
  USER_CONFIG_MODE,
} from "../../core/config/mod.ts";
import { writeFileAtomic } from "../../core/files/atomic.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { log, print } from "../output.ts";
import { ask, askSecret } from "../prompt.ts";
import { tabwrite } from "../render/tabwriter.ts";
import {
  basicAuth,
  compareBytes,
  type ConfigFiles,
  configFiles,
  envFlag,
  envValue,
  guarded,
  holdsSecrets,
  httpGet,
  isKeyserverUri,
  isRoot,
  keyserverLogin,
  keyserverLogout,
  type PasswordOptions,
  printNotices,
  readEffective,
  readPassword,
  readSystem,
  refuseSecretsInSystemFile,
  shippedUnlessExists,
  warnUnencrypted,
} from "./keyserver.ts";

/** How long the token check may take (as Apptainer). */
const TOKEN_TIMEOUT_MS = 10_000;
/** How long the registry credential check may take. */
const REGISTRY_TIMEOUT_MS = 5000;
/** How long `remote status` waits for discovery and for each service. */
const STATUS_TIMEOUT_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Targets and checks

/** The file `--global` or `--config` names, and whether it is the system file. */
function targetFile(files: ConfigFiles, global: boolean | undefined): [string, boolean] {
  if (global) {
    if (!isRoot()) {
      throw usageError(
        "Unable to modify global endpoint configuration file: not root user (run as root, or drop --global)",
      );
    }
    return [files.system, true];
  }
  return [files.user, files.userIsSystem];
}

/**
 * The endpoint URI as Apptainer stores it: host and path, no scheme, cleaned, no trailing
 * slash. `http://` needs `insecure`; returns whether the remote is insecure.
 */
export function normalizeEndpointUri(uri: string, insecure: boolean): [string, boolean] {
  if (uri.trim() === "") throw usageError("invalid URI: cannot have empty URI");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  let rest = uri;
  if (scheme !== undefined) {
    if (scheme === "https") {
      if (insecure) log("info", "--insecure ignored for https remote");
      insecure = false;
    } else if (scheme === "http") {
      if (!insecure) {
        throw usageError("http URI requires --insecure or APPTAINER_ADD_INSECURE=true");
      }
    } else {
      throw usageError(
        `invalid URI "${uri}": a remote endpoint is a host name, optionally with https:// (or http:// and --insecure)`,
      );
    }
    rest = uri.slice(scheme.length + 3);
  }
  rest = rest.replace(/[?#].*$/, "");
  const parts: string[] = [];
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  const cleaned = parts.join("/");
  if (cleaned === "" || /\s/.test(cleaned)) throw usageError(`invalid URI "${uri}": no host name`);
  return [cleaned, insecure];
}

/** The exclusivity rule of `remote use` on a user file. */
function checkExclusive(config: RemoteConfig, name: string, system?: RemoteConfig): void {
  const exclusive = [...config.remotes, ...(system?.remotes ?? [])]
    .find((r) => r.exclusive && r.name !== name);
  if (exclusive !== undefined) {
    throw usageError(
      `could not use ${name}: remote ${exclusive.name} has been set exclusive by the system administrator`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoint tokens

/** A token's check failed with this status, as Apptainer words it. */
function tokenStatusText(status: number): string {
  return status === 404
    ? "Invalid Credentials"
    : status === 500
    ? "Internal Server Error"
    : "Unknown";
}

/** The endpoint's token service (`tokenAPI`), by service discovery. */
async function tokenService(endpoint: Endpoint, timeoutMs: number): Promise<string> {
  const services = await discoverServices(endpoint, timeoutMs);
  const uri = services.get("token");
  if (uri === undefined || uri === "") {
    throw new CliError(
      `remote ${endpoint.name} (${endpoint.uri}) has no token service, so there is nothing to log in to`,
      ExitCode.Failed,
    );
  }
  return uri.replace(/\/+$/, "");
}

/** Checks a token: `GET <tokenAPI>/v1/token-status`; whether it is valid. */
async function tokenValid(endpoint: Endpoint, token: string): Promise<boolean> {
  let service: string;
  try {
    service = await tokenService(endpoint, TOKEN_TIMEOUT_MS);
  } catch (error) {
    if (error instanceof DiscoveryError) {
      throw new CliError(`while verifying token: ${error.message}`, ExitCode.Failed);
    }
    throw error;
  }
  const response = await httpGet(
    `${service}/v1/token-status`,
    { Authorization: `Bearer ${token}` },
    TOKEN_TIMEOUT_MS,
    "while verifying token",
  );
  await response.body?.cancel();
  if (response.status === 200) return true;
  throw new CliError(
    `while verifying token: error response from server: ${tokenStatusText(response.status)}`,
    ExitCode.Failed,
  );
}

/** Reads the token from `--tokenfile`: its first line, 200 to 4096 characters. */
async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw usageError(`cannot read token file ${path}: ${reason}`);
  }
  const token = text.split("\n")[0].replace(/\r$/, "").trim();
  if (token.length < 200 || token.length > 4096) {
    throw usageError(
      `the token in ${path} has ${token.length} characters: an access token has 200 to 4096`,
    );
  }
  return token;
}

/**
 * The endpoint login flow: the token from `--tokenfile` or the prompts, checked against the
 * endpoint's token service, then stored in the user file (only after a good check).
 */
async function endpointLogin(
  path: string,
  endpoint: Endpoint,
  tokenfile: string | undefined,
  adding = false,
): Promise<void> {
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
  await tokenValid(endpoint, token);
  log("info", "Access Token Verified!");
  const first = await updateConfig(path, USER_CONFIG_MODE, (config) => {
    const before = holdsSecrets(config);
    const mine = config.remote(endpoint.name);
    config.setRemote({ ...(mine ?? { ...endpoint, system: true }), token });
    return !before;
  });
  if (first) warnUnencrypted(path);
  log("info", `Token stored in ${path}`);
}

// ---------------------------------------------------------------------------------------------
// OCI registries

/** `docker://HOST` or `oras://HOST`: the scheme and the host (with port). */
function registryTarget(text: string): { scheme: string; host: string } | undefined {
  const match = /^(docker|oras):\/\/([^/?#]+)\/*$/i.exec(text);
  if (match === null) {
    if (/^(docker|oras):\/\//i.test(text)) {
      throw usageError(`invalid registry "${text}": give docker://HOST or oras://HOST[:PORT]`);
    }
    return undefined;
  }
  return { scheme: match[1].toLowerCase(), host: match[2].toLowerCase() };
}

/** The `docker-config.json` next to a `remote.yaml`. */
function dockerConfigPath(remoteYaml: string): string {
  const slash = remoteYaml.lastIndexOf("/");
  return `${slash === -1 ? "." : remoteYaml.slice(0, slash) || ""}/docker-config.json`;
}

/** Docker's client configuration (`{"auths": {HOST: {"auth": …}}}` and whatever else). */
type DockerConfig = { auths?: Record<string, unknown> } & Record<string, unknown>;

async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, ExitCode.Failed);
  }
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${path} is not valid JSON (${(error as Error).message}): fix or remove it`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw usageError(`${path} must hold a JSON object such as {"auths": {}}`);
  }
  const config = value as DockerConfig;
  if (
    config.auths !== undefined &&
    (typeof config.auths !== "object" || config.auths === null || Array.isArray(config.auths))
  ) {
    throw usageError(`${path}: "auths" must be a JSON object`);
  }
  return config;
}

async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  const text = `${JSON.stringify(config, null, "\t")}\n`;
  await writeFileAtomic(path, new TextEncoder().encode(text), 0o600);
}

/** Reads a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge. */
function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (header === null || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) {
    params[m[1].toLowerCase()] = m[2];
  }
  return params.realm === undefined ? undefined : params;
}

/**
 * Checks registry credentials: `GET /v2/` with Basic auth. A registry that answers with a
 * Bearer challenge (token authentication) gets the credentials at its token realm instead.
 */
async function checkRegistryLogin(
  target: { scheme: string; host: string },
  auth: string,
  insecure: boolean,
): Promise<void> {
  const what = `while login to ${target.scheme}://${target.host}`;
  const host = target.host === "docker.io" ? "registry-1.docker.io" : target.host;
  const url = `${insecure ? "http" : "https"}://${host}/v2/`;
  const response = await httpGet(url, { Authorization: auth }, REGISTRY_TIMEOUT_MS, what);
  await response.body?.cancel();
  if (response.status === 200) return;
  const challenge = response.status === 401
    ? bearerChallenge(response.headers.get("WWW-Authenticate"))
    : undefined;
  let status = response.status;
  let statusText = response.statusText;
  let checked = url;
  if (challenge !== undefined) {
    const realm = new URL(challenge.realm);
    if (challenge.service !== undefined) realm.searchParams.set("service", challenge.service);
    if (challenge.scope !== undefined) realm.searchParams.set("scope", challenge.scope);
    checked = realm.href;
    const token = await httpGet(checked, { Authorization: auth }, REGISTRY_TIMEOUT_MS, what);
    await token.body?.cancel();
    if (token.status === 200) return;
    [status, statusText] = [token.status, token.statusText];
  }
  if (status === 401 || status === 403) {
    throw new CliError(
      `${what}: the registry refused the username or password (${status} ${statusText}); ` +
        "nothing was stored",
      ExitCode.Failed,
    );
  }
  throw new CliError(
    `${what}: unexpected answer from ${checked}: ${status} ${statusText}; nothing was stored`,
    ExitCode.Failed,
  );
}

interface RegistryLoginOptions extends PasswordOptions {
  username?: string;
  insecure?: boolean;
}

/**
 * Logs in to an OCI registry: checks the credentials against its `/v2/` first, then stores
 * the secret in `docker-config.json` (0600) and a `Credentials` entry without `Auth` in the
 * user file, both under the folder's lock. A failed check changes nothing.
 */
async function registryLogin(
  files: ConfigFiles,
  target: { scheme: string; host: string },
  options: RegistryLoginOptions,
): Promise<void> {
  refuseSecretsInSystemFile(files);
  let username = options.username ?? envValue("LOGIN_USERNAME");
  if (username === undefined) {
    if (!Deno.stdin.isTerminal() || options.passwordStdin) {
      throw usageError("a username is needed: give --username");
    }
    username = await ask("Username: ", "give --username");
  }
  if (username === "") throw usageError("a username is required for a registry: give --username");
  const password = await readPassword(options, "Password / Token: ");
  const insecure = options.insecure || envFlag("LOGIN_INSECURE");
  const auth = basicAuth(username, password);
  await checkRegistryLogin(target, auth, insecure);
  const uri = `${target.scheme}://${target.host}`;
  const dockerPath = dockerConfigPath(files.user);
  const first = await updateConfig(files.user, USER_CONFIG_MODE, async (config) => {
    // The folder is locked: docker-config.json sits next to remote.yaml.
    const docker = await readDockerConfig(dockerPath);
    const before = Object.keys(docker.auths ?? {}).length > 0;
    docker.auths = { ...(docker.auths ?? {}), [target.host]: { auth: auth.slice(6) } };
    await writeDockerConfig(dockerPath, docker);
    config.setCredentials([
      ...config.credentials.filter((c) => !sameService(c.uri, uri)),
      { uri, auth: "", insecure },
    ]);
    return !before;
  });
  if (first) warnUnencrypted(dockerPath);
  log("info", `Token stored in ${dockerPath}`);
}

/** Forgets a registry login: the `Credentials` entry and the docker-config.json secret. */
async function registryLogout(
  files: ConfigFiles,
  target: { scheme: string; host: string },
): Promise<void> {
  const uri = `${target.scheme}://${target.host}`;
  const dockerPath = dockerConfigPath(files.user);
  const existing = await readConfig(files.user);
  const docker = await readDockerConfig(dockerPath);
  const inDocker = docker.auths !== undefined && target.host in docker.auths;
  if (existing?.credentials.some((c) => sameService(c.uri, uri)) || inDocker) {
    await updateConfig(files.user, USER_CONFIG_MODE, async (config) => {
      const kept = config.credentials.filter((c) => !sameService(c.uri, uri));
      config.setCredentials(kept);
      // docker:// and oras:// logins to one host share its docker-config.json entry.
      const other = `${target.scheme === "docker" ? "oras" : "docker"}://${target.host}`;
      if (kept.some((c) => sameService(c.uri, other))) return;
      const current = await readDockerConfig(dockerPath);
      if (current.auths !== undefined && target.host in current.auths) {
        delete current.auths[target.host];
        await writeDockerConfig(dockerPath, current);
      }
    });
  }
  log("info", "Logout succeeded");
}

// ---------------------------------------------------------------------------------------------
// list and status

/** The `remote list` table. */
function listText(config: RemoteConfig): string {
  const check = (on: boolean) => (on ? "✓" : "");
  const rows = [...config.remotes].sort((a, b) => compareBytes(a.name, b.name)).map((r) =>
    [
      r.name,
      r.uri,
      check(r.name === config.active),
      check(r.system),
      check(r.exclusive),
      r.insecure ? "✗!" : "✓",
    ].join("\t")
  );
  return `\n${
    tabwrite(
      ["NAME\tURI\tDEFAULT?\tGLOBAL?\tEXCLUSIVE?\tSECURE?", ...rows].map((l) => `${l}\n`).join(""),
      2,
    )
  }`;
}

/** A service's version from its `/version` answer (`{"data": {"version"}}` or `{"version"}`). */
function versionOf(body: unknown): string {
  const data = (body as { data?: { version?: unknown } })?.data;
  const version = data?.version ?? (body as { version?: unknown })?.version;
  return typeof version === "string" ? version : "";
}

/** The endpoint for `status`/`login`: named, or the default one. */
function endpointFor(config: RemoteConfig, name: string | undefined): Endpoint {
  if (name === undefined) return activeEndpoint(config);
  const endpoint = config.remote(name);
  if (endpoint === undefined) throw usageError(`${name} is not a remote`);
  return endpoint;
}

async function status(config: RemoteConfig, name: string | undefined): Promise<void> {
  log(
    "info",
    name === undefined
      ? "Checking status of default remote."
      : `Checking status of remote: ${name}`,
  );
  const endpoint = endpointFor(config, name);
  let services: Map<string, string>;
  try {
    services = await discoverServices(endpoint, STATUS_TIMEOUT_MS);
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    throw new CliError(
      `cannot check remote ${endpoint.name} (${endpoint.uri}): ${error.message}`,
      ExitCode.Failed,
    );
  }
  const names = [...services.keys()].sort(compareBytes);
  const rows = await Promise.all(names.map(async (service) => {
    const uri = services.get(service)!;
    let state = "N/A";
    let version = "";
    try {
      const response = await fetch(`${uri.replace(/\/+$/, "")}/version`, {
        headers: { "User-Agent": "siftrust" },
        signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
      });
      if (response.status === 200) {
        state = "OK";
        version = versionOf(await response.json().catch(() => undefined));
      } else {
        await response.body?.cancel();
      }
    } catch {
      // Unreachable: N/A.
    }
    return `${service}\t${state}\t${version}\t${uri}\n`;
  }));
  print(`\n${tabwrite(`SERVICE\tSTATUS\tVERSION\tURI\n${rows.join("")}`, 2)}\n`);
  if (endpoint.token === "") {
    print("No authentication token set (logged out).\n");
    return;
  }
  try {
    await tokenValid(endpoint, endpoint.token);
  } catch (error) {
    if (error instanceof CliError && /error response from server/.test(error.message)) {
      print("Authentication token is invalid (please login again).\n");
      throw new CliError(`the token of remote ${endpoint.name} is not valid`, ExitCode.Failed);
    }
    throw error;
  }
  print("Valid authentication token set (logged in).\n");
}

// ---------------------------------------------------------------------------------------------
// The command group

/** Adds the `remote` command group to the program. */
export function registerRemote(program: Command): void {
  const group = program.command("remote")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote list\n  siftrust remote add --no-login site cloud.example.edu\n  siftrust remote login --username me docker://registry.example.edu",
    )
    // Group options (`--config`) may follow the subcommand, as in Apptainer.
    .enablePositionalOptions(false)
    .description(
      "manage remote endpoints (yours and, as root, the system's) and logins to remotes and OCI registries",
    )
    .option(
      "-c, --config <file>",
      "your remote configuration file (default: ~/.apptainer/remote.yaml)",
    );
  const files = () => configFiles(group.opts().config);

  group.command("add")
    .description("add a remote endpoint; it becomes the default unless --no-default")
    .argument("<name>", "a name for the remote")
    .argument("<URI>", "its address, e.g. enterprise.example.com (https) or http://… --insecure")
    .option("-g, --global", "add it to the system configuration (needs root)")
    .option("--no-login", "do not log in to the remote after adding it")
    .option(
      "-i, --insecure",
      "use http for service discovery (env APPTAINER_ADD_INSECURE)",
    )
    .option("-n, --no-default", "do not make it the default remote")
    .option("--tokenfile <file>", "log in with the access token in this file")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote add --no-login myremote https://enterprise.example.com\n" +
        "  sudo siftrust remote add --global company-remote enterprise7.example.com",
    )
    .action(guarded(async (name, uri, options) => {
      const f = files();
      const [path, isSystem] = targetFile(f, options.global);
      if (name.trim() === "") throw usageError("invalid name: cannot have empty name");
      const [stored, insecure] = normalizeEndpointUri(
        uri,
        !!options.insecure || envFlag("ADD_INSECURE"),
      );
      const system = isSystem ? undefined : await readSystem(f);
      const endpoint: Endpoint = {
        name,
        uri: stored,
        token: "",
        system: isSystem,
        exclusive: false,
        insecure,
        keyservers: [],
      };
      await updateConfig(path, isSystem ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE, async (config) => {
        if (isSystem) await shippedUnlessExists(config, path);
        if (config.remote(name) !== undefined) throw usageError(`${name} is already a remote`);
        if (options.default) {
          if (!isSystem) checkExclusive(config, name, system);
          config.active = name;
        }
        config.setRemote(endpoint);
      });
      log("info", `Remote "${name}" added.`);
      if (!options.login) return;
      if (options.global) {
        log("info", "Global option detected. Will not automatically log into remote.");
        return;
      }
      await endpointLogin(path, endpoint, options.tokenfile, true);
    }));

  group.command("remove")
    .description("remove a remote endpoint")
    .argument("<name>", "the remote")
    .option("-g, --global", "remove it from the system configuration (needs root)")
    .addHelpText("after", "\nExample:\n  siftrust remote remove myremote")
    .action(guarded(async (name, options) => {
      const f = files();
      const [path, isSystem] = targetFile(f, options.global);
      const system = isSystem ? undefined : await readSystem(f);
      await updateConfig(path, isSystem ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE, async (config) => {
        if (isSystem) await shippedUnlessExists(config, path);
        const remote = config.remote(name);
        const global = remote === undefined ? system?.remote(name) : undefined;
        if ((remote?.system && !isSystem) || global !== undefined) {
          throw usageError(
            `${name} is global and can't be removed (as root: siftrust remote remove --global ${name})`,
          );
        }
        if (remote === undefined) throw usageError(`${name} is not a remote`);
        config.deleteRemote(name);
        if (config.active === name) config.active = "";
      });
      log("info", `Remote "${name}" removed.`);
    }));

  group.command("use")
    .description("make a remote the default one")
    .argument("<name>", "the remote")
    .option("-g, --global", "set the system default (needs root)")
    .option("-e, --exclusive", "make it the only usable remote for every user (needs root)")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote use myremote\n  sudo siftrust remote use --exclusive company-remote",
    )
    .action(guarded(async (name, options) => {
      if (options.exclusive && !isRoot()) {
        throw usageError("unable to set endpoint as exclusive: not root user");
      }
      const f = files();
      const [path, isSystem] = targetFile(f, options.global || options.exclusive);
      const system = isSystem ? undefined : await readSystem(f);
      const notices = await updateConfig(
        path,
        isSystem ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE,
        async (config) => {
          let notices: string[] = [];
          if (system !== undefined) notices = mergeSystemInto(config, system);
          else await shippedUnlessExists(config, path);
          const remote = config.remote(name);
          if (remote === undefined) throw usageError(`${name} is not a remote`);
          if (isSystem) {
            if (options.exclusive) {
              for (const other of config.remotes) {
                if (other.exclusive && other.name !== name) {
                  config.setRemote({ ...other, exclusive: false });
                }
              }
            }
            config.setRemote({ ...remote, exclusive: !!options.exclusive });
          } else {
            checkExclusive(config, name);
          }
          config.active = name;
          return notices;
        },
      );
      printNotices(notices);
      log("info", `Remote "${name}" now in use.`);
    }));

  group.command("list")
    .description("list the remote endpoints (yours and the system's)")
    .addHelpText("after", "\nExample:\n  siftrust remote list")
    .action(guarded(async () => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      print(listText(config));
    }));

  group.command("login")
    .description(
      "log in to a remote endpoint (access token) or to an OCI registry (docker://HOST, oras://HOST)",
    )
    .argument(
      "[target]",
      "a remote name (default: the default remote), docker://HOST or oras://HOST",
    )
    .option("-u, --username <name>", "registry user name (env APPTAINER_LOGIN_USERNAME)")
    .addOption(new Option("-p, --password <secret>", "password (env APPTAINER_LOGIN_PASSWORD)"))
    .option("--password-stdin", "read the password from stdin")
    .option("-i, --insecure", "use http for the registry (env APPTAINER_LOGIN_INSECURE)")
    .option("--tokenfile <file>", "a remote endpoint's access token, in this file")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote login --tokenfile token.txt myremote\n" +
        '  echo "$PASS" | siftrust remote login -u me --password-stdin docker://registry.example.com',
    )
    .action(guarded(async (target, options) => {
      const f = files();
      const registry = target === undefined ? undefined : registryTarget(target);
      const { config, notices } = await readEffective(f);
      const known = target !== undefined && config.remote(target) !== undefined;
      if (!known && target !== undefined && (registry !== undefined || isKeyserverUri(target))) {
        if (options.tokenfile !== undefined) {
          throw usageError(
            "--tokenfile is only supported for login to a remote endpoint, not OCI (docker/oras) or keyservers",
          );
        }
        if (registry !== undefined) return await registryLogin(f, registry, options);
        log(
          "warning",
          "'remote login' is deprecated for keyservers and will be removed in a future release; running 'keyserver login'",
        );
        return await keyserverLogin(f, target, {
          ...options,
          insecure: options.insecure || envFlag("LOGIN_INSECURE"),
        });
      }
      printNotices(notices);
      refuseSecretsInSystemFile(f);
      const endpoint = endpointFor(config, target);
      await endpointLogin(f.user, endpoint, options.tokenfile);
    }));

  group.command("logout")
    .description("forget the access token of a remote, or a registry login (docker://HOST)")
    .argument(
      "[target]",
      "a remote name (default: the default remote), docker://HOST or oras://HOST",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust remote logout myremote\n  siftrust remote logout docker://registry.example.com",
    )
    .action(guarded(async (target) => {
      const f = files();
      const registry = target === undefined ? undefined : registryTarget(target);
      const { config } = await readEffective(f);
      const known = target !== undefined && config.remote(target) !== undefined;
      if (!known && registry !== undefined) return await registryLogout(f, registry);
      if (!known && target !== undefined && isKeyserverUri(target)) {
        log(
          "warning",
          "'remote logout' is deprecated for keyservers and will be removed in a future release; running 'keyserver logout'",
        );
        return await keyserverLogout(f, target);
      }
      const endpoint = endpointFor(config, target);
      const mine = (await readConfig(f.user))?.remote(endpoint.name);
      if (mine !== undefined && mine.token !== "") {
        await updateConfig(f.user, f.userIsSystem ? SYSTEM_CONFIG_MODE : USER_CONFIG_MODE, (c) => {
          const current = c.remote(endpoint.name);
          if (current !== undefined) c.setRemote({ ...current, token: "" });
        });
      }
      log("info", "Logout succeeded");
    }));

  group.command("status")
    .description("check a remote's services and whether your token is valid")
    .argument("[name]", "the remote (default: the default remote)")
    .addHelpText("after", "\nExample:\n  siftrust remote status myremote")
    .action(guarded(async (name) => {
      const { config, notices } = await readEffective(files());
      printNotices(notices);
      await status(config, name);
    }));
}
