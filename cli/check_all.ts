/**
 * Checking many images a few at a time, as `check` does: each is reported as soon as it and
 * every image before it are decided, so reports come in input order. On a terminal, a
 * progress line counts the images checked.
 *
 * @module
 */

import { type CheckContext, checkImage, type CheckResult } from "../policy/check.ts";
import type { CheckAhead } from "./check_ahead.ts";

/** How {@linkcode checkAll} goes about it. */
export interface CheckAllOptions {
  /** How many images are checked at a time. */
  jobs: number;
  /** Images opened ahead (./check_ahead.ts): the first image of each path is checked as it. */
  ahead?: readonly CheckAhead[];
}

/** Checks images `jobs` at a time, reporting each as it is decided, in input order. */
export async function checkAll(
  images: string[],
  context: CheckContext,
  { jobs, ahead }: CheckAllOptions,
  report: (result: CheckResult) => Promise<void>,
): Promise<CheckResult[]> {
  const aheadAt = new Map<number, CheckAhead["opened"]>();
  for (const { path, opened } of ahead ?? []) {
    const index = images.indexOf(path);
    if (index >= 0 && !aheadAt.has(index)) aheadAt.set(index, opened);
  }
  const results: CheckResult[] = new Array(images.length);
  const done: boolean[] = new Array(images.length).fill(false);
  let next = 0;
  let reported = 0;
  const progress = images.length > 1 && Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const flush = async () => {
    while (reported < images.length && done[reported]) {
      if (progress) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
      await report(results[reported++]);
    }
    if (progress && reported < images.length) {
      Deno.stderr.writeSync(
        encoder.encode(`\rchecked ${done.filter(Boolean).length} of ${images.length} images`),
      );
    }
  };
  // Reports go out one at a time, in input order, whichever check finishes first.
  let reporting = Promise.resolve();
  const worker = async () => {
    while (next < images.length) {
      const index = next++;
      const opened = aheadAt.get(index);
      try {
        results[index] = await checkImage(images[index], context, undefined, opened);
      } finally {
        opened?.close();
      }
      done[index] = true;
      reporting = reporting.then(flush);
      await reporting;
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, images.length) }, worker));
  return results;
}
