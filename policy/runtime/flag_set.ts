/**
 * Flag sets to look flags up in, by long or short name: one runtime's, or the union of
 * Apptainer's and SingularityCE's for a binary named `singularity` (which is either).
 *
 * @module
 */

import type { FlagSpec } from "./flags.ts";

/** The flags of one command, by long and by short name. */
export interface FlagSet {
  /** Flags by long name (without `--`). */
  readonly byLong: ReadonlyMap<string, FlagSpec>;
  /** Flags by short letter (without `-`). */
  readonly byShort: ReadonlyMap<string, FlagSpec>;
}

/** The flag set of a list of flags. */
export function flagSetOf(specs: readonly FlagSpec[]): FlagSet {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byLong.set(spec.long, spec);
    if (spec.short !== undefined) byShort.set(spec.short, spec);
  }
  return { byLong, byShort };
}

/**
 * The flags either runtime accepts. A name both know with a different arity, or that either
 * refuses, is refused: the image argument must sit at the same place whichever runtime the
 * binary turns out to be.
 */
export function unionFlagSet(first: readonly FlagSpec[], second: readonly FlagSpec[]): FlagSet {
  const a = flagSetOf(first);
  const b = flagSetOf(second);
  return {
    byLong: mergeMaps(a.byLong, b.byLong),
    byShort: mergeMaps(a.byShort, b.byShort),
  };
}

function mergeMaps(
  a: ReadonlyMap<string, FlagSpec>,
  b: ReadonlyMap<string, FlagSpec>,
): Map<string, FlagSpec> {
  const merged = new Map<string, FlagSpec>(a);
  for (const [name, spec] of b) {
    const other = merged.get(name);
    merged.set(name, other === undefined ? spec : mergeSpecs(other, spec));
  }
  return merged;
}

function mergeSpecs(a: FlagSpec, b: FlagSpec): FlagSpec {
  if (a.value !== b.value) {
    return {
      ...a,
      refused: "Apptainer and SingularityCE disagree on whether it takes a value",
    };
  }
  return a.refused !== undefined ? a : b.refused !== undefined ? b : a;
}
