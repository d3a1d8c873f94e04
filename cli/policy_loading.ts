/**
 * Loading the policy and its key material for the commands that decide images (`check`,
 * `exec`, `policy`): its problems become one error line each and exit 2, and its warnings are
 * printed.
 *
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import {
  decidingFiles,
  loadPolicy,
  type Policy,
  PolicyError,
  type PolicyKeys,
  policyKeys,
  PolicyKeysError,
  trustFileWarnings,
} from "../policy/mod.ts";
import { CliError, ExitCode } from "./exit.ts";
import { remoteKeyFinder, runContext } from "./keys.ts";
import { log } from "./output.ts";

/** The policy used when `--policy` is not given. */
export const DEFAULT_POLICY = "/etc/siftrust/policy.yaml";

/** The `--policy FILE` option (default {@link DEFAULT_POLICY}, or `$SIFTRUST_POLICY`). */
export function policyOption(): Option<"--policy <file>", undefined, string> {
  return new Option("--policy <file>", "the policy file").default(DEFAULT_POLICY).env(
    "SIFTRUST_POLICY",
  );
}

/** Loads a policy, turning its problems into one error line each (exit 2). */
export async function loadPolicyOrExit(path: string): Promise<Policy> {
  try {
    return await loadPolicy(path);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems.slice(0, -1)) log("error", problem);
    throw new CliError(error.problems.at(-1)!, ExitCode.Usage);
  }
}

/**
 * The policy and its key material, for `check` and `exec`: load problems exit 2, and warnings
 * (unusable keys, files others than root can write) are printed.
 */
export async function loadPolicyAndKeys(
  path: string,
): Promise<{ policy: Policy; keys: PolicyKeys }> {
  const policy = await loadPolicyOrExit(path);
  const env = (name: string) => Deno.env.get(name);
  let keys: PolicyKeys;
  try {
    keys = await policyKeys(policy, runContext(), remoteKeyFinder);
  } catch (error) {
    if (error instanceof PolicyKeysError) {
      const fix = error.kind === "signer" ? "fix that signer" : "fix keys.files";
      throw new CliError(`${error.message}: ${fix} in the policy`, ExitCode.Usage);
    }
    throw error;
  }
  for (const warning of keys.warnings) log("warning", warning);
  for (const warning of await trustFileWarnings(decidingFiles(policy, env))) {
    log("warning", warning);
  }
  return { policy, keys };
}
