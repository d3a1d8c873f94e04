/**
 * The environment a run reads its trust inputs from: an explicit map passed in (never
 * `Deno.env`), so that a run can be given a sanitized one, and a reader that records every
 * variable it is asked for.
 *
 * @module
 */

import { PROXY_VARIABLES, RUNTIME_NETWORK_VARIABLES } from "../http/network.ts";
import type { EnvReader } from "./locations.ts";

/** Environment variables by name, as a run was given them. */
export type Environment = Readonly<Record<string, string>>;

/**
 * The variables that choose trust inputs: configuration and key folders, the caches, the
 * policy, and the proxies keyserver requests go through.
 */
export const TRUST_VARIABLES: readonly string[] = [
  "SIFTRUST_SYSCONFDIR",
  "SIFTRUST_POLICY",
  "SIFTRUST_CACHEDIR",
  "APPTAINER_CONFIGDIR",
  "SINGULARITY_CONFIGDIR",
  "APPTAINER_KEYSDIR",
  "SINGULARITY_SYPGPDIR",
  "APPTAINER_URL",
  "HOME",
  "XDG_CACHE_HOME",
  ...PROXY_VARIABLES,
];

/**
 * Variables that choose how siftrust's HTTPS requests are carried and checked, read by the
 * runtime itself rather than by the resolution: proxies and certificate authorities.
 */
export const NETWORK_VARIABLES: readonly string[] = RUNTIME_NETWORK_VARIABLES;

/**
 * TLS variables the runtime reads once at start (Deno's `DENO_CERT` and `DENO_TLS_CA_STORE`):
 * a run that ignores the environment cannot undo them, so such a run refuses to start while
 * one is set.
 */
export const STARTUP_TLS_VARIABLES: readonly string[] = ["DENO_CERT", "DENO_TLS_CA_STORE"];

/**
 * Every variable a sanitized run (`exec`, `admit`) ignores: the trust variables and the
 * network variables. `HOME` is replaced by the effective user's home from the account database.
 */
export const IGNORED_WHEN_SANITIZED: readonly string[] = [
  ...new Set([...TRUST_VARIABLES, ...NETWORK_VARIABLES, ...STARTUP_TLS_VARIABLES]),
];

/**
 * The environment of a run that decides on behalf of its invoker: `env` without the variables
 * of {@linkcode IGNORED_WHEN_SANITIZED}, and with `HOME` set to `home` when it is given.
 */
export function sanitizedEnvironment(env: Environment, home?: string): Environment {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!IGNORED_WHEN_SANITIZED.includes(name)) kept[name] = value;
  }
  if (home !== undefined) kept.HOME = home;
  return kept;
}

/** A reader over an environment map that remembers which names were read. */
export class EnvironmentReader {
  readonly #env: Environment;
  readonly #read = new Set<string>();

  /** Reads from `env`. */
  constructor(env: Environment) {
    this.#env = env;
  }

  /** The value of a variable (an empty value counts as set, as in Apptainer). */
  get(name: string): string | undefined {
    this.#read.add(name);
    return Object.hasOwn(this.#env, name) ? this.#env[name] : undefined;
  }

  /** This reader as the function the location helpers take. */
  get reader(): EnvReader {
    return (name) => this.get(name);
  }

  /** The names read so far, sorted, with whether each was set. */
  reads(): { name: string; set: boolean }[] {
    return [...this.#read].sort().map((name) => ({ name, set: Object.hasOwn(this.#env, name) }));
  }
}

/** The proxies a run's keyserver and discovery requests would go through. */
export interface ProxySettings {
  /** For http URLs: `HTTP_PROXY` (or `http_proxy`), else `ALL_PROXY`. */
  http?: string;
  /** For https URLs: `HTTPS_PROXY` (or `https_proxy`), else `ALL_PROXY`. */
  https?: string;
  /** Hosts that bypass the proxies: `NO_PROXY` (or `no_proxy`). */
  noProxy?: string;
}

/** The proxy settings of an environment. */
export function proxySettings(env: EnvReader): ProxySettings {
  const all = env("ALL_PROXY") ?? env("all_proxy");
  const settings: ProxySettings = {};
  const http = env("HTTP_PROXY") ?? env("http_proxy") ?? all;
  const https = env("HTTPS_PROXY") ?? env("https_proxy") ?? all;
  const noProxy = env("NO_PROXY") ?? env("no_proxy");
  if (http !== undefined && http !== "") settings.http = http;
  if (https !== undefined && https !== "") settings.https = https;
  if (noProxy !== undefined && noProxy !== "") settings.noProxy = noProxy;
  return settings;
}
