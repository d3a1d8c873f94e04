/**
 * `siftrust key import|export|remove`: keys between files and Apptainer's keyrings. Registered
 * on the `key` group by cli/program.ts (see cli/commands/key.ts).
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import {
  armorKey,
  findKey,
  importKeys,
  readKeyFile,
  readKeyringFile,
  removeKey,
} from "../../core/keys/mod.ts";
import { reencryptKey } from "../../core/keys/unlock.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { keyOperation, keyringFiles, requireRootForGlobal } from "../keyrings.ts";
import { print } from "../output.ts";
import { newPassphrase, passphraseSource, withPassphrase } from "../passphrase.ts";
import { answer } from "../prompt.ts";
import { keyListText } from "../render/keys_text.ts";

/** A fingerprint argument: 40 hex digits, an optional 0x, any case. */
function parseFingerprint(text: string): string {
  const hex = text.replace(/^0x/i, "").toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) {
    throw usageError(
      `invalid fingerprint "${text}": give the 40 hex digits that \`siftrust key list\` shows`,
    );
  }
  return hex;
}

/**
 * Apptainer's `key export FILE`: the keys listed as `key list` shows them, and the one whose
 * number is typed (or piped) is chosen. A secret key is exported as stored (still encrypted),
 * so no passphrase is asked.
 */
async function chooseKey(path: string, secret: boolean, failed: string) {
  const { keys } = await keyOperation(failed, () => readKeyringFile(path));
  if (keys.length === 0) throw usageError(`${failed}keyring is empty: ${path} holds no key`);
  print(keyListText(keys.map(({ key }) => key.info)));
  const choice = await answer(`Enter # of ${secret ? "private" : "public"} key to use : `);
  const index = /^[0-9]+$/.test(choice) ? Number(choice) : NaN;
  if (!(index < keys.length)) {
    throw usageError(
      `${failed}invalid choice "${choice}": give a key number from 0 to ${keys.length - 1}`,
    );
  }
  return keys[index];
}

/** Adds `import`, `export` and `remove` to the `key` command group. */
export function registerKeyFiles(key: Command): void {
  key.command("import")
    .description("import the keys of a file (armored or binary) into your keyrings")
    .argument("<file>", "key file")
    .option("-g, --global", "import into the global keyring (public keys only; needs root)")
    .option("--new-password", "re-encrypt imported secret keys with a new passphrase")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust key import alice.asc\n  sudo siftrust key import --global site-keys.gpg",
    )
    .action(async (file, options) => {
      requireRootForGlobal("import", options);
      const failed = "key import command failed: ";
      const input = await keyOperation(failed, () => readKeyFile(file));
      const files = await keyringFiles(options);
      const reencrypt = options.newPassword
        ? (key: Parameters<typeof reencryptKey>[0]) =>
          reencryptKey(
            key,
            (attempt) =>
              withPassphrase(
                passphraseSource(undefined, "Enter your key password : "),
                `key ${key.fingerprint}`,
                attempt,
              ),
            () => newPassphrase(undefined, "Enter a new password for this key : "),
          )
        : undefined;
      const results = await keyOperation(failed, () => importKeys(files, input, { reencrypt }));
      for (const { fingerprint, keyring, status } of results) {
        const ring = keyring === "secret" ? "private" : "public";
        print(
          status === "added"
            ? `Key with fingerprint ${fingerprint} successfully added to the ${ring} keyring\n`
            : `Key with fingerprint ${fingerprint} is already in the ${ring} keyring\n`,
        );
      }
    });

  key.command("export")
    .description(
      "write one key of your keyrings to a file: the key with this fingerprint, or (Apptainer's " +
        "form, FILE alone) the one you choose from a numbered list",
    )
    .argument("<fingerprint-or-file>", "the key's fingerprint (see `siftrust key list`), or FILE")
    .argument("[file]", "output file")
    .option("-s, --secret", "export the secret key")
    .option("-a, --armor", "ASCII-armored output")
    .option("-g, --global", "export from the global keyring")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust key export --armor 8232570480B868E1473AEEB03DBCBA1EE9D661E5 my-key.asc\n" +
        "  siftrust key export --armor my-key.asc    (choose the key; or pipe its number)",
    )
    .action(async (first, second, options) => {
      const fingerprint = second === undefined ? undefined : parseFingerprint(first);
      const out = second ?? first;
      if (options.global && options.secret) {
        throw usageError("the global keyring holds no secret keys");
      }
      const files = await keyringFiles(options);
      const path = options.secret ? files.secretKeyring! : files.publicKeyring;
      const failed = "key export command failed: ";
      const found = fingerprint === undefined
        ? await chooseKey(path, options.secret === true, failed)
        : await keyOperation(failed, () => findKey(path, fingerprint));
      if (found === undefined) {
        throw usageError(`${failed}no key with fingerprint ${fingerprint} in ${path}`);
      }
      const bytes = options.armor
        ? new TextEncoder().encode(armorKey(found.raw, options.secret === true))
        : found.raw;
      try {
        await Deno.writeFile(out, bytes, { mode: options.secret ? 0o600 : 0o644 });
      } catch (error) {
        throw new CliError(
          `${failed}cannot write ${out}: ${(error as Error).message}`,
          ExitCode.Failed,
        );
      }
      print(
        `${
          options.secret ? "Private" : "Public"
        } key with fingerprint ${found.key.fingerprint} correctly exported to file: ${out}\n`,
      );
    });

  key.command("remove")
    .description("remove a key from your keyrings (the public one by default)")
    .argument("<fingerprint>", "the key's fingerprint (see `siftrust key list`)")
    .option("-p, --public", "remove the public key (the default)")
    .option("-s, --secret", "remove the secret key")
    .option("-b, --both", "remove the public and the secret key")
    .option("-g, --global", "remove from the global keyring (needs root)")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExample:\n  siftrust key remove --both 8232570480B868E1473AEEB03DBCBA1EE9D661E5",
    )
    .action(async (fingerprintText, options) => {
      requireRootForGlobal("remove", options);
      const fingerprint = parseFingerprint(fingerprintText);
      const secret = options.both || options.secret === true;
      const targets = { public: options.both || options.public === true || !secret, secret };
      const files = await keyringFiles(options);
      const removed = await keyOperation(
        "Unable to remove key: ",
        () => removeKey(files, fingerprint, targets),
      );
      const notFound = "no key matching given fingerprint found";
      if (targets.public && targets.secret && !removed.public && !removed.secret) {
        throw usageError(
          `Unable to remove neither public key: ${notFound}, nor private key: ${notFound}`,
        );
      }
      if (!targets.secret && !removed.public) {
        throw usageError(`Unable to remove public key: ${notFound}`);
      }
      if (!targets.public && !removed.secret) {
        throw usageError(`Unable to remove private key: ${notFound}`);
      }
      if (removed.public) {
        print(`Public key with fingerprint ${fingerprint} removed from ${files.publicKeyring}\n`);
      }
      if (removed.secret) {
        print(`Private key with fingerprint ${fingerprint} removed from ${files.secretKeyring}\n`);
      }
    });
}
