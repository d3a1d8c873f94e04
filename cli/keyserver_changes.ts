/**
 * The root-only keyserver list changes, `keyserver add` and `keyserver remove`, shared with
 * their deprecated aliases `remote add-keyserver` and `remote remove-keyserver`: the
 * arguments and flags in, the result line out. The rules live in core/config.
 *
 * @module
 */

import { addKeyserver, type ConfigFiles, removeKeyserver } from "../core/config/mod.ts";
import { usageError } from "./exit.ts";
import { log } from "./output.ts";

/** Parses `--order`: a whole number (0 is left to core/config, which refuses it). */
function parseOrder(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text.trim()) || Number(text) > 0xffffffff) {
    throw usageError(`invalid --order "${text}": give a position from 1 up`);
  }
  return Number(text);
}

/** `[remoteName] <url>` from the one or two arguments. */
function remoteAndUrl(first: string, second: string | undefined): { remote?: string; uri: string } {
  return second === undefined ? { uri: first } : { remote: first, uri: second };
}

/** Flags of `keyserver add`. */
export interface KeyserverAddFlags {
  /** `--order N`, as typed. */
  order?: string;
  /** `--insecure`. */
  insecure?: boolean;
}

/** `keyserver add [--order N] [--insecure] [remoteName] <url>`: adds it and says where. */
export async function runKeyserverAdd(
  files: ConfigFiles,
  first: string,
  second: string | undefined,
  flags: KeyserverAddFlags,
): Promise<void> {
  const done = await addKeyserver(files, {
    ...remoteAndUrl(first, second),
    order: parseOrder(flags.order),
    insecure: !!flags.insecure,
  });
  log("info", `Keyserver ${done.uri} added to remote "${done.remote}" as #${done.position}.`);
}

/** `keyserver remove [remoteName] <url>`: removes it and says so. */
export async function runKeyserverRemove(
  files: ConfigFiles,
  first: string,
  second: string | undefined,
): Promise<void> {
  const done = await removeKeyserver(files, remoteAndUrl(first, second));
  log("info", `Keyserver ${done.uri} removed from remote "${done.remote}".`);
}
