/**
 * The one configuration resolution of a run: given an explicit run context (the environment
 * map, the user, the command's options, and a policy's key block when a policy decides), it
 * decides the file locations (Apptainer's configuration, the keyrings, the caches), the
 * proxies, and the ordered keyservers with their credentials. `verify`, the `key` commands,
 * `check` and `exec` all ask this module, so they all get the same answer; every environment
 * variable a trust input comes from is read here, from the map passed in.
 *
 * The effective remote is chosen as Apptainer's `getRemote` does: the user's `remote.yaml`
 * merged with the system one (or whichever exists); the built-in default remote (keyserver
 * keys.openpgp.org) when neither exists, or when the configuration has no active remote and
 * no remotes at all; an error when it has remotes but none is active.
 *
 * It also decides whether a run is **enforcing** (`exec`, `admit`, or any run with effective
 * user ID 0): such a run trusts its policy, keyrings and caches only if root or the effective
 * user owns them (checked by policy/file_trust.ts). `exec` and `admit` decide on behalf of the
 * user who invokes them, so they are **sanitized**: they read a sanitized environment
 * (environment.ts `sanitizedEnvironment`: no variable that chooses a trust input, a proxy or
 * a certificate authority; `HOME` from the account database), the system policy unless
 * `--policy` names one, and the system caches. Root's other runs keep their caches in the
 * system location too ({@linkcode SYSTEM_CACHE_DIR}), unless `SIFTRUST_CACHEDIR` names one.
 *
 * @module
 */

import { discoverServices, DiscoveryError } from "./discovery.ts";
import {
  type Environment,
  EnvironmentReader,
  type ProxySettings,
  proxySettings,
  sanitizedEnvironment,
  STARTUP_TLS_VARIABLES,
} from "./environment.ts";
import { readConfig } from "./files.ts";
import { keyserverBaseUrl, KeyserverUriError, sameKeyserver } from "./keyserver_uri.ts";
import { type Keyserver, keyserversFor, RemoteSelectionError } from "./keyservers.ts";
import { configLocations, systemConfigDir, userConfigDir } from "./locations.ts";
import { builtinConfig, effectiveConfig } from "./merge.ts";
import { ConfigError, type RemoteConfig } from "./remote_config.ts";
import { keyringLocations } from "../keys/locations.ts";

/** The key block of a policy, as far as it chooses trust inputs. */
export interface PolicyTrust {
  /** Its `keys` block. */
  keys: {
    /** Keyring files the policy names. */
    files: string[];
    /** Whether the global and the user's keyrings are used too. */
    local: boolean;
    /** The policy's own ordered keyservers, if it lists any. */
    keyservers?: { uri: string; insecure?: boolean }[];
    /** No keyserver at all. */
    offline: boolean;
  };
  /** The policy's own remote endpoint, if it names one. */
  remote?: { name: string; uri: string; exclusive: boolean };
}

/** The policy a run uses when none is named: the system policy. */
export const SYSTEM_POLICY = "/etc/siftrust/policy.yaml";

/** Where root's runs, `exec` and `admit` keep their caches (`decisions/`, `keys/`). */
export const SYSTEM_CACHE_DIR = "/var/cache/siftrust";

/** The commands that decide on behalf of the user who invokes them. */
export const SANITIZED_COMMANDS: readonly string[] = ["exec", "admit"];

/** Everything a run's trust inputs depend on, stated explicitly. */
export interface RunContext {
  /** The process's environment; a sanitized run reads a sanitized copy of it. */
  env: Environment;
  /** The real user ID. */
  uid: number;
  /** The effective user ID. */
  euid: number;
  /** `--keysdir`: this key folder instead of the user's. */
  keysDir?: string;
  /** `--url`: this keyserver only, without credentials (when no exclusive remote forbids it). */
  url?: string;
  /** `--local`: keyrings only, no keyserver. */
  local?: boolean;
  /** The key block of the policy that decides, for `check` and `exec`. */
  policy?: PolicyTrust;
  /** Service discovery, replaceable in tests. */
  discover?: typeof discoverServices;
  /** The command (`check`, `exec`, `admit`, `verify`, …): `exec` and `admit` are sanitized. */
  command?: string;
  /** `--policy`: the policy file named on the command line. */
  policyFile?: string;
  /** The effective user's home from the account database: `HOME` of a sanitized run. */
  accountHome?: string;
}

