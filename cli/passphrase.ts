/**
 * Passphrases for secret keys: from a file (`--passphrase-file`), the environment
 * (`SIFTRUST_PASSPHRASE`, and `SIFTRUST_NEW_PASSPHRASE` for a new one), or a prompt with no
 * echo — three tries, and a retyped confirmation for a new passphrase.
 *
 * @module
 */

import { CliError, ExitCode, usageError } from "./exit.ts";
import { log } from "./output.ts";
import { ask, askSecret } from "./prompt.ts";

/** Where an existing key's passphrase comes from. */
export interface PassphraseSource {
  /** The passphrase given by file or environment; when set, nothing is prompted. */
  fixed?: string;
  /** The prompt to show otherwise. */
  prompt: string;
}

/** The passphrase source: `--passphrase-file`, else `SIFTRUST_PASSPHRASE`, else a prompt. */
export function passphraseSource(
  file: string | undefined,
  prompt = "Enter key passphrase : ",
): PassphraseSource {
  if (file !== undefined) {
    try {
      return { fixed: Deno.readTextFileSync(file).replace(/\r?\n$/, ""), prompt };
    } catch (error) {
      throw usageError(`cannot read the passphrase file ${file}: ${(error as Error).message}`);
    }
  }
  return { fixed: Deno.env.get("SIFTRUST_PASSPHRASE"), prompt };
}

const ALTERNATIVE = "set SIFTRUST_PASSPHRASE or use --passphrase-file";

/**
 * Tries passphrases until `attempt` accepts one (returns a value): the fixed one once, or up
 * to three typed ones. A wrong passphrase ends with exit 4 (the key cannot be had).
 */
export async function withPassphrase<T>(
  source: PassphraseSource,
  what: string,
  attempt: (passphrase: string) => Promise<T | undefined>,
): Promise<T> {
  if (source.fixed !== undefined) {
    const result = await attempt(source.fixed);
    if (result === undefined) {
      throw new CliError(`wrong passphrase for ${what}`, ExitCode.KeyUnavailable);
    }
    return result;
  }
  for (let tries = 0; tries < 3; tries++) {
    const result = await attempt(await askSecret(source.prompt, ALTERNATIVE));
    if (result !== undefined) return result;
    log("error", "wrong passphrase");
  }
  throw new CliError(`wrong passphrase for ${what}, 3 times`, ExitCode.KeyUnavailable);
}

/**
 * A new passphrase: `fixed` when given (empty allowed: no encryption), else
 * `SIFTRUST_NEW_PASSPHRASE`, else typed twice (three tries). An empty typed passphrase must
 * be confirmed, as Apptainer asks.
 */
export async function newPassphrase(
  fixed: string | undefined,
  prompt = "Enter a passphrase : ",
): Promise<string> {
  const given = fixed ?? Deno.env.get("SIFTRUST_NEW_PASSPHRASE");
  if (given !== undefined) return given;
  const alternative = "use --password, or set SIFTRUST_NEW_PASSPHRASE";
  for (let tries = 0; tries < 3; tries++) {
    const first = await askSecret(prompt, alternative);
    const second = await askSecret("Retype your passphrase : ", alternative);
    if (first !== second) {
      log("warning", "passphrases do not match");
      continue;
    }
    if (first !== "") return first;
    const answer = await ask(
      "WARNING: if there is no password set, your key is not secure. Do you want to continue? [y/n] ",
      alternative,
    );
    if (/^y(es)?$/i.test(answer.trim())) return "";
    throw usageError("empty passphrase: the key was not created");
  }
  throw usageError("too many retries while getting a passphrase");
}
