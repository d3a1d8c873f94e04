/**
 * Files that decide what runs (the policy, its keyrings, the global keyring) must be
 * writable by root alone: whoever else can write one can change the decisions.
 *
 * @module
 */

import type { EnvReader } from "../core/config/mod.ts";
import { keyringLocations } from "../core/keys/mod.ts";
import { dsseSignerFiles } from "./dsse_signers.ts";
import type { Policy } from "./model.ts";

/** Who besides root can write a file (`anyone`, `its group`, `its owner, uid N`), if anyone. */
export function writersBesidesRoot(info: Deno.FileInfo): string | undefined {
  const mode = info.mode;
  if (mode === null) return undefined;
  if ((mode & 0o002) !== 0) return "anyone can write it";
  if ((mode & 0o020) !== 0) return "its group can write it";
  // An owner other than root can always give itself write access (chmod u+w).
  if (info.uid !== null && info.uid !== 0) {
    return `its owner, uid ${info.uid}, can write it`;
  }
  return undefined;
}

/**
 * The files whose writers decide what a policy allows: it, its key files (keyrings, and the
 * DSSE signers' key, certificate and CRL files), the global keyring.
 */
export function decidingFiles(policy: Policy, env: EnvReader): string[] {
  const global = policy.keys.local ? [keyringLocations(env).globalKeyring] : [];
  return [policy.path, ...policy.keys.files, ...dsseSignerFiles(policy), ...global];
}

/**
 * Warnings for the existing files among `paths` that others than root can write. Missing
 * files are left to whoever reads them.
 */
export async function trustFileWarnings(paths: string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const path of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      continue;
    }
    const who = writersBesidesRoot(info);
    if (who !== undefined) {
      warnings.push(
        `${path}: ${who}, and whoever can change it decides what runs: make it owned by root, mode 0644 (chmod go-w)`,
      );
    }
  }
  return warnings;
}