/** Why a run is enforcing, or `none`. */
export type EnforcingReason =
  /** `exec` or `admit`: they decide on behalf of their invoker. */
  | "exec"
  | "admit"
  /** The effective user ID is 0. */
  | "root"
  /** A user deciding for themselves. */
  | "none";

/** Whether a run enforces, and how. */
export interface Enforcement {
  /** Trust inputs must pass the ownership checks (policy/file_trust.ts). */
  enforcing: boolean;
  /** Why. */
  reason: EnforcingReason;
  /** The environment's choices of trust inputs, proxies and TLS are ignored (`exec`, `admit`). */
  sanitized: boolean;
  /** The owners whose files a run trusts: root and the effective user. */
  owners: number[];
  /** The owners whose caches a run trusts: root alone for `exec`/`admit`. */
  cacheOwners: number[];
  /**
   * Variables a sanitized run cannot ignore because the runtime read them at start
   * (`DENO_CERT`, `DENO_TLS_CA_STORE`) and that are set: the run must refuse.
   */
  unignorable: string[];
}

/** Where a run finds its configuration, keyrings and caches. */
export interface TrustLocations {
  /** `$SIFTRUST_SYSCONFDIR/apptainer` (default `/etc/apptainer`). */
  systemConfigDir: string;
  /** `$APPTAINER_CONFIGDIR`, else `$HOME/.apptainer`. */
  userConfigDir: string;
  /** The system `remote.yaml`. */
  systemConfig: string;
  /** The user's `remote.yaml`. */
  userConfig: string;
  /** The user's registry credentials (`docker-config.json`). */
  dockerConfig: string;
  /** The user's key folder: `--keysdir`, `$APPTAINER_KEYSDIR`, else `<userConfigDir>/keys`. */
  keysDir: string;
  /** `<keysDir>/pgp-public`. */
  publicKeyring: string;
  /** `<keysDir>/pgp-secret`. */
  secretKeyring: string;
  /** `<systemConfigDir>/global-pgp-public`. */
  globalKeyring: string;
  /** The cache base: see {@linkcode cacheBase}. */
  cacheDir: string;
  /** Keys fetched from keyservers: `<cacheDir>/keys`. */
  keyCacheDir: string;
  /** Verify-once decisions: `<cacheDir>/decisions`. */
  decisionCacheDir: string;
}

/** Where the keyserver list of a run comes from. */
export type KeyserverSource =
  /** `--local`, or a policy with `keys.offline`: no keyserver. */
  | "none"
  /** `--url`. */
  | "url"
  /** The policy's own list, or its remote's keyserver. */
  | "policy"
  /** The active remote of `remote.yaml`. */
  | "remote"
  /** The built-in default remote (no configuration, or no remote at all). */
  | "builtin";

/** A line for the user about the choice. */
export interface ResolutionMessage {
  /** How it is shown. */
  level: "info" | "warning";
  /** One line. */
  text: string;
}

/** The keyservers a run asks, in order. */
export interface KeyserverChoice {
  /** Where the list comes from. */
  source: KeyserverSource;
  /** The effective remote's name, when the list is a remote's. */
  remote?: string;
  /** The keyservers, in order; the first is the primary. */
  keyservers: Keyserver[];
  /** What to tell the user, in order: merge notices, discovery problems. */
  messages: ResolutionMessage[];
}

/** Why the keyserver configuration cannot be used. */
export type ResolutionErrorKind =
  /** A `remote.yaml` cannot be read or parsed. */
  | "config"
  /** There are remotes, but none is active. */
  | "no-default-remote"
  /** The active remote is not defined. */
  | "unknown-remote"
  /** `--url` is not one of the exclusive remote's keyservers. */
  | "url-not-allowed"
  /** `--url` is not a usable keyserver URL. */
  | "bad-url"
  /** The list is empty where one keyserver is needed. */
  | "no-keyserver";

/**
 * The keyserver configuration cannot be used; `kind` says why, the message in words (what is
 * wrong, not what to run about it). A remote that cannot be had is the `cause`
 * (a RemoteSelectionError, which names the remotes).
 */
export class ResolutionError extends Error {
  /** Why. */
  readonly kind: ResolutionErrorKind;

  /** An error of this kind. */
  constructor(kind: ResolutionErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResolutionError";
    this.kind = kind;
  }
}

