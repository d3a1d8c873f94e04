/**
 * `siftrust key search|pull|push`: Apptainer's keyserver commands. They talk to the primary
 * keyserver of the active remote (the first one not skipped), or to `--url`
 * (`APPTAINER_URL`), over HKP. Failures end with one `ERROR:` line and exit 2.
 *
 * Unlike Apptainer, `key pull` checks that the key the keyserver sent is the key asked for
 * (by fingerprint, or by the last 8 hex digits of the fingerprint of the key or a subkey), and
 * adds nothing otherwise.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import * as openpgp from "openpgp";
import type { Keyserver } from "../../core/config/mod.ts";
import { FileWriteError } from "../../core/files/atomic.ts";
import {
  algorithmName,
  countMatches,
  dateSeconds,
  HkpError,
  IndexError,
  type KeyIndex,
  keyStatus,
  lookupKey,
  parseIndex,
  printable,
  pushKey,
  searchIndex,
  shortKeyId,
} from "../../core/keyserver/mod.ts";
import {
  importKeys,
  KeyManagementError,
  KeyringError,
  type KeyringFiles,
  type KeyringKey,
  readKeyringFile,
} from "../../core/keys/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import { KeyserverSelectionError, printLoginHelp, selectKeyservers } from "../keys.ts";
import { displayText, log, print } from "../output.ts";
import { keyringFiles, type Location, locationsFor, requireRootForGlobal } from "./key_files.ts";
import { goUtcTime } from "../render/go_format.ts";
import { tabwrite } from "../render/tabwriter.ts";

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
      const keyserver = await primaryKeyserver(options.url);
      const search = /^[0-9A-F]{8,}$/.test(term) ? `0x${term}` : term;
      let answer: string;
      try {
        answer = await searchIndex(keyserver, search);
      } catch (error) {
        throw keyserverFailure("search failed: ", error);
      }
      let index: KeyIndex;
      let table: string;
      try {
        index = parseIndex(answer);
        table = indexTable(index, options.longList === true);
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
      const hex = parsePullArgument(wanted, failed);
      requireRootForGlobal("pull", options);
      const keyserver = await primaryKeyserver(options.url);
      let keyring;
      try {
        keyring = await lookupKey(keyserver, hex);
      } catch (error) {
        throw keyserverFailure(failed, error);
      }
      const found = pulledKey(keyring.keys, keyring.skipped, hex, failed);
      const files = await keyringFiles(options);
      const added = await addPulled(files, found, failed);
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
      if (wanted.length !== 16 && wanted.length !== 40) {
        throw new CliError(
          `${failed}please provide a keyid(16 chars) or a full fingerprint(40 chars)`,
          ExitCode.Usage,
        );
      }
      if (!/^[0-9a-fA-F]+$/.test(wanted)) {
        throw new CliError(
          `${failed}"${
            printable(wanted)
          }" is not hexadecimal: give the key ID (16 hex digits) or fingerprint (40) that \`siftrust key list\` shows`,
          ExitCode.Usage,
        );
      }
      const path = keyringPath(options);
      let keyring;
      try {
        keyring = await readKeyringFile(path);
      } catch (error) {
        if (!(error instanceof KeyringError)) throw error;
        throw new CliError(`${failed}${error.message}`, ExitCode.Usage);
      }
      if (keyring.keys.length === 0) {
        throw new CliError(
          `${failed}no public keys in local store to choose from (${path})`,
          ExitCode.Usage,
        );
      }
      const upper = wanted.toUpperCase();
      const matches = keyring.keys.filter(({ key }) =>
        key.getKeys().some((k) =>
          upper.length === 16
            ? k.getKeyID().toHex().toUpperCase() === upper
            : k.getFingerprint().toUpperCase() === upper
        )
      );
      if (matches.length !== 1) {
        throw new CliError(
          `${failed}could not find the requested key${
            matches.length > 1 ? ` (${matches.length} keys of ${path} match it)` : ` in ${path}`
          }`,
          ExitCode.Usage,
        );
      }
      const [{ key: entity, raw }] = matches;
      const keyserver = await primaryKeyserver(options.url);
      let answer: string;
      try {
        answer = await pushKey(keyserver, armoredWithChecksum(raw));
      } catch (error) {
        if (error instanceof HkpError && error.status === 401) {
          printLoginHelp([
            `  4) Push key using "siftrust key push ${entity.getFingerprint().toUpperCase()}"`,
          ]);
          throw new CliError(`${failed}unauthorized or missing token`, ExitCode.Usage);
        }
        if (!(error instanceof HkpError)) throw error;
        throw new CliError(
          `${failed}key server did not accept PGP key: ${error.describe()}`,
          ExitCode.Usage,
        );
      }
      const summary = answerSummary(answer);
      if (summary !== "") log("info", `Key server response: ${summary}`);
      print(`public key \`${wanted}' pushed to server successfully\n`);
    });
}

/**
 * `key newpair --push`: publishes a new public key on the primary keyserver, and says how it
 * went. As in Apptainer, a failed push does not fail the command: the key pair exists.
 */
