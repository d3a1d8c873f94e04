/**
 * `siftrust key` (alias `keys`): Apptainer's keyring commands on Apptainer's own files —
 * newpair, list, import, export, remove.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import * as openpgp from "openpgp";
import {
  addKeyPair,
  findKey,
  generateKeyPair,
  importKeys,
  KeyManagementError,
  KeyringError,
  parseKeyring,
  readKeyringFile,
  removeKey,
} from "../../core/keys/mod.ts";
import { FileWriteError } from "../../core/files/atomic.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { displayText, log, print } from "../output.ts";
import { keyringFiles, requireRootForGlobal } from "./key_files.ts";
import { newPassphrase, passphraseSource, withPassphrase } from "../passphrase.ts";
import { ask } from "../prompt.ts";
import { keyListText } from "../render/keys_text.ts";
import { pushNewKey, registerKeyRemote } from "./key_remote.ts";

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

/** Runs a key operation, turning its refusals into one clear line (exit 2). */
async function keyOperation<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof KeyManagementError || error instanceof KeyringError) {
      throw new CliError(`${what}: ${error.message}`, ExitCode.Usage);
    }
    if (error instanceof FileWriteError) {
      throw new CliError(`${what}: ${error.message}`, ExitCode.Failed);
    }
    throw error;
  }
}

