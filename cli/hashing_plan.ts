/**
 * What a command line will hash first, read without commander before the program loads: the
 * images of a plain `check` (./check_args.ts), or the image of `verify` and `sign` (their last
 * argument). ./worker_ahead.ts starts hashing workers for it, ./image_ahead.ts hashes its images
 * ahead, and ./run.ts asks whether there is any. A light module (no `node:` module, no npm
 * package): ./run.ts loads it before `check`'s fast path.
 *
 * @module
 */

import { CPUS, plainCheck } from "./check_args.ts";

/** What a command line will hash first (see {@linkcode hashingPlan}). */
export interface HashingPlan {
  /** The command. */
  command: "check" | "verify" | "sign";
  /** Its images, as given, each once, in order. */
  images: string[];
  /** How many it hashes at once. */
  workers: number;
  /**
   * Whether they may be hashed before the program has loaded (./image_ahead.ts): not with a
   * `check` that may use one CPU only (`-j 1`, or one CPU), which hashes once it has loaded.
   */
  early: boolean;
}

/**
 * What these arguments will hash first: the images of a plain `check` (./check_args.ts), or
 * the last argument of `verify` and `sign`, their image; undefined for anything else.
 */
export function hashingPlan(args: readonly string[]): HashingPlan | undefined {
  const plain = plainCheck(args);
  if (plain !== undefined) {
    const cpus = Math.min(plain.jobs ?? CPUS, CPUS);
    const images = [...new Set(plain.images)];
    return { command: "check", images, workers: Math.min(cpus, images.length), early: cpus >= 2 };
  }
  const command = args[0];
  if ((command !== "verify" && command !== "sign") || args.length < 2) return undefined;
  const image = args[args.length - 1];
  if (image.startsWith("-")) return undefined;
  return { command, images: [image], workers: 1, early: true };
}
