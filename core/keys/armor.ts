/**
 * ASCII armor for keys, with the CRC-24 checksum line that openpgp.js leaves out by default
 * and some keyservers (SKS) and tools require.
 *
 * @module
 */

import * as openpgp from "openpgp";

/** The armored form of a transferable key's bytes: a public key, or with `secret` a private one. */
export function armorKey(raw: Uint8Array, secret = false): string {
  const type = secret ? openpgp.enums.armor.privateKey : openpgp.enums.armor.publicKey;
  return openpgp.armor(type, raw, undefined, undefined, undefined, true);
}
