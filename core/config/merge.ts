/**
 * The effective configuration: the system file merged into the user's, as Apptainer's
 * `SyncFrom` does, and the built-in default remote when there is no configuration at all.
 *
 * @module
 */

import { RemoteConfig } from "./remote_config.ts";

/** The built-in default remote: its keyserver is keys.openpgp.org. */
export const DEFAULT_REMOTE = "DefaultRemote";
/** The built-in default endpoint. */
export const DEFAULT_ENDPOINT_URI = "cloud.apptainer.org";
/** The keyserver of the built-in default endpoint. */
export const DEFAULT_KEYSERVER = "https://keys.openpgp.org";

/** A configuration with only the built-in default remote. */
export function builtinConfig(): RemoteConfig {
  const config = RemoteConfig.empty("(built-in)");
  config.setRemote({
    name: DEFAULT_REMOTE,
    uri: DEFAULT_ENDPOINT_URI,
    token: "",
    system: true,
    exclusive: false,
    insecure: false,
    keyservers: [],
  });
  config.active = DEFAULT_REMOTE;
  return config;
}

/**
 * Merges the system configuration into a user configuration (in place), as Apptainer does:
 * a user remote of the same name wins; a system copy is refreshed (URI, exclusivity,
 * keyservers) or added; an exclusive system remote becomes the active one; with no active
 * remote, the system's is used. Returns notices for the user.
 */
export function mergeSystemInto(user: RemoteConfig, system: RemoteConfig): string[] {
  const notices: string[] = [];
  for (const remote of system.remotes) {
    const mine = user.remote(remote.name);
    if (mine !== undefined && !mine.system) {
      notices.push(`${remote.name} defined both globally and individually, using individual`);
      continue;
    }
    user.setRemote({
      ...(mine ?? { ...remote, token: "" }),
      uri: remote.uri,
      exclusive: remote.exclusive,
      keyservers: remote.keyservers,
      system: true,
    });
    if (remote.exclusive) user.active = remote.name;
  }
  if (user.active === "") user.active = system.active;
  return notices;
}

/**
 * The configuration in effect: the system file (or, when it is missing, the built-in one that
 * Apptainer installs there) merged into the user's. `builtin` says whether the built-in
 * default is all there is.
 */
export function effectiveConfig(
  user: RemoteConfig | undefined,
  system: RemoteConfig | undefined,
): { config: RemoteConfig; notices: string[]; builtin: boolean } {
  const base = system ?? builtinConfig();
  if (user === undefined) return { config: base, notices: [], builtin: system === undefined };
  const merged = user.clone();
  return { config: merged, notices: mergeSystemInto(merged, base), builtin: false };
}
