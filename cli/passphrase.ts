/**
 * Passphrases for secret keys: from a file (`--passphrase-file`), the environment
 * (`SIFTRUST_PASSPHRASE`, and `SIFTRUST_NEW_PASSPHRASE` for a new one), or a prompt: typed
 * with no echo on a terminal (three tries), else read as the next line of stdin, as Apptainer
 * does (one try). A new passphrase is asked twice, and an empty one must be confirmed.
 *
 * @module
 */

import { CliError, ExitCode, usageError } from "./exit.ts";
import { log } from "./output.ts";
import { answer, answerSecret } from "./prompt.ts";

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

/**
 * Tries passphrases until `attempt` accepts one (returns a value): the fixed one once, the
 * next line of a stdin that is not a terminal once, or up to three typed ones. A wrong
 * passphrase ends with exit 4 (the key cannot be had).
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
  if (!Deno.stdin.isTerminal()) {
    const piped = await answerSecret(source.prompt);
    const result = await attempt(piped);
    if (result !== undefined) return result;
    const hint = piped === ""
      ? "no passphrase on stdin (not a terminal): pipe it, set SIFTRUST_PASSPHRASE or use --passphrase-file"
      : "wrong passphrase";
    throw new CliError(`${hint} for ${what}`, ExitCode.KeyUnavailable);
  }
  for (let tries = 0; tries < 3; tries++) {
    const result = await attempt(await answerSecret(source.prompt));
    if (result !== undefined) return result;
    log("error", "wrong passphrase");
  }
  throw new CliError(`wrong passphrase for ${what}, 3 times`, ExitCode.KeyUnavailable);
}

/**
 * A new passphrase: `fixed` when given (empty allowed: no encryption), else
 * `SIFTRUST_NEW_PASSPHRASE`, else asked twice (three tries; typed, or the next lines of a
 * stdin that is not a terminal). An empty one must be confirmed with `y` or `yes`, as
 * Apptainer asks (no answer, as at the end of input, is no).
 */
export async function newPassphrase(
  fixed: string | undefined,
  prompt = "Enter a passphrase : ",
): Promise<string> {
  const given = fixed ?? Deno.env.get("SIFTRUST_NEW_PASSPHRASE");
  if (given !== undefined) return given;
  for (let tries = 0; tries < 3; tries++) {
    const first = await answerSecret(prompt);
    const second = await answerSecret("Retype your passphrase : ");
    if (first !== second) {
      log("warning", "passphrases do not match");
      continue;
    }
    if (first !== "") return first;
    const confirmed = await answer(
      "WARNING: if there is no password set, your key is not secure. Do you want to continue? [y/n] ",
    );
    const choice = confirmed.toLowerCase();
    if (choice === "y" || choice === "yes") return "";
    if (choice === "" || choice === "n" || choice === "no") {
      throw usageError("empty passphrase: the key was not created");
    }
    throw usageError(`invalid answer: "${choice}": the key was not created`);
  }
  throw usageError("too many retries while getting a passphrase");
}
