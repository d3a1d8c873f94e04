/**
 * A progress line on stderr while an image is hashed: only on a terminal, and only for
 * images of 256 MiB and more.
 *
 * @module
 */

import type { ProgressCallback } from "../core/integrity/mod.ts";
import { readableSize } from "./render/go_format.ts";

/** Images smaller than this hash too fast to need a progress line. */
export const PROGRESS_THRESHOLD: number = 256 << 20;

/** A progress callback for hashing `imageSize` bytes, or undefined when none is wanted. */
export function hashingProgress(
  imageSize: number,
): { onProgress?: ProgressCallback; done(): void } {
  if (imageSize < PROGRESS_THRESHOLD || !Deno.stderr.isTerminal()) return { done() {} };
  const encoder = new TextEncoder();
  let shown = -1;
  let drawn = false;
  return {
    onProgress(done, total) {
      const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
      if (percent === shown) return;
      shown = percent;
      drawn = true;
      const line = `\rHashing: ${String(percent).padStart(3)}% (${readableSize(done)} of ${
        readableSize(total)
      })`;
      Deno.stderr.writeSync(encoder.encode(line + "\x1b[K"));
    },
    done() {
      if (drawn) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    },
  };
}