/** The answer of {@linkcode resolveRun}. */
export interface Resolution {
  /** The context it was resolved from. */
  readonly context: RunContext;
  /** File locations. */
  readonly locations: TrustLocations;
  /** Proxies for keyserver and discovery requests. */
  readonly proxy: ProxySettings;
  /** Whether the run enforces, and how. */
  readonly enforcement: Enforcement;
  /**
   * The keyservers, resolved at the first call (configuration files and service discovery
   * are read only then) and remembered.
   * @throws ResolutionError when the configuration cannot be used
   */
  keyservers(): Promise<KeyserverChoice>;
  /** The first keyserver (`key search|pull|push`). @throws ResolutionError */
  primaryKeyserver(): Promise<{ keyserver: Keyserver; choice: KeyserverChoice }>;
  /**
   * The policy file: `--policy`, else `$SIFTRUST_POLICY` (ignored by a sanitized run), else
   * {@linkcode SYSTEM_POLICY}.
   */
  policyFile(): string;
  /** The environment variables read so far, sorted, and whether each was set. */
  variables(): { name: string; set: boolean }[];
  /** The files the run's trust depends on: keyrings, configuration files, the key cache. */
  files(): string[];
}

/** Resolves a run's configuration (locations at once, keyservers on demand). */
export function resolveRun(context: RunContext): Resolution {
  return new RunResolution(context);
}

/** Whether a run in `context` enforces, and how. */
export function enforcementOf(context: RunContext): Enforcement {
  const sanitized = SANITIZED_COMMANDS.includes(context.command ?? "");
  const reason: EnforcingReason = sanitized
    ? context.command as "exec" | "admit"
    : context.euid === 0
    ? "root"
    : "none";
  return {
    enforcing: reason !== "none",
    reason,
    sanitized,
    owners: [...new Set([0, context.euid])],
    cacheOwners: sanitized ? [0] : [...new Set([0, context.euid])],
    unignorable: sanitized
      ? STARTUP_TLS_VARIABLES.filter((name) => Object.hasOwn(context.env, name))
      : [],
  };
}

/**
 * The cache base: {@linkcode SYSTEM_CACHE_DIR} for a sanitized run; else `$SIFTRUST_CACHEDIR`
 * when absolute; else the system location for root (never a HOME, which `sudo` may keep);
 * else `$XDG_CACHE_HOME/siftrust` when absolute, else `$HOME/.cache/siftrust`.
 */
function cacheBase(env: (name: string) => string | undefined, enforcement: Enforcement): string {
  if (enforcement.sanitized) return SYSTEM_CACHE_DIR;
  const own = env("SIFTRUST_CACHEDIR");
  if (own !== undefined && own.startsWith("/")) return own;
  if (enforcement.reason === "root") return SYSTEM_CACHE_DIR;
  const xdg = env("XDG_CACHE_HOME");
  return `${
    xdg !== undefined && xdg.startsWith("/") ? xdg : `${env("HOME") ?? "/"}/.cache`
  }/siftrust`;
}

class RunResolution implements Resolution {
  readonly context: RunContext;
  readonly locations: TrustLocations;
  readonly proxy: ProxySettings;
  readonly enforcement: Enforcement;
  readonly #env: EnvironmentReader;
  #choice?: Promise<KeyserverChoice>;

