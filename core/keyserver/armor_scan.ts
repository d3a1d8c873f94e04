/**
 * Finding the armored OpenPGP public key blocks in a keyserver's answer (which may wrap them
 * in HTML, as SKS does). The answer is attacker data: it is size-checked first, then scanned
 * once, in linear time (no regular expression runs over it).
 *
 * @module
 */

import { withoutArmorHeaders } from "../keys/armor.ts";

/** The largest key answer parsed, in bytes; a larger one is refused. */
export const MAX_KEY_ANSWER_BYTES: number = 16 * 1024 * 1024;

const BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END = "-----END PGP PUBLIC KEY BLOCK-----";

/** Why an answer holds no usable key blocks: `too-large`, or `no-key` (no complete block). */
export type ArmorScanErrorKind = "too-large" | "no-key";

/** A key answer that cannot be used; the message is one line. */
export class ArmorScanError extends Error {
  /** What is wrong with the answer. */
  readonly kind: ArmorScanErrorKind;

  /** An error of this kind, with a one-line message. */
  constructor(kind: ArmorScanErrorKind, message: string) {
    super(message);
    this.name = "ArmorScanError";
    this.kind = kind;
  }
}

/**
 * The complete armored public key blocks of `text`, BEGIN line to END line, in order, without
 * their armor headers (a block with a malformed header is left out). A BEGIN without a later
 * END ends the scan (no later block can be complete either).
 */
export function armoredKeyBlocks(text: string): string[] {
  const blocks: string[] = [];
  let from = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, from);
    if (begin === -1) break;
    const end = text.indexOf(END, begin + BEGIN.length);
    if (end === -1) break;
    from = end + END.length;
    const block = withoutArmorHeaders(text.slice(begin, from));
    if (block !== undefined) blocks.push(block);
  }
  return blocks;
}

/**
 * The armored public key blocks of a keyserver's answer, joined by newlines for the keyring
 * parser.
 * @throws ArmorScanError `too-large` when the answer is over {@linkcode MAX_KEY_ANSWER_BYTES},
 *   `no-key` when it holds no complete block.
 */
export function keyBlocksOfAnswer(body: Uint8Array): string {
  if (body.length > MAX_KEY_ANSWER_BYTES) {
    throw new ArmorScanError(
      "too-large",
      `${body.length} bytes, more than the ${MAX_KEY_ANSWER_BYTES} read for a key`,
    );
  }
  const blocks = armoredKeyBlocks(new TextDecoder().decode(body));
  if (blocks.length === 0) {
    throw new ArmorScanError("no-key", "the answer holds no armored OpenPGP public key");
  }
  return blocks.join("\n");
}
