/**
 * The primary system partition of an image: the partition Apptainer runs, and the object
 * legacy verification checks when no object or group is named.
 *
 * @module
 */

import type { Descriptor } from "./descriptor.ts";
import { partitionInfo } from "./extra.ts";
import { DataType, PartType } from "./format.ts";

/** The first primary system partition among an image's descriptors, if there is one. */
export function primaryPartition(descriptors: readonly Descriptor[]): Descriptor | undefined {
  return descriptors.find((d) =>
    d.dataType === DataType.Partition && partitionInfo(d).partType === PartType.PrimarySystem
  );
}