export async function pushNewKey(raw: Uint8Array): Promise<string> {
  try {
    await pushKey(await primaryKeyserver(undefined), armoredWithChecksum(raw));
    return "Key successfully pushed to keystore";
  } catch (error) {
    const reason = error instanceof HkpError ? error.describe() : (error as Error).message;
    return `Failed to push newly created key to keystore: ${reason}`;
  }
}

function urlOption() {
  return new Option(
    "-u, --url <url>",
    "use this keyserver instead of the active remote's primary keyserver",
  ).env("APPTAINER_URL");
}

/** The keyserver key commands use: `--url`, else the primary keyserver. */
async function primaryKeyserver(url: string | undefined): Promise<Keyserver> {
  let keyservers: Keyserver[];
  try {
    keyservers = await selectKeyservers(url);
  } catch (error) {
    if (!(error instanceof KeyserverSelectionError)) throw error;
    throw new CliError(`Keyserver client failed: ${error.message}`, ExitCode.Usage);
  }
  if (keyservers.length === 0) {
    throw new CliError(
      "Keyserver client failed: no keyserver configured: add one with `siftrust keyserver add URL`, or name one with --url URL",
      ExitCode.Usage,
    );
  }
  return keyservers[0];
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

// ------------------------------------------------------------------------------------------
// search

/**
 * The search results as Apptainer lays them out (Go tabwriter, 2 spaces between columns):
 * `KEY ID  BITS  NAME/EMAIL`, or with `long` `FINGERPRINT  ALGORITHM  BITS  CREATION DATE
 * EXPIRATION DATE  STATUS  NAME/EMAIL`. The first user ID shares the key's row, the others
 * get rows of their own; an empty line precedes every key after the first (so each aligns on
 * its own). Throws IndexError for an algorithm field that is not a number (long form only).
 */
export function indexTable(index: KeyIndex, long: boolean): string {
  const rows = [
    long
      ? "FINGERPRINT\tALGORITHM\tBITS\tCREATION DATE\tEXPIRATION DATE\tSTATUS\tNAME/EMAIL"
      : "KEY ID\tBITS\tNAME/EMAIL",
  ];
  index.keys.forEach((key, i) => {
    if (i > 0) rows.push("");
    const lead = long
      ? [
        cell(key.key),
        algorithmName(key.algorithm),
        cell(key.bits),
        indexDate(key.created),
        indexDate(key.expires),
        keyStatus(key.flags),
      ]
      : [cell(shortKeyId(key.key)), cell(key.bits)];
    const [first, ...others] = key.userIds.length > 0 ? key.userIds : [""];
    rows.push([...lead, cell(first)].join("\t"));
    for (const userId of others) rows.push([...lead.map(() => ""), cell(userId)].join("\t"));
  });
  return tabwrite(`${rows.join("\n")}\n`, 2);
}

/** Untrusted text from the keyserver, safe in a table cell (no tabs or control characters). */
function cell(text: string): string {
  return displayText(text);
}

/** A date field: Unix seconds as Go prints a local time; `none`, empty or junk as sent. */
function indexDate(field: string): string {
  const seconds = dateSeconds(field);
  return seconds === undefined ? cell(field) : goLocalTime(seconds);
}

const pad2 = (n: number) => String(n).padStart(2, "0");

let zoneFormats: Intl.DateTimeFormat[] | undefined;

/** Formats that name the local zone: English locales know different abbreviations. */
function zoneNames(): Intl.DateTimeFormat[] {
  zoneFormats ??= ["en-US", "en-GB", "en-IN", "en-AU", "en-ZA"].map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZoneName: "short" })
  );
  return zoneFormats;
}

/**
 * A Unix time as Go's `time.Unix(s, 0).String()` prints it in the local time zone:
 * `2022-02-23 15:12:19 -0800 PST`, `2022-02-23 23:12:19 +0000 UTC`. The zone abbreviation is
 * one that `Intl` knows in an English locale (PST, CET, BST, IST, AEST…); where it knows
 * none, the numeric form tzdata uses for such zones (`+09`) is shown.
 */
