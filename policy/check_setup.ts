/**
 * The full path of `check` keeps what its cached fast path (policy/fast_check.ts) needs to
 * reach the same answer without loading the policy, its keys or the configuration: a
 * {@link CheckSetup} next to the decisions (policy/cache.ts). It is kept only when the
 * set-up needed no network: a keyserver list that comes from service discovery, or an OCSP
 * answer about a certificate signer, could change between runs without any file changing.
 *
 * @module
 */

import { type CheckSetup, checkSetupKey, fileStates, writeCheckSetup } from "./cache.ts";
import { decidingFiles, trustInputs } from "./file_trust.ts";
import type { PolicyKeys } from "./keys.ts";
import type { Policy } from "./model.ts";

/**
 * Keeps the set-up of a `check` run that uses the decision cache: the policy and the keys it
 * loaded (with the run's configuration resolution). Runs whose keyservers come from a remote (and
 * so maybe from discovery), or that asked OCSP, keep nothing.
 */
export async function rememberCheckSetup(
  policy: Policy,
  keys: PolicyKeys,
): Promise<void> {
  const { resolution } = keys;
  const { context, enforcement, locations } = resolution;
  const offline = policy.keys.offline || (policy.keys.keyservers !== undefined &&
    policy.remote === undefined);
  // A run told of a keyserver problem is not replayed: the full path words it.
  if (!offline || keys.dsse.keys.some((k) => k.certificate?.ocsp === true)) return;
  if (keys.keyserverProblem !== undefined) return;
  const policyFile = resolution.policyFile();
  const env = (name: string) => context.env[name];
  const deciding = decidingFiles(policy, env);
  const trust = enforcement.enforcing
    ? trustInputs(policy, resolution, { decisionCache: true, keyCache: keys.keyservers.length > 0 })
    : null;
  const setup: CheckSetup = {
    policy: { file: policyFile, path: policy.path, digest: policy.digest },
    uid: context.uid,
    euid: context.euid,
    env: Object.fromEntries(resolution.variables().map(({ name }) => [name, env(name) ?? null])),
    decisionCacheDir: locations.decisionCacheDir,
    keyFiles: keys.files,
    inputs: await fileStates([...new Set([...keys.files, ...resolution.files(), ...deciding])]),
    warnings: keys.warnings,
    enforcing: trust === null ? null : {
      ...trust,
      owners: enforcement.owners,
      cacheOwners: enforcement.cacheOwners,
    },
    decidingFiles: deciding,
  };
  const key = await checkSetupKey(policy.path, policy.digest, context.uid, context.euid);
  await writeCheckSetup(locations.decisionCacheDir, key, setup);
}
