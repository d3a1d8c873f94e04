/**
 * The key material a policy names, in its order: its keyring files, then (with
 * `keys.local`) the global and the user's keyrings, then keyservers — the policy's own list,
 * else its remote's, else the user's remote's — unless `keys.offline`. An exclusive policy
 * remote keeps the user's `remote.yaml` out of it.
 *
 * @module
 */

import {
  configLocations,
  discoverServices,
  DiscoveryError,
  effectiveConfig,
  type Endpoint,
  type Keyserver,
  keyserversFor,
  readConfig,
  RemoteSelectionError,
} from "../core/config/mod.ts";
import {
  chainFinders,
  type KeyFinder,
  KeyringError,
  keyringLocations,
  loadKeySet,
} from "../core/keys/mod.ts";
import type { EnvReader } from "../core/config/mod.ts";
import type { Policy } from "./model.ts";

/** Makes a finder that fetches keys from keyservers, tried in order. */
export type RemoteFinderFactory = (keyservers: Keyserver[]) => KeyFinder;

/** The keys of a policy, and what to tell the user about them. */
export interface PolicyKeys {
  finder: KeyFinder;
  /** The keyservers that will be asked, in order. */
  keyservers: Keyserver[];
  /** Files whose state the decisions depend on (for the verify-once cache). */
  files: string[];
  warnings: string[];
}

/** A key file of the policy cannot be read. */
export class PolicyKeysError extends Error {}

/** Loads the key material of a policy. */
export async function policyKeys(
  policy: Policy,
  env: EnvReader,
  remoteFinder: RemoteFinderFactory,
): Promise<PolicyKeys> {
  const locations = keyringLocations(env);
  const local = policy.keys.local
    ? { globalKeyring: locations.globalKeyring, localKeyring: locations.publicKeyring }
    : {};
  let loaded;
  try {
    loaded = await loadKeySet({ files: policy.keys.files, ...local });
  } catch (error) {
    if (error instanceof KeyringError) {
      throw new PolicyKeysError(`${policy.path}: keys: ${error.message}`);
    }
    throw error;
  }
  const warnings = loaded.skipped.map(({ path, reason }) =>
    `skipping a key in ${path} that siftrust cannot use: ${reason}`
  );
  const files = [
    ...policy.keys.files,
    ...(policy.keys.local ? [locations.globalKeyring, locations.publicKeyring] : []),
  ];
  if (policy.keys.offline) return { finder: loaded.keys, keyservers: [], files, warnings };
  const { keyservers, warnings: more } = await policyKeyservers(policy, env);
  return {
    finder: keyservers.length === 0
      ? loaded.keys
      : chainFinders(loaded.keys, remoteFinder(keyservers)),
    keyservers,
    files,
    warnings: [...warnings, ...more],
  };
}

async function policyKeyservers(
  policy: Policy,
  env: EnvReader,
): Promise<{ keyservers: Keyserver[]; warnings: string[] }> {
  if (policy.keys.keyservers !== undefined) {
    return {
      keyservers: policy.keys.keyservers.map((k) => ({
        uri: k.uri,
        insecure: k.insecure ?? false,
      })),
      warnings: [],
    };
  }
  if (policy.remote !== undefined) {
    const endpoint: Endpoint = {
      name: policy.remote.name,
      uri: policy.remote.uri,
      token: "",
      system: true,
      exclusive: policy.remote.exclusive,
      insecure: false,
      keyservers: [],
    };
    try {
      const uri = (await discoverServices(endpoint)).get("keyserver");
      return uri === undefined
        ? { keyservers: [], warnings: [`remote ${policy.remote.name} names no keyserver`] }
        : { keyservers: [{ uri, insecure: false }], warnings: [] };
    } catch (error) {
      if (!(error instanceof DiscoveryError)) throw error;
      return {
        keyservers: [],
        warnings: [`cannot find the keyserver of remote ${policy.remote.name}: ${error.message}`],
      };
    }
  }
  try {
    const paths = configLocations(env);
    const { config } = effectiveConfig(
      await readConfig(paths.userConfig),
      await readConfig(paths.systemConfig),
    );
    return await keyserversFor(config);
  } catch (error) {
    if (error instanceof RemoteSelectionError) return { keyservers: [], warnings: [error.message] };
    throw error;
  }
}