  constructor(context: RunContext) {
    this.context = context;
    this.enforcement = enforcementOf(context);
    this.#env = new EnvironmentReader(
      this.enforcement.sanitized
        ? sanitizedEnvironment(context.env, context.accountHome)
        : context.env,
    );
    const env = this.#env.reader;
    const keysEnv = (name: string) =>
      name === "APPTAINER_KEYSDIR" && context.keysDir !== undefined ? context.keysDir : env(name);
    const keyrings = keyringLocations(keysEnv);
    const config = configLocations(env);
    const cache = cacheBase(env, this.enforcement);
    this.locations = {
      systemConfigDir: systemConfigDir(env),
      userConfigDir: userConfigDir(env),
      ...config,
      ...keyrings,
      cacheDir: cache,
      keyCacheDir: `${cache}/keys`,
      decisionCacheDir: `${cache}/decisions`,
    };
    this.proxy = proxySettings(env);
  }

  keyservers(): Promise<KeyserverChoice> {
    this.#choice ??= this.#resolve();
    return this.#choice;
  }

  async primaryKeyserver(): Promise<{ keyserver: Keyserver; choice: KeyserverChoice }> {
    const choice = await this.keyservers();
    if (choice.keyservers.length === 0) {
      throw new ResolutionError("no-keyserver", "no keyserver configured");
    }
    return { keyserver: choice.keyservers[0], choice };
  }

  policyFile(): string {
    return this.context.policyFile ?? this.#env.get("SIFTRUST_POLICY") ?? SYSTEM_POLICY;
  }

  variables(): { name: string; set: boolean }[] {
    return this.#env.reads();
  }

  files(): string[] {
    const { policy, local } = this.context;
    const l = this.locations;
    const keyrings = policy === undefined
      ? [l.globalKeyring, l.publicKeyring]
      : [...policy.keys.files, ...(policy.keys.local ? [l.globalKeyring, l.publicKeyring] : [])];
    const offline = local === true || policy?.keys.offline === true;
    const configs = offline || policy?.keys.keyservers !== undefined ||
        policy?.remote?.exclusive === true
      ? []
      : [l.systemConfig, l.userConfig];
    return [...keyrings, ...configs, ...(offline ? [] : [l.keyCacheDir])];
  }

  async #resolve(): Promise<KeyserverChoice> {
    const { policy, url, local } = this.context;
    if (local === true || policy?.keys.offline === true) {
      return { source: "none", keyservers: [], messages: [] };
    }
    if (url === undefined && policy?.keys.keyservers !== undefined) {
      return {
        source: "policy",
        keyservers: policy.keys.keyservers.map((k) => ({
          uri: k.uri,
          insecure: k.insecure ?? false,
        })),
        messages: [],
      };
    }
    if (url === undefined && policy?.remote !== undefined) {
      const own = await this.#policyRemote(policy.remote);
      if (policy.remote.exclusive) return own;
      let user: KeyserverChoice;
      try {
        user = await this.#activeRemote(undefined);
      } catch (error) {
        if (!(error instanceof ResolutionError)) throw error;
        return { ...own, messages: [...own.messages, { level: "warning", text: error.message }] };
      }
      const extra = user.keyservers.filter((k) =>
        !own.keyservers.some((o) => sameKeyserver(o.uri, k.uri))
      );
      return {
        source: "policy",
        remote: own.remote,
        keyservers: [...own.keyservers, ...extra],
        messages: [...own.messages, ...user.messages],
      };
    }
    return await this.#activeRemote(url);
  }

  /** The keyserver a policy's own remote names (service discovery). */
  async #policyRemote(remote: NonNullable<PolicyTrust["remote"]>): Promise<KeyserverChoice> {
    const endpoint = { ...remote, token: "", system: true, insecure: false, keyservers: [] };
    const choice: KeyserverChoice = {
      source: "policy",
      remote: remote.name,
      keyservers: [],
      messages: [],
    };
    try {
      const uri = (await (this.context.discover ?? discoverServices)(endpoint)).get("keyserver");
      if (uri === undefined || uri === "") {
        choice.messages.push({
          level: "warning",
          text: `remote ${remote.name} names no keyserver`,
        });
      } else choice.keyservers.push({ uri, insecure: false });
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      choice.messages.push({
        level: "warning",
        text: `cannot find the keyserver of remote ${remote.name}: ${error.message}`,
      });
    }
    return choice;
  }

  /** The keyservers of the active remote of `remote.yaml` (or `url` alone). */
  async #activeRemote(url: string | undefined): Promise<KeyserverChoice> {
    const { userConfig, systemConfig } = this.locations;
    let config: RemoteConfig;
    let builtin: boolean;
    const messages: ResolutionMessage[] = [];
    try {
      const effective = effectiveConfig(
        await readConfig(userConfig),
        await readConfig(systemConfig),
      );
      ({ config, builtin } = effective);
      for (const text of effective.notices) messages.push({ level: "info", text });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ResolutionError("config", error.message);
    }
    if (!builtin && config.active === "" && config.remotes.length === 0) {
      config = builtinConfig();
      builtin = true;
    }
    if (url !== undefined) {
      try {
        keyserverBaseUrl(url);
      } catch (error) {
        if (!(error instanceof KeyserverUriError)) throw error;
        throw new ResolutionError("bad-url", error.message);
      }
    }
    let found;
    try {
      found = await keyserversFor(config, { url, discover: this.context.discover });
    } catch (error) {
      if (!(error instanceof RemoteSelectionError)) throw error;
      throw new ResolutionError(error.kind, error.message, { cause: error });
    }
    for (const text of found.warnings) messages.push({ level: "warning", text });
    return {
      source: url !== undefined ? "url" : builtin ? "builtin" : "remote",
      remote: config.active,
      keyservers: found.keyservers,
      messages,
    };
  }
}
