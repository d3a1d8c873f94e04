/**
 * ASCII armor for keys. Out: with the CRC-24 checksum line that openpgp.js leaves out by
 * default and some keyservers (SKS) and tools require. In: armor scanned in linear time before
 * openpgp.js reads it, since openpgp.js reads many armor header lines in quadratic time and
 * armor comes from images and keyservers.
 *
 * @module
 */

import * as openpgp from "openpgp";

/** The armored form of a transferable key's bytes: a public key, or with `secret` a private one. */
export function armorKey(raw: Uint8Array, secret = false): string {
  const type = secret ? openpgp.enums.armor.privateKey : openpgp.enums.armor.publicKey;
  return openpgp.armor(type, raw, undefined, undefined, undefined, true);
}

/**
 * An armored block without its armor headers (the `Key: value` lines after the BEGIN line, up
 * to the first blank line), or undefined when a header line is not `Key: value` (go-crypto
 * then skips the block). Headers carry nothing that is verified. Lines end with `\n`.
 */
export function withoutArmorHeaders(armored: string): string | undefined {
  const firstBreak = armored.indexOf("\n");
  if (firstBreak === -1) return armored;
  let at = firstBreak + 1;
  for (;;) {
    const next = armored.indexOf("\n", at);
    const line = armored.slice(at, next === -1 ? armored.length : next);
    if (line.trim() === "" || next === -1) break;
    if (!line.includes(": ")) return undefined;
    at = next + 1;
  }
  return at === firstBreak + 1 ? armored : armored.slice(0, firstBreak + 1) + armored.slice(at);
}
