/**
 * The key material a policy names, in its order: its keyring files, then (with
 * `keys.local`) the global and the user's keyrings, then keyservers — the policy's own list;
 * else its remote's (followed by the user's remote's, unless the policy remote is exclusive);
 * else the user's remote's — and none at all with `keys.offline`.
 *
 * @module
 */

import {
  configLocations,
  discoverServices,
  DiscoveryError,
  effectiveConfig,
  type EnvReader,
  type Keyserver,
  keyserversFor,
  readConfig,
  RemoteSelectionError,
  sameKeyserver,
} from "../core/config/mod.ts";
import {
  chainFinders,
  type KeyFinder,
  KeyringError,
  keyringLocations,
  type KeySet,
  loadKeySet,
  type SkippedKeyNotice,
} from "../core/keys/mod.ts";
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
  const skipped: SkippedKeyNotice[] = [];
  const load = async (sources: Parameters<typeof loadKeySet>[0]): Promise<KeySet> => {
    try {
      const loaded = await loadKeySet(sources);
      skipped.push(...loaded.skipped);
      return loaded.keys;
    } catch (error) {
      if (error instanceof KeyringError) {
        throw new PolicyKeysError(`${policy.path}: keys: ${error.message}`);
      }
      throw error;
    }
  };
  const finders: KeyFinder[] = [await load({ files: policy.keys.files })];
  if (policy.keys.local) {
    finders.push(
      await load({ globalKeyring: locations.globalKeyring, localKeyring: locations.publicKeyring }),
    );
  }
  const files = [
    ...policy.keys.files,
    ...(policy.keys.local ? [locations.globalKeyring, locations.publicKeyring] : []),
  ];
  const warnings = skipped.map(({ path, reason }) =>
    `skipping a key in ${path} that siftrust cannot use: ${reason}`
  );
  if (policy.keys.offline) {
    return { finder: chainFinders(...finders), keyservers: [], files, warnings };
  }
  const { keyservers, warnings: more } = await policyKeyservers(policy, env);
  if (keyservers.length > 0) finders.push(remoteFinder(keyservers));
  return { finder: chainFinders(...finders), keyservers, files, warnings: [...warnings, ...more] };
}

type Keyservers = { keyservers: Keyserver[]; warnings: string[] };

async function policyKeyservers(policy: Policy, env: EnvReader): Promise<Keyservers> {
  if (policy.keys.keyservers !== undefined) {
    return {
      keyservers: policy.keys.keyservers.map((k) => ({
        uri: k.uri,
        insecure: k.insecure ?? false,
      })),
      warnings: [],
    };
  }
  if (policy.remote === undefined) return await userKeyservers(env);
  const own = await remoteKeyserver(policy.remote);
  if (policy.remote.exclusive) return own;
  const user = await userKeyservers(env);
  const extra = user.keyservers.filter((k) =>
    !own.keyservers.some((o) => sameKeyserver(o.uri, k.uri))
  );
  return {
    keyservers: [...own.keyservers, ...extra],
    warnings: [...own.warnings, ...user.warnings],
  };
}

/** The keyserver a policy's remote endpoint names (service discovery). */
async function remoteKeyserver(remote: NonNullable<Policy["remote"]>): Promise<Keyservers> {
  const endpoint = { ...remote, token: "", system: true, insecure: false, keyservers: [] };
  try {
    const uri = (await discoverServices(endpoint)).get("keyserver");
    return uri === undefined
      ? { keyservers: [], warnings: [`remote ${remote.name} names no keyserver`] }
      : { keyservers: [{ uri, insecure: false }], warnings: [] };
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    return {
      keyservers: [],
      warnings: [`cannot find the keyserver of remote ${remote.name}: ${error.message}`],
    };
  }
}

/** The keyservers of the user's active remote (remote.yaml, user and system). */
async function userKeyservers(env: EnvReader): Promise<Keyservers> {
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
