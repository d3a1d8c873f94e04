/**
 * How keys are shown: the short list `sign` offers when there are several secret keys.
 *
 * @module
 */

import type * as openpgp from "openpgp";
import { primaryUserId } from "../../core/integrity/mod.ts";
import { goUtcTime } from "./go_format.ts";

/** Bit length of a key's primary key (curve keys: 256 for Ed25519, else the curve size). */
export function keyBits(key: openpgp.Key): number {
  const info = key.getAlgorithmInfo();
  return info.bits ?? 256;
}

/** The numbered list of keys, as Apptainer's sign shows it. */
export async function keyPickerText(keys: openpgp.Key[]): Promise<string> {
  const blocks = await Promise.all(
    keys.map(async (key, i) =>
      `${i}) U: ${await primaryUserId(key) ?? "unknown"}\n` +
      `   C: ${goUtcTime(Math.floor(key.getCreationTime().getTime() / 1000))}\n` +
      `   F: ${key.getFingerprint().toUpperCase()}\n` +
      `   L: ${keyBits(key)}\n` +
      "   --------\n"
    ),
  );
  return blocks.join("");
}
