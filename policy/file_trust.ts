/**
 * Files that decide what runs (the policy, its keyrings, the global keyring, the caches) must
 * be writable only by those the run trusts: whoever else can write one can change the
 * decisions. A run by a user for themselves gets warnings ({@linkcode trustFileWarnings}); an
 * enforcing run (core/config/resolve.ts) checks each input and every folder above it, as
 * OpenSSH's `StrictModes` does ({@linkcode checkTrustedPath}, {@linkcode untrustedInput}).
 *
 * @module
 */

import type { EnvReader, Resolution } from "../core/config/mod.ts";
import { keyringLocations } from "../core/keys/mod.ts";
import { dsseSignerFiles } from "./dsse_signers.ts";
import type { Policy } from "./model.ts";
import {
  createRootCaches,
  type TrustInputs,
  type TrustProblem,
  untrustedInput,
} from "./trust_path.ts";

export * from "./trust_path.ts";

/** The trust inputs of a policy's run: see {@linkcode TrustInputs}. */
export function trustInputs(
  policy: Policy,
  resolution: Resolution,
  use: { decisionCache: boolean; keyCache: boolean },
): TrustInputs {
  const l = resolution.locations;
  return {
    files: [
      policy.path,
      ...policy.keys.files,
      ...(policy.keys.local ? [l.globalKeyring, l.publicKeyring] : []),
    ],
    caches: [
      ...(use.decisionCache ? [l.decisionCacheDir] : []),
      ...(use.keyCache ? [l.keyCacheDir] : []),
    ],
  };
}

/**
 * The ownership checks of an enforcing run: the first input it cannot trust, or undefined.
 * When all pass, a root run creates its missing cache folders (mode 0755, so that `exec` run
 * by a user can read what root's runs keep); other runs leave them to whoever writes them.
 */
export async function enforceTrustInputs(
  policy: Policy,
  resolution: Resolution,
  use: { decisionCache: boolean; keyCache: boolean },
): Promise<TrustProblem | undefined> {
  const inputs = trustInputs(policy, resolution, use);
  const problem = await untrustedInput(inputs, resolution);
  if (problem === undefined) await createRootCaches(inputs.caches, resolution.context.euid);
  return problem;
}

/**
 * The files whose writers decide what a policy allows: it, its key files (keyrings, and the
 * DSSE signers' key, certificate and CRL files), the global keyring.
 */
export function decidingFiles(policy: Policy, env: EnvReader): string[] {
  const global = policy.keys.local ? [keyringLocations(env).globalKeyring] : [];
  return [policy.path, ...policy.keys.files, ...dsseSignerFiles(policy), ...global];
}
