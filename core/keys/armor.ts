/**
 * ASCII armor (RFC 4880 §6.2) scanned in linear time, before openpgp.js reads it: openpgp.js
 * reads many armor header lines in quadratic time, and armor comes from images and keyservers.
 *
 * @module
 */

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
