/**
 * Opening an image ahead of its check, and starting to hash it (core/integrity/digests_ahead.ts),
 * so that its hashing runs while the caller loads the policy and its keys. This module loads
 * neither the policy engine nor OpenPGP: it is what `check` runs before them.
 *
 * @module
 */

import { type FileDigestsAhead, hashAhead } from "../core/integrity/digests_ahead.ts";
import { SifError } from "../core/sif/errors.ts";
import { type OpenImageFile, openImageOnce } from "../core/sif/open_once.ts";
import type { OpenedImage } from "./check.ts";

/**
 * Opens the image at `path` once, as `checkImage` (./check.ts) would, and starts hashing what
 * its signatures will need (or takes those `hashed` ahead of the opening, when they are of this
 * very image: core/integrity/digests_ahead.ts `hashFileAhead`); resolves once the hashing is
 * under way, or undefined when the path cannot be opened or read as an image (its check then
 * says why). Give the result to
 * `checkImage` as `opened`: the check then uses the image as it was read here, and the digests
 * when they are done. The caller closes it, which stops any hashing left.
 */
export async function openAhead(
  path: string,
  hashed?: FileDigestsAhead,
): Promise<OpenedImage | undefined> {
  let file: OpenImageFile;
  try {
    file = openImageOnce(path);
  } catch (error) {
    hashed?.cancel();
    if (error instanceof SifError) return undefined;
    throw error;
  }
  try {
    const image = await file.image().catch((error) => {
      hashed?.cancel();
      throw error;
    });
    const digestsAhead = await hashed?.take(image) ?? await hashAhead(image);
    return {
      ...file,
      image: () => Promise.resolve(image),
      digestsAhead,
      close: () => {
        digestsAhead.cancel();
        file.close();
      },
    };
  } catch (error) {
    file.close();
    if (error instanceof SifError) return undefined;
    throw error;
  }
}
