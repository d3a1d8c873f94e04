/**
 * `siftrust sign`: sign an image as Apptainer's `sign` does — an OpenPGP key from the user's
 * secret keyring, or a PEM key (`--key`) for a DSSE signature.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import * as openpgp from "openpgp";
import {
  DsseError,
  readPemPrivateKey,
  signImage,
  type SigningKey,
  TaskError,
} from "../../core/integrity/mod.ts";
import { type SigningKeyProblem, signingKeyProblem } from "../../core/integrity/signing_key.ts";
import { KeyringError, type PgpKey, readKeyringFile } from "../../core/keys/mod.ts";
import { openpgpKey, wrapKey } from "../../core/keys/pgp_key.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { locations } from "../keys.ts";
import { log, print } from "../output.ts";
import { hashingProgress } from "../progress.ts";
import { type PassphraseSource, passphraseSource, withPassphrase } from "../passphrase.ts";
import { answer } from "../prompt.ts";
import { keyPickerText } from "../render/keys_text.ts";
import { parseId, readPemFile } from "../arguments.ts";

/** The deprecated flags of Apptainer's `sign`, and its advice for each. */
const DEPRECATED_FLAGS = [
  ["id", "use '--sif-id'"],
  ["groupid", "use '--group-id'"],
  ["all", "now the default behavior"],
] as const;

/** Adds `sign` to the program. */
export function registerSign(program: Command): void {
  program.command("sign")
    .description("sign a SIF image (Apptainer's `sign`): one signature per object group by default")
    .argument("<image>", "SIF image")
    .option("-i, --sif-id <id>", "sign only this object")
    .addOption(new Option("--id <id>", "deprecated: use --sif-id").hideHelp())
    .option("-g, --group-id <id>", "sign only this group")
    .addOption(new Option("--groupid <id>", "deprecated: use --group-id").hideHelp())
    .option(
      "-k, --keyidx <n>",
      "use the key with this index in the secret keyring (see `siftrust key list --secret`)",
    )
    .addOption(
      new Option("--key <pem>", "sign with this PEM private key (a DSSE signature)").env(
        "APPTAINER_SIGN_KEY",
      ),
    )
    .option(
      "--passphrase-file <file>",
      "read the key's passphrase from this file (or set SIFTRUST_PASSPHRASE, or pipe it)",
    )
    .addOption(new Option("-a, --all", "deprecated: signing every group is the default").hideHelp())
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust sign image.sif\n  siftrust sign --keyidx 1 --group-id 1 image.sif\n" +
        "  SIFTRUST_PASSPHRASE=… siftrust sign image.sif\n  siftrust sign --key cosign.key image.sif",
    )
    .action(async (path, options) => {
      // Apptainer's notices (pflag's words) for its deprecated flags.
      for (const [flag, advice] of DEPRECATED_FLAGS) {
        if (options[flag] !== undefined) {
          log("warning", `Flag --${flag} has been deprecated, ${advice}`);
        }
      }
      const sifId = options.sifId ?? options.id;
      const groupId = options.groupId ?? options.groupid;
      const request = {
        objects: sifId === undefined ? [] : [parseId(sifId, "--sif-id")],
        groups: groupId === undefined ? [] : [parseId(groupId, "--group-id")],
      };
      const passphrases = passphraseSource(options.passphraseFile);
      let key: SigningKey;
      if (options.key !== undefined) {
        log("info", `Signing image with key material from '${options.key}'`);
        key = { kind: "dsse", key: await pemSigningKey(options.key, passphrases) };
      } else {
        log("info", "Signing image with PGP key material");
        const chosen = await choosePgpKey(options.keyidx);
        const unlocked = await unlock(chosen, passphrases);
        await ensureCanSign(unlocked);
        key = { kind: "pgp", key: wrapKey(unlocked) };
      }
      using image = await SifImage.open(path, { write: true });
      const progress = hashingProgress(image.fileSize);
      try {
        await signImage(image, key, { ...request, onProgress: progress.onProgress });
      } catch (error) {
        if (error instanceof TaskError) {
          throw new CliError(
            `Failed to sign container: integrity: ${error.message}`,
            ExitCode.Failed,
          );
        }
        throw error;
      } finally {
        progress.done();
      }
      log("info", `Signature created and applied to image '${path}'`);
    });
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
