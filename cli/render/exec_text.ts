/**
 * The words of `siftrust exec` for who besides root can rewrite an image.
 *
 * @module
 */

import type { ImageWriter } from "../../policy/mod.ts";

/** "its owner (uid 1000), group 100 and anyone", from {@linkcode ImageWriter}s. */
export function writersText(writers: readonly ImageWriter[]): string {
  const words = writers.map((writer) => {
    switch (writer.kind) {
      case "owner":
        return `its owner (uid ${writer.uid})`;
      case "group":
        return `its group (gid ${writer.gid})`;
      case "others":
        return "anyone";
    }
  });
  return words.length === 1
    ? words[0]
    : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