/** Adds the `key` command group to the program. */
export function registerKey(program: Command): void {
  const key = program.command("key").alias("keys")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust key list\n  siftrust key newpair --name 'Ada L' --email ada@example.org --comment build\n  siftrust key import alice.asc",
    )
    .description(
      "manage OpenPGP keys in Apptainer's keyrings: yours ($APPTAINER_KEYSDIR or ~/.apptainer/keys) " +
        "and the global one ($SIFTRUST_SYSCONFDIR/apptainer/global-pgp-public)",
    );

  key.command("newpair")
    .description("create a new key pair in your keyrings")
    .option("-N, --name <name>", "the key owner's name")
    .option("-E, --email <email>", "the key owner's email address")
    .option("-C, --comment <comment>", "a comment")
    .option("-P, --password <passphrase>", "the passphrase (empty: none); prompted for when absent")
    .option("-b, --bit-length <bits>", "RSA key size", "4096")
    .option("--key-type <type>", "rsa, or ed25519 (a v4 EdDSA key that gpg accepts)", "rsa")
    .option("-U, --push", "publish the new public key on the primary keyserver")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExample:\n  siftrust key newpair --name 'Ada L' --email ada@example.org --comment 'build key'",
    )
    .action(async (options) => {
      if (options.keyType !== "rsa" && options.keyType !== "ed25519") {
        throw usageError(`invalid --key-type "${options.keyType}": choose rsa or ed25519`);
      }
      const bits = Number(options.bitLength);
      if (!Number.isInteger(bits)) throw usageError(`invalid --bit-length "${options.bitLength}"`);
      const alternative = "give --name, --email and --comment";
      const name = options.name ?? await ask("Enter your name (e.g., John Doe) : ", alternative);
      const email = options.email ??
        await ask("Enter your email address (e.g., john.doe@example.com) : ", alternative);
      const comment = options.comment ??
        await ask("Enter optional comment (e.g., development keys) : ", alternative);
      const passphrase = await newPassphrase(options.password);
      const files = await keyringFiles(options);
      print("Generating Entity and OpenPGP Key Pair... ");
      const generated = await keyOperation(
        "creating newpair failed",
        () =>
          generateKeyPair({
            name,
            email,
            comment,
            passphrase,
            type: options.keyType as "rsa" | "ed25519",
            bits,
          }),
      );
      await keyOperation("creating newpair failed", () => addKeyPair(files, generated));
      print("done\n");
      log(
        "info",
        `Key with fingerprint ${generated.getFingerprint().toUpperCase()} added to ${files.secretKeyring} and ${files.publicKeyring}`,
      );
      if (options.push) print(`${await pushNewKey(generated.toPublic().write())}\n`);
    });

  key.command("list")
    .description("list the keys of your public (or secret, or the global) keyring")
    .option("-s, --secret", "list your secret keys")
    .option("-g, --global", "list the global keyring")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText("after", "\nExamples:\n  siftrust key list\n  siftrust key list --secret")
    .action(async (options) => {
      if (options.global && options.secret) {
        throw usageError(
          "While listing keys: could not list private keys: global keyring doesn't contain private keys",
        );
      }
      const files = await keyringFiles(options);
      const path = options.secret ? files.secretKeyring! : files.publicKeyring;
      const keyring = await keyOperation("While listing keys", () => readKeyringFile(path));
      for (const { reason } of keyring.skipped) {
        log("warning", `skipping a key in ${path} that siftrust cannot use: ${reason}`);
      }
      print(`${options.secret ? "Private" : "Public"} key listing (${displayText(path)}):\n\n`);
      print(keyListText(keyring.keys.map(({ key }) => key)));
    });

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
      const input = await keyOperation("key import command failed", async () => {
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(file);
        } catch (error) {
          throw new KeyManagementError(
            `cannot read ${file}: ${
              error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message
            }`,
          );
        }
        return await parseKeyring(bytes);
      });
      const files = await keyringFiles(options);
      const reencrypt = options.newPassword ? reencryptWithNewPassphrase : undefined;
      const results = await keyOperation(
        "key import command failed",
        () => importKeys(files, input, { reencrypt }),
      );
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
    .description("write one key of your keyrings to a file")
    .argument("<fingerprint>", "the key's fingerprint (see `siftrust key list`)")
    .argument("<file>", "output file")
    .option("-s, --secret", "export the secret key")
    .option("-a, --armor", "ASCII-armored output")
    .option("-g, --global", "export from the global keyring")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExample:\n  siftrust key export --armor 8232570480B868E1473AEEB03DBCBA1EE9D661E5 my-key.asc",
    )
    .action(async (fingerprintText, out, options) => {
      const fingerprint = parseFingerprint(fingerprintText);
      if (options.global && options.secret) {
        throw usageError("the global keyring holds no secret keys");
      }
      const files = await keyringFiles(options);
      const path = options.secret ? files.secretKeyring! : files.publicKeyring;
      const found = await keyOperation(
        "key export command failed",
        () => findKey(path, fingerprint),
      );
      if (found === undefined) {
        throw usageError(
          `key export command failed: no key with fingerprint ${fingerprint} in ${path}`,
        );
      }
      const type = options.secret ? openpgp.enums.armor.privateKey : openpgp.enums.armor.publicKey;
      const bytes = options.armor
        ? new TextEncoder().encode(
          openpgp.armor(type, found.raw, undefined, undefined, undefined, true),
        )
        : found.raw;
      try {
        await Deno.writeFile(out, bytes, { mode: options.secret ? 0o600 : 0o644 });
      } catch (error) {
        throw new CliError(
          `key export command failed: cannot write ${out}: ${(error as Error).message}`,
          ExitCode.Failed,
        );
      }
      print(
        `${
          options.secret ? "Private" : "Public"
        } key with fingerprint ${fingerprint} correctly exported to file: ${out}\n`,
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
        "Unable to remove key",
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
  registerKeyRemote(key);
}

/** `--new-password`: unlock an encrypted key, then encrypt it with a new passphrase. */
async function reencryptWithNewPassphrase(key: openpgp.PrivateKey): Promise<openpgp.PrivateKey> {
  const what = `key ${key.getFingerprint().toUpperCase()}`;
  const unlocked = key.isDecrypted() ? key : await withPassphrase(
    passphraseSource(undefined, "Enter your key password : "),
    what,
    async (passphrase) => {
      try {
        return await openpgp.decryptKey({ privateKey: key, passphrase });
      } catch {
        return undefined;
      }
    },
  );
  const passphrase = await newPassphrase(undefined, "Enter a new password for this key : ");
  return passphrase === ""
    ? unlocked
    : await openpgp.encryptKey({ privateKey: unlocked, passphrase });
}
