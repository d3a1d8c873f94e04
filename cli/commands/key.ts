/**
 * `siftrust key` (alias `keys`): the group, and `newpair` and `list`. Module layout: this
 * module creates the group; cli/program.ts adds the subcommands of key_files.ts (import,
 * export, remove) and key_remote.ts (search, pull, push) to it, so no command module imports
 * another. Shared plumbing is in cli/keyrings.ts and cli/keys.ts.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { HkpError, publishKey } from "../../core/keyserver/mod.ts";
import { createKeyPair, readKeyringFile, rsaKeyBits } from "../../core/keys/mod.ts";
import { CliError, usageError } from "../exit.ts";
import { keyOperation, keyResolution, keyringFiles } from "../keyrings.ts";
import { primaryKeyserver } from "../keys.ts";
import { displayText, log, print } from "../output.ts";
import { newPassphrase } from "../passphrase.ts";
import { answer } from "../prompt.ts";
import { keyListText } from "../render/keys_text.ts";

/** Adds the `key` command group, with `newpair` and `list`, to the program; returns it. */
export function registerKey(program: Command): Command {
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
    .option(
      "-P, --password <passphrase>",
      "the passphrase (empty: none); asked for when absent (typed, or a line of stdin)",
    )
    .option("-b, --bit-length <bits>", "RSA key size, 2048 to 8192 (0: 2048)", "4096")
    .option("--key-type <type>", "rsa, or ed25519 (a v4 EdDSA key that gpg accepts)", "rsa")
    .option("-U, --push", "publish the new public key on the primary keyserver")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExample:\n  siftrust key newpair --name 'Ada L' --email ada@example.org --comment 'build key'",
    )
    .action(async (options) => {
      const type = options.keyType;
      if (type !== "rsa" && type !== "ed25519") {
        throw usageError(`invalid --key-type "${type}": choose rsa or ed25519`);
      }
      if (!/^[+-]?[0-9]+$/.test(options.bitLength)) {
        throw usageError(`invalid --bit-length "${options.bitLength}"`);
      }
      // The size is checked before any question (Apptainer asks them first).
      const bits = type === "rsa"
        ? await keyOperation(
          "creating newpair failed: ",
          () => Promise.resolve(rsaKeyBits(Number(options.bitLength))),
        )
        : 0;
      const name = options.name ?? await answer("Enter your name (e.g., John Doe) : ");
      const email = options.email ??
        await answer("Enter your email address (e.g., john.doe@example.com) : ");
      const comment = options.comment ??
        await answer("Enter optional comment (e.g., development keys) : ");
      const passphrase = await newPassphrase(options.password);
      const files = await keyringFiles(options);
      print("Generating Entity and OpenPGP Key Pair... ");
      let created;
      try {
        created = await keyOperation(
          "creating newpair failed: ",
          () => createKeyPair(files, { name, email, comment, passphrase, type, bits }),
        );
      } catch (error) {
        print("\n"); // as Apptainer: the half-printed line ends before the error
        throw error;
      }
      print("done\n");
      log(
        "info",
        `Key with fingerprint ${created.fingerprint} added to ${files.secretKeyring} and ${files.publicKeyring}`,
      );
      if (options.push) print(`${await pushNewKey(created.publicKey, options)}\n`);
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
      const keyring = await keyOperation("While listing keys: ", () => readKeyringFile(path));
      for (const { reason } of keyring.skipped) {
        log("warning", `skipping a key in ${path} that siftrust cannot use: ${reason}`);
      }
      print(`${options.secret ? "Private" : "Public"} key listing (${displayText(path)}):\n\n`);
      print(keyListText(keyring.keys.map(({ key }) => key.info)));
    });
  return key;
}

/**
 * `key newpair --push`: publishes a new public key on the primary keyserver, and says how it
 * went. As in Apptainer, a failed push does not fail the command: the key pair exists.
 */
async function pushNewKey(publicKey: Uint8Array, options: { keysdir?: string }): Promise<string> {
  try {
    await publishKey(await primaryKeyserver(keyResolution(options)), publicKey);
    return "Key successfully pushed to keystore";
  } catch (error) {
    if (!(error instanceof HkpError || error instanceof CliError)) throw error;
    const reason = error instanceof HkpError ? error.describe() : error.message;
    return `Failed to push newly created key to keystore: ${reason}`;
  }
}
