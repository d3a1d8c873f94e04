/**
 * Finding the public key that made a signature, in an ordered list of keyrings: the global
 * keyring, the user's, extra keyring files, and (when configured) keyservers.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { openpgpKey, type PgpKey } from "./pgp_key.ts";

/** Where a key came from. */
export interface KeySource {
  /** `global`: the system keyring; `local`: the user's; `file`: a keyring named on the
   * command line or in a policy; `remote`: a keyserver. */
  kind: "global" | "local" | "file" | "remote";
  /** The file path or keyserver URL. */
  location: string;
}

/** A key and where it was found. */
export interface FoundKey {
  /** The key. */
  key: PgpKey;
  /** Where it was found. */
  source: KeySource;
}

/** Looks up the key that owns one of these key IDs (the issuer of a signature). */
export interface KeyFinder {
  /** The first key with a (sub)key that may sign and has one of these IDs (16 hex digits). */
  find(keyIds: string[]): Promise<FoundKey | undefined>;
}

/** Keys held in memory, searched in order: the first key that has the key ID wins. */
export class KeySet implements KeyFinder {
  readonly #entries: FoundKey[];

  /** Keys, in search order. */
  constructor(entries: FoundKey[]) {
    this.#entries = entries;
  }

  /** The keys, in search order. */
  get entries(): readonly FoundKey[] {
    return this.#entries;
  }

  /** The first key with a (sub)key that may sign and has one of these IDs. */
  find(keyIds: string[]): Promise<FoundKey | undefined> {
    return Promise.resolve(
      this.#entries.find((entry) => keyIds.some((id) => canSign(openpgpKey(entry.key), id))),
    );
  }
}

/**
 * Whether a key has a (sub)key with this key ID that may sign, as go-crypto's lookup asks:
 * the latest self-signature (primary) or binding signature (subkey) must not have key flags
 * that leave out signing. Validity (expiry, revocation) is judged later, at verification.
 */
export function canSign(key: openpgp.Key, keyId: string): boolean {
  if (!/^[0-9A-Fa-f]{16}$/.test(keyId)) return false;
  const wanted = keyId.toLowerCase();
  // The all-zero (wildcard) key ID stands for any key, as openpgp.js's lookup treats it.
  const components = key.getKeys().filter((component) =>
    wanted === "0000000000000000" || component.getKeyID().toHex() === wanted
  );
  return components.some((component) => {
    const signatures = component === key
      ? key.users.flatMap((user) => user.selfCertifications)
      : (component as openpgp.Subkey).bindingSignatures;
    const latest = signatures.reduce<openpgp.SignaturePacket | undefined>(
      (best, s) => best === undefined || s.created! > best.created! ? s : best,
      undefined,
    );
    const flags = latest?.keyFlags;
    return flags === null || flags === undefined ||
      (flags[0] & openpgp.enums.keyFlags.signData) !== 0;
  });
}

/** Searches several finders in order (e.g. the keyrings, then keyservers). */
export function chainFinders(...finders: KeyFinder[]): KeyFinder {
  return {
    async find(keyIds) {
      for (const finder of finders) {
        const found = await finder.find(keyIds);
        if (found !== undefined) return found;
      }
      return undefined;
    },
  };
}