export function goLocalTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return String(seconds);
  const east = -date.getTimezoneOffset();
  const sign = east < 0 ? "-" : "+";
  const abs = Math.abs(east);
  const offset = `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  const named = zoneNames().map((format) =>
    format.formatToParts(date).find((part) => part.type === "timeZoneName")?.value ?? ""
  ).find((name) => /^[A-Z]{3,5}$/.test(name));
  const zone = named ??
    (east === 0
      ? "UTC"
      : `${sign}${pad2(Math.floor(abs / 60))}${abs % 60 === 0 ? "" : pad2(abs % 60)}`);
  return `${goUtcTime(seconds + east * 60).replace(/ \+0000 UTC$/, "")} ${offset} ${zone}`;
}

// ------------------------------------------------------------------------------------------
// pull

/**
 * The hex of a `key pull` argument: 8 or 40 hex digits, either case (Apptainer's rules and
 * messages: `failed to decode fingerprint: encoding/hex: …`, `not a valid key length: …`).
 */
function parsePullArgument(text: string, prefix: string): string {
  const invalid = hexDecodeError(text);
  if (invalid !== undefined) {
    throw new CliError(
      `${prefix}failed to decode fingerprint: ${invalid} (give 8 or 40 hex digits, without 0x)`,
      ExitCode.Usage,
    );
  }
  if (text.length !== 8 && text.length !== 40) {
    throw new CliError(
      `${prefix}not a valid key length: only accepts 8, or 40 chars`,
      ExitCode.Usage,
    );
  }
  return text.toUpperCase();
}

/** Go's `hex.DecodeString` error for `text`, or undefined when it decodes. */
function hexDecodeError(text: string): string | undefined {
  const chars = [...text];
  const valid = (c: string) => /^[0-9a-fA-F]$/.test(c);
  const invalid = (c: string) =>
    `encoding/hex: invalid byte: U+${
      c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")
    } '${printable(c)}'`;
  for (let i = 1; i < chars.length; i += 2) {
    if (!valid(chars[i - 1])) return invalid(chars[i - 1]);
    if (!valid(chars[i])) return invalid(chars[i]);
  }
  if (chars.length % 2 === 1) {
    if (!valid(chars[chars.length - 1])) return invalid(chars[chars.length - 1]);
    return "encoding/hex: odd length hex string";
  }
  return undefined;
}

/** The one key the keyserver sent, checked against what was asked for. */
function pulledKey(
  keys: KeyringKey[],
  skipped: { reason: string }[],
  hex: string,
  prefix: string,
): KeyringKey {
  if (keys.length === 0) {
    throw new CliError(
      skipped.length > 0
        ? `${prefix}the keyserver sent a key siftrust cannot use: ${printable(skipped[0].reason)}`
        : `${prefix}no keys in keyring`,
      ExitCode.Usage,
    );
  }
  if (keys.length + skipped.length > 1) {
    throw new CliError(
      `${prefix}server returned more than one key for unique fingerprint`,
      ExitCode.Usage,
    );
  }
  const [found] = keys;
  const fingerprint = found.key.getFingerprint().toUpperCase();
  const matches = hex.length === 40
    ? fingerprint === hex
    : found.key.getKeys().some((k) => k.getFingerprint().toUpperCase().endsWith(hex));
  if (!matches) {
    throw new CliError(
      `${prefix}the keyserver sent the key ${fingerprint}, not the key ${hex} asked for: nothing was added`,
      ExitCode.Usage,
    );
  }
  if (found.key.isPrivate()) {
    throw new CliError(
      `${prefix}the keyserver sent a secret key: nothing was added`,
      ExitCode.Usage,
    );
  }
  return found;
}

/**
 * Adds a pulled key to the public keyring, unless a key with its primary key ID is there
 * already (as Apptainer does). Returns how many keys were added (0 or 1).
 */
async function addPulled(files: KeyringFiles, found: KeyringKey, prefix: string): Promise<number> {
  const keyId = found.key.getKeyID().toHex();
  try {
    const present = await readKeyringFile(files.publicKeyring);
    if (present.keys.some(({ key }) => key.getKeyID().toHex() === keyId)) return 0;
    await importKeys(files, { keys: [found], skipped: [], blocks: [found.raw] });
    return 1;
  } catch (error) {
    if (error instanceof KeyManagementError && /already belongs/.test(error.message)) return 0;
    if (error instanceof KeyManagementError || error instanceof KeyringError) {
      throw new CliError(`${prefix}${error.message}`, ExitCode.Usage);
    }
    if (error instanceof FileWriteError) {
      throw new CliError(`${prefix}${error.message}`, ExitCode.Failed);
    }
    throw error;
  }
}

// ------------------------------------------------------------------------------------------
// keyrings (as `key import` finds them)

/** The public keyring a key is pushed from. */
function keyringPath(options: Location): string {
  const locations = locationsFor(options);
  return options.global ? locations.globalKeyring : locations.publicKeyring;
}

// ------------------------------------------------------------------------------------------
// push

/**
 * The armored form of a public key, with the CRC-24 checksum line that openpgp.js leaves out
 * by default and some keyservers (SKS) require.
 */
function armoredWithChecksum(raw: Uint8Array): string {
  return openpgp.armor(openpgp.enums.armor.publicKey, raw, undefined, undefined, undefined, true);
}

/** A keyserver's answer to a push, as one line: HTML reduced to its text. */
export function answerSummary(answer: string): string {
  const text = answer
    .replace(/<(head|style|script)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!DOCTYPE[^>]*>|<\?xml[^>]*\?>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'").replace(/&nbsp;/g, " ").replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
  return printable(text);
}
