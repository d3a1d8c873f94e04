/**
 * The key `siftrust sign` signs with: a PEM private key (`--key`, a DSSE signature), or an
 * OpenPGP secret key from the user's secret keyring (the only one, the `--keyidx`th, or the
 * user's choice), unlocked with its passphrase. Loaded by cli/commands/sign.ts only once the
 * image is being hashed, with OpenPGP.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { DsseError, readPemPrivateKey } from "../core/integrity/dsse.ts";
import type { SigningKey } from "../core/integrity/sign.ts";
import { type SigningKeyProblem, signingKeyProblem } from "../core/integrity/signing_key.ts";
import { KeyringError, type PgpKey, readKeyringFile } from "../core/keys/mod.ts";
import { openpgpKey, wrapKey } from "../core/keys/pgp_key.ts";
import { CliError, ExitCode, usageError } from "./exit.ts";
import { locations } from "./keys.ts";
import { print } from "./output.ts";
import { type PassphraseSource, withPassphrase } from "./passphrase.ts";
import { answer } from "./prompt.ts";
import { keyPickerText } from "./render/keys_text.ts";
import { readPemFile } from "./arguments.ts";

/** The key options of `sign`. */
export interface SigningKeyOptions {
  /** `--key`: a PEM private key file. */
  key?: string;
  /** `--keyidx`: the index of the secret key in the keyring. */
  keyidx?: string;
}

/** The key to sign with, by the options; asks for a passphrase or a choice when it must. */
export async function signingKey(
  options: SigningKeyOptions,
  passphrases: PassphraseSource,
): Promise<SigningKey> {
  if (options.key !== undefined) {
    return { kind: "dsse", key: await pemSigningKey(options.key, passphrases) };
  }
  const chosen = await choosePgpKey(options.keyidx);
  const unlocked = await unlock(chosen, passphrases);
  await ensureCanSign(unlocked);
  return { kind: "pgp", key: wrapKey(unlocked) };
}

async function pemSigningKey(path: string, passphrases: PassphraseSource) {
  const pem = await readPemFile(path);
  try {
    return readPemPrivateKey(pem);
  } catch (error) {
    if (!(error instanceof DsseError)) throw error;
    if (error.kind !== "passphrase-needed") throw usageError(`${path}: ${error.message}`);
  }
  return await withPassphrase(passphrases, path, (passphrase) => {
    try {
      return Promise.resolve(readPemPrivateKey(pem, passphrase));
    } catch {
      return Promise.resolve(undefined);
    }
  });
}

/**
 * The secret key to sign with: the only one, the `--keyidx`th, or the user's choice (typed,
 * or the next line of a stdin that is not a terminal).
 */
async function choosePgpKey(keyidx: string | undefined): Promise<openpgp.PrivateKey> {
  const { secretKeyring } = locations();
  let keys: PgpKey[];
  try {
    const keyring = await readKeyringFile(secretKeyring);
    keys = keyring.keys.map(({ key }) => key).filter((key) => key.secret);
  } catch (error) {
    if (error instanceof KeyringError) {
      throw new CliError(`${error.message}: fix or replace the keyring file`, ExitCode.Usage);
    }
    throw error;
  }
  if (keys.length === 0) {
    throw new CliError(
      `Failed to sign container: keyring is empty: ${secretKeyring} holds no secret key; ` +
        "create one with `siftrust key newpair` or import one with `siftrust key import`",
      ExitCode.KeyUnavailable,
    );
  }
  if (keyidx !== undefined) {
    const index = /^[0-9]+$/.test(keyidx) ? Number(keyidx) : NaN;
    if (!(index < keys.length)) {
      throw new CliError(
        `Failed to sign container: index out of range: --keyidx ${keyidx}, the keyring holds ${keys.length} keys (0 to ${
          keys.length - 1
        })`,
        ExitCode.Usage,
      );
    }
    return privateKey(keys[index]);
  }
  if (keys.length === 1) return privateKey(keys[0]);
  print(keyPickerText(keys.map((key) => key.info)));
  const choice = await answer("Enter # of private key to use : ");
  const index = /^[0-9]+$/.test(choice) ? Number(choice) : NaN;
  if (!(index < keys.length)) {
    throw usageError(
      `Failed to sign container: invalid choice "${choice}": give a key number from 0 to ${
        keys.length - 1
      }`,
    );
  }
  return privateKey(keys[index]);
}

const privateKey = (key: PgpKey) => openpgpKey(key) as openpgp.PrivateKey;

async function unlock(
  key: openpgp.PrivateKey,
  passphrases: PassphraseSource,
): Promise<openpgp.PrivateKey> {
  if (key.isDecrypted()) return key;
  return await withPassphrase(
    passphrases,
    `key ${key.getFingerprint().toUpperCase()}`,
    async (passphrase) => {
      try {
        return await openpgp.decryptKey({ privateKey: key, passphrase });
      } catch {
        return undefined;
      }
    },
  );
}

/** Why a key cannot sign, for a person. */
const SIGNING_KEY_PROBLEMS: Record<SigningKeyProblem, string> = {
  revoked: "the key is revoked",
  expired: "the key has expired",
  "no-signing-key": "it has no valid signing key or subkey",
};

/** A revoked or expired key, or one with no signing (sub)key, cannot sign. */
async function ensureCanSign(key: openpgp.PrivateKey): Promise<void> {
  const problem = await signingKeyProblem(key);
  if (problem === undefined) return;
  throw new CliError(
    `key ${key.getFingerprint().toUpperCase()} cannot sign: ${
      SIGNING_KEY_PROBLEMS[problem]
    }; choose another key with --keyidx`,
    ExitCode.KeyUnavailable,
  );
}
