/**
 * Loading the policy and its key material for the commands that decide images (`check`,
 * `exec`, `policy`): its problems become one error line each and exit 2, and its warnings are
 * printed. Which policy, and whether the run enforces (trusts only inputs root or the
 * effective user owns), the configuration resolution decides (core/config/resolve.ts).
 *
 * @module
 */

import { Option } from "@commander-js/extra-typings";
import { resolveRun, SYSTEM_POLICY } from "../core/config/mod.ts";
import { useProxySettings } from "../core/http/mod.ts";
import { decidingFiles, enforceTrustInputs, trustFileWarnings } from "../policy/file_trust.ts";
import { type PolicyKeys, policyKeys, PolicyKeysError } from "../policy/keys.ts";
import { loadPolicy, PolicyError } from "../policy/load.ts";
import type { Policy } from "../policy/model.ts";
import { CliError, ExitCode } from "./exit.ts";
import { remoteKeyFinder, runContext } from "./keys.ts";
import { log } from "./output.ts";
import { configProblemText } from "./render/config_problems.ts";
import { untrustedText } from "./render/untrusted_text.ts";

/** The policy used when `--policy` is not given (and, but for `exec`, no `$SIFTRUST_POLICY`). */
export const DEFAULT_POLICY = SYSTEM_POLICY;

/** The `--policy FILE` option; without it, the resolution chooses (see {@link DEFAULT_POLICY}). */
export function policyOption(): Option<"--policy <file>", undefined, undefined> {
  return new Option(
    "--policy <file>",
    `the policy file (default: $SIFTRUST_POLICY, else ${DEFAULT_POLICY}; exec: ${DEFAULT_POLICY})`,
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

/** What the deciding command is and was given. */
export interface DecidingRun {
  /** The command: `check`, `exec`, `admit`. */
  command: string;
  /** `--policy`, if given. */
  policy?: string;
  /** Whether the verify-once cache is used (not `--no-cache`). */
  cache: boolean;
}

/**
 * The policy and its key material, for `check`, `exec` and `admit`. Load problems exit 2. An
 * enforcing run refuses (exit 2, one line) an input that root or the effective user does not
 * own, or that others can write; other runs print warnings for files others than root can
 * write. A run that ignores the environment (`exec`, `admit`) refuses to start while a TLS
 * variable the runtime has already read is set, and makes its requests without the
 * environment's proxies.
 */
export async function loadPolicyAndKeys(
  run: DecidingRun,
): Promise<{ policy: Policy; keys: PolicyKeys }> {
  const context = runContext({ command: run.command, policyFile: run.policy });
  const resolution = resolveRun(context);
  const enforcement = resolution.enforcement;
  if (enforcement.unignorable.length > 0) {
    throw new CliError(
      `${run.command} does not take TLS settings from the environment: unset ${
        enforcement.unignorable.join(" and ")
      }`,
      ExitCode.Usage,
    );
  }
  if (enforcement.sanitized) useProxySettings(resolution.proxy);
  const policy = await loadPolicyOrExit(resolution.policyFile());
  let keys: PolicyKeys;
  try {
    keys = await policyKeys(policy, context, remoteKeyFinder);
  } catch (error) {
    if (error instanceof PolicyKeysError) {
      const fix = error.kind === "signer" ? "fix that signer" : "fix keys.files";
      throw new CliError(`${error.message}: ${fix} in the policy`, ExitCode.Usage);
    }
    throw error;
  }
  for (const warning of keys.warnings) log("warning", warning);
  if (keys.keyserverProblem !== undefined) {
    log("warning", configProblemText(keys.keyserverProblem));
  }
  if (enforcement.enforcing) {
    const problem = await enforceTrustInputs(policy, keys.resolution, {
      decisionCache: run.cache,
      keyCache: keys.keyservers.length > 0,
    });
    if (problem !== undefined) throw new CliError(untrustedText(problem), ExitCode.Usage);
  } else {
    const env = (name: string) => Deno.env.get(name);
    for (const warning of await trustFileWarnings(decidingFiles(policy, env))) {
      log("warning", warning);
    }
  }
  return { policy, keys };
}
