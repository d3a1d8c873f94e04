/**
 * OpenPGP keyring files as Apptainer keeps them: concatenated binary transferable keys
 * (`pgp-public`, `pgp-secret`, the global keyring). Input may also be ASCII-armored.
 *
 * Each key is parsed on its own, so one key openpgp.js cannot use does not hide the others:
 * it is reported in `skipped`, with its raw bytes kept for a faithful rewrite.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { PacketError, splitTransferableKeys } from "./packets.ts";
import { type PgpKey, wrapKey } from "./pgp_key.ts";

/** A key read from a keyring, with the raw bytes it was read from. */
export interface KeyringKey {
  /** The parsed key. */
  key: PgpKey;
  /** Its transferable-key bytes, as stored. */
  raw: Uint8Array;
}

/** A key that could not be used, kept as raw bytes. */
export interface SkippedKey {
  /** Its bytes, as stored. */
  raw: Uint8Array;
  /** Why openpgp.js cannot use it. */
  reason: string;
}

/** The keys of a keyring file. */
export interface Keyring {
  /** The keys openpgp.js can use. */
  keys: KeyringKey[];
  /** The keys it cannot use. */
  skipped: SkippedKey[];
  /** Every key's raw bytes, usable or not, in file order: what a rewrite writes back. */
  blocks: Uint8Array[];
}

/** Why a keyring could not be read: `unreadable` (the file), `malformed` (its content). */
export type KeyringErrorKind = "unreadable" | "malformed";

/** Why a keyring could not be read at all. */
export class KeyringError extends Error {
  /** Why. */
  readonly kind: KeyringErrorKind;

  /** An error of this kind. */
  constructor(kind: KeyringErrorKind, message: string) {
    super(message);
    this.name = "KeyringError";
    this.kind = kind;
  }
}

/** Options of {@linkcode readKeyringFile}. */
export interface ReadKeyringOptions {
  /** Fail when the file does not exist (default: a missing file is an empty keyring). */
  mustExist?: boolean;
}

/** Reads a keyring file. */
export async function readKeyringFile(
  path: string,
  options: ReadKeyringOptions = {},
): Promise<Keyring> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !options.mustExist) return emptyKeyring();
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new KeyringError("unreadable", `cannot read keyring ${path}: ${reason}`);
  }
  try {
    return await parseKeyring(bytes);
  } catch (error) {
    if (error instanceof KeyringError) {
      throw new KeyringError(error.kind, `${path}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Reads a key file to import (armored or binary): like {@linkcode readKeyringFile} with
 * `mustExist`, with errors that name the file as given.
 */
export async function readKeyFile(path: string): Promise<Keyring> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new KeyringError("unreadable", `cannot read ${path}: ${reason}`);
  }
  return await parseKeyring(bytes);
}

/** Parses keyring bytes: binary packets, or one or more ASCII-armored key blocks. */
export async function parseKeyring(bytes: Uint8Array): Promise<Keyring> {
  const keyring = emptyKeyring();
  for (const binary of await dearmor(bytes)) {
    let raws: Uint8Array[];
    try {
      raws = splitTransferableKeys(binary);
    } catch (error) {
      if (!(error instanceof PacketError)) throw error;
      throw new KeyringError("malformed", `not an OpenPGP keyring: ${error.message}`);
    }
    for (const raw of raws) {
      keyring.blocks.push(raw);
      try {
        keyring.keys.push({ key: wrapKey(await openpgp.readKey({ binaryKey: raw })), raw });
      } catch (error) {
        keyring.skipped.push({ raw, reason: (error as Error).message });
      }
    }
  }
  return keyring;
}

/** A keyring with no keys. */
export function emptyKeyring(): Keyring {
  return { keys: [], skipped: [], blocks: [] };
}

const ARMOR_BEGIN = "-----BEGIN PGP ";

/** The binary packet streams of `bytes`: itself, or the content of each armored block. */
async function dearmor(bytes: Uint8Array): Promise<Uint8Array[]> {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(0, 4096));
  if (!text.trimStart().startsWith(ARMOR_BEGIN)) return [bytes];
  const all = new TextDecoder().decode(bytes);
  const blocks = all.split(/(?=-----BEGIN PGP )/).filter((block) => block.startsWith(ARMOR_BEGIN));
  const binaries: Uint8Array[] = [];
  for (const block of blocks) {
    try {
      binaries.push((await openpgp.unarmor(block)).data as Uint8Array);
    } catch (error) {
      throw new KeyringError(
        "malformed",
        `not a valid ASCII-armored key block: ${(error as Error).message}`,
      );
    }
  }
  return binaries;
}
