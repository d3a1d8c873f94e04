/**
 * `siftrust key search|pull|push`: Apptainer's keyserver commands. They talk to the primary
 * keyserver that the configuration resolution chooses (the active remote's first keyserver not
 * skipped), or to `--url` (`APPTAINER_URL`), over HKP. Failures end with one `ERROR:` line and
 * exit 2. Registered on the `key` group by cli/program.ts (see cli/commands/key.ts).
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import {
  countMatches,
  HkpError,
  indexEntries,
  IndexError,
  KeyTransferError,
  parseIndex,
  parsePullArgument,
  publishKey,
  pullKey,
  pushableKey,
  searchIndex,
} from "../../core/keyserver/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import {
  keyOperation,
  keyResolution,
  keyringFiles,
  publicKeyringPath,
  requireRootForGlobal,
} from "../keyrings.ts";
import { primaryKeyserver, printLoginHelp } from "../keys.ts";
import { log, print } from "../output.ts";
import { indexTable } from "../render/keys_search.ts";

/** Adds `search`, `pull` and `push` to the `key` command group. */
export function registerKeyRemote(key: Command): void {
  key.command("search")
    .description(
      "search the keyserver for public keys by name, email, key ID (0x…) or fingerprint",
    )
    .argument("<term>", "text to search for; upper-case hex (8+ digits) is taken as a key ID")
    .addOption(urlOption())
    .option("-l, --long-list", "show fingerprints, algorithms, dates and status")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust key search alice@example.org\n  siftrust key search --long-list 0xF38D871E",
    )
    .action(async (term, options) => {
      const keyserver = await primaryKeyserver(keyResolution(options));
      const search = /^[0-9A-F]{8,}$/.test(term) ? `0x${term}` : term;
      let answer: string;
      try {
        answer = await searchIndex(keyserver, search);
      } catch (error) {
        throw keyserverFailure("search failed: ", error);
      }
      let index, table: string;
      try {
        index = parseIndex(answer);
        table = indexTable(
          indexEntries(index, options.longList === true),
          options.longList === true,
        );
      } catch (error) {
        if (!(error instanceof IndexError)) throw error;
        throw new CliError(
          `search failed: the answer of ${keyserver.uri} is not a valid key index: ${error.message}`,
          ExitCode.Usage,
        );
      }
      print(`Showing ${index.keys.length} results\n\n${table}`);
      if (!countMatches(index)) {
        throw new CliError(
          `search failed: failed to convert machine readable to human readable output correctly: ${keyserver.uri} announced ${index.announced} keys and sent ${index.keys.length}`,
          ExitCode.Usage,
        );
      }
    });

  key.command("pull")
    .description("fetch a public key from the keyserver into your (or the global) keyring")
    .argument("<fingerprint>", "the key's fingerprint (40 hex digits) or short key ID (8)")
    .addOption(urlOption())
    .option("-g, --global", "add it to the global keyring (needs root)")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nCheck the fingerprint with its owner first: a key in your keyring is a key you trust." +
        "\n\nExample:\n  siftrust key pull 8232570480B868E1473AEEB03DBCBA1EE9D661E5",
    )
    .action(async (wanted, options) => {
      const failed = "pull failed: unable to pull key from server: ";
      const hex = transfer(failed, () => parsePullArgument(wanted));
      requireRootForGlobal("pull", options);
      const keyserver = await primaryKeyserver(keyResolution(options));
      const files = await keyringFiles(options);
      let added: number;
      try {
        added = await keyOperation(failed, () => pullKey(keyserver, hex, files));
      } catch (error) {
        throw transferFailure(failed, keyserverFailure(failed, error));
      }
      print(`${added} key(s) added to keyring of trust ${files.publicKeyring}\n`);
    });

  key.command("push")
    .description("publish a public key of your (or the global) keyring on the keyserver")
    .argument("<fingerprint|keyid>", "the key's fingerprint (40 hex digits) or key ID (16)")
    .addOption(urlOption())
    .option("-g, --global", "take it from the global keyring")
    .option("-d, --keysdir <dir>", "use this key folder instead of your own")
    .addHelpText(
      "after",
      "\nExample:\n  siftrust key push 8232570480B868E1473AEEB03DBCBA1EE9D661E5",
    )
    .action(async (wanted, options) => {
      const failed = "push failed: ";
      let found;
      try {
        found = await keyOperation(failed, () => pushableKey(publicKeyringPath(options), wanted));
      } catch (error) {
        throw transferFailure(failed, error);
      }
      const keyserver = await primaryKeyserver(keyResolution(options));
      let summary: string;
      try {
        summary = await publishKey(keyserver, found.raw);
      } catch (error) {
        if (!(error instanceof HkpError)) throw error;
        if (error.status === 401) {
          printLoginHelp([`  4) Push key using "siftrust key push ${found.fingerprint}"`]);
          throw new CliError(`${failed}unauthorized or missing token`, ExitCode.Usage);
        }
        throw new CliError(
          `${failed}key server did not accept PGP key: ${error.describe()}`,
          ExitCode.Usage,
        );
      }
      if (summary !== "") log("info", `Key server response: ${summary}`);
      print(`public key \`${wanted}' pushed to server successfully\n`);
    });
}

function urlOption() {
  return new Option(
    "-u, --url <url>",
    "use this keyserver instead of the active remote's primary keyserver",
  ).env("APPTAINER_URL");
}

/** Runs a key argument check, its refusal ending the command after `prefix` (exit 2). */
function transfer<T>(prefix: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw transferFailure(prefix, error);
  }
}

/** A KeyTransferError as one line after `prefix` (exit 2); anything else as it is. */
function transferFailure(prefix: string, error: unknown): unknown {
  return error instanceof KeyTransferError
    ? new CliError(`${prefix}${error.message}`, ExitCode.Usage)
    : error;
}

/** A keyserver failure as Apptainer words it: 401 (with the login help), 404, or the error. */
function keyserverFailure(prefix: string, error: unknown): unknown {
  if (!(error instanceof HkpError)) return error;
  if (error.status === 401) {
    printLoginHelp();
    return new CliError(`${prefix}unauthorized or missing token`, ExitCode.Usage);
  }
  if (error.status === 404) {
    return new CliError(`${prefix}no matching keys found for fingerprint`, ExitCode.Usage);
  }
  return new CliError(`${prefix}failed to get key: ${error.describe()}`, ExitCode.Usage);
}
