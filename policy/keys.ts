/**
 * The key material a policy names, in its order: its keyring files, then (with
 * `keys.local`) the global and the user's keyrings, then the keyservers that the one
 * configuration resolution (core/config/resolve.ts) chooses for the policy — none with
 * `keys.offline` — and the DSSE signers' keys and certificates (policy/dsse_signers.ts). A
 * keyserver configuration that cannot be used is a warning here (the
 * keyrings still decide), as Apptainer's build verification treats it.
 *
 * @module
 */

import {
  type Keyserver,
  type Resolution,
  ResolutionError,
  resolveRun,
  type RunContext,
} from "../core/config/mod.ts";
import {
  chainFinders,
  type KeyFinder,
  KeyringError,
  type KeySet,
  loadKeySet,
  type SkippedKeyNotice,
} from "../core/keys/mod.ts";
import { ocspOverHttp } from "../core/x509/ocsp_http.ts";
import {
  type DsseSignerOptions,
  type DsseSigners,
  loadDsseSigners,
  SignerKeyError,
} from "./dsse_signers.ts";
import type { Policy } from "./model.ts";

/** Makes a finder that fetches keys from keyservers, tried in order, caching in `cacheDir`. */
export type RemoteFinderFactory = (keyservers: Keyserver[], cacheDir: string) => KeyFinder;

/** The keys of a policy, and what to tell the user about them. */
export interface PolicyKeys {
  /** Where OpenPGP keys are looked up, in the policy's order. */
  finder: KeyFinder;
  /** The `key` and `certificate` signers' keys, certificates verified (for DSSE signatures). */
  dsse: DsseSigners;
  /** The keyservers that will be asked, in order. */
  keyservers: Keyserver[];
  /** Files whose state the decisions depend on (for the verify-once cache). */
  files: string[];
  /** What to tell the user about the keys (keys skipped, keyserver notices). */
  warnings: string[];
  /**
   * Why no keyserver can be asked, when the keyserver configuration cannot be used (the
   * decision goes on with the keyrings alone): for the user to be told, with what to do.
   */
  keyserverProblem?: ResolutionError;
  /** The configuration resolution the keys come from (locations, variables read). */
  resolution: Resolution;
}

/** Which key material cannot be used: a keyring file, or a `key`/`certificate` signer's file. */
export type PolicyKeysErrorKind = "keyring" | "signer";

/** Key material of the policy cannot be used; the message names the policy and the file. */
export class PolicyKeysError extends Error {
  /** Which key material failed. */
  readonly kind: PolicyKeysErrorKind;

  /** Makes an error of `kind` (default `keyring`) with a one-line message. */
  constructor(message: string, kind: PolicyKeysErrorKind = "keyring", options?: ErrorOptions) {
    super(message, options);
    this.name = "PolicyKeysError";
    this.kind = kind;
  }
}

/** The run's context without the policy, which {@linkcode policyKeys} adds. */
export type PolicyRunContext = Omit<RunContext, "policy" | "url" | "local">;

/**
 * Loads the key material of a policy, for a run in `context`. `dsse` says how certificate
 * signers are checked (default: OCSP over the project's HTTP client, chains valid now).
 */
export async function policyKeys(
  policy: Policy,
  context: PolicyRunContext,
  remoteFinder: RemoteFinderFactory,
  dsse: Partial<DsseSignerOptions> = {},
): Promise<PolicyKeys> {
  const resolution = resolveRun({
    ...context,
    policy: { keys: policy.keys, remote: policy.remote },
  });
  const locations = resolution.locations;
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
  let dsseSigners: DsseSigners;
  try {
    dsseSigners = await loadDsseSigners(policy, { ocsp: ocspOverHttp, ...dsse });
  } catch (error) {
    if (!(error instanceof SignerKeyError)) throw error;
    throw new PolicyKeysError(`${policy.path}: ${error.message}`, "signer", { cause: error });
  }
  const files = [
    ...policy.keys.files,
    ...(policy.keys.local ? [locations.globalKeyring, locations.publicKeyring] : []),
    ...dsseSigners.files,
  ];
  const warnings = skipped.map(({ path, reason }) =>
    `skipping a key in ${path} that siftrust cannot use: ${reason}`
  );
  let keyservers: Keyserver[] = [];
  let keyserverProblem: ResolutionError | undefined;
  try {
    const choice = await resolution.keyservers();
    keyservers = choice.keyservers;
    warnings.push(...choice.messages.filter((m) => m.level === "warning").map((m) => m.text));
  } catch (error) {
    if (!(error instanceof ResolutionError)) throw error;
    keyserverProblem = error;
  }
  if (keyservers.length > 0) finders.push(remoteFinder(keyservers, locations.keyCacheDir));
  return {
    finder: chainFinders(...finders),
    dsse: dsseSigners,
    keyservers,
    files,
    warnings,
    ...(keyserverProblem === undefined ? {} : { keyserverProblem }),
    resolution,
  };
}
