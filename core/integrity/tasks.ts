/**
 * What a verification must establish, as the reference's `NewVerifier` decides it: one task
 * per group by default, or the groups and objects asked for; legacy tasks in legacy mode.
 *
 * @module
 */

import { DataType, type Descriptor, type SifImage } from "../sif/mod.ts";

/** A verification task. */
export type VerifyTask =
  /** Signatures linked to the group must verify and cover `objects` (exactly, unless `subset`). */
  | { kind: "group"; group: number; objects: Descriptor[]; subset: boolean; legacy: boolean }
  /** Legacy signatures linked to the object must verify. */
  | { kind: "object"; object: Descriptor };

/** Which tasks to run. */
export interface TaskRequest {
  /** Groups to verify (`--group-id`). */
  groups?: number[];
  /** Objects to verify (`--sif-id`). */
  objects?: number[];
  /** Legacy (pre-3.6) signatures instead of current ones. */
  legacy?: boolean;
  /** Legacy: one object task for every grouped non-signature object. */
  legacyAll?: boolean;
}

/** Why a verification cannot start. */
export type TaskErrorKind =
  /** Group 0 was asked for. */
  | "invalid-group-id"
  /** Object 0 was asked for. */
  | "invalid-object-id"
  /** Nothing was asked for, and the image has no object group. */
  | "no-groups"
  /** The image has no objects at all. */
  | "no-objects"
  /** A group asked for has no objects. */
  | "group-not-found"
  /** An object asked for does not exist. */
  | "object-not-found";

/** A verification that cannot start; the message is the reference's, without `integrity: `. */
export class TaskError extends Error {
  /** Which failure this is. */
  readonly kind: TaskErrorKind;

  /** Creates an error; `message` is the reference's words. */
  constructor(kind: TaskErrorKind, message: string) {
    super(message);
    this.name = "TaskError";
    this.kind = kind;
  }
}

/** The tasks of a request, in the reference's order: groups, then objects, each ascending. */
export function selectTasks(image: SifImage, request: TaskRequest): VerifyTask[] {
  const groups = sortedUnique(request.groups ?? []);
  let objects = sortedUnique(request.objects ?? []);
  if (groups.includes(0)) throw new TaskError("invalid-group-id", "invalid group ID");
  if (objects.includes(0)) throw new TaskError("invalid-object-id", "invalid object ID");
  if (request.legacy && request.legacyAll) {
    const grouped = image.descriptors.filter((d) =>
      d.dataType !== DataType.Signature && d.groupId !== 0
    );
    objects = sortedUnique([...objects, ...grouped.map((d) => d.id)]);
  }
  if (groups.length === 0 && objects.length === 0) {
    const all = sortedUnique(image.descriptors.map((d) => d.groupId).filter((g) => g !== 0));
    if (all.length === 0) {
      throw new TaskError("no-groups", "no groups found");
    }
    groups.push(...all);
  }
  const legacy = request.legacy ?? false;
  const tasks: VerifyTask[] = groups.map((group) => {
    const members = groupObjects(image, group);
    if (members.length === 0) {
      throw noObjects(image)
        ? new TaskError("no-objects", "no objects in image")
        : new TaskError("group-not-found", "group not found");
    }
    return { kind: "group", group, objects: members, subset: false, legacy };
  });
  for (const id of objects) {
    const d = image.descriptor(id);
    if (d === undefined) {
      throw noObjects(image)
        ? new TaskError("no-objects", "no objects in image")
        : new TaskError("object-not-found", "object not found");
    }
    tasks.push(
      legacy
        ? { kind: "object", object: d }
        : { kind: "group", group: d.groupId, objects: [d], subset: true, legacy },
    );
  }
  return tasks;
}

/** The objects of a group, in descriptor order. */
export function groupObjects(image: SifImage, group: number): Descriptor[] {
  return image.descriptors.filter((d) => d.groupId === group);
}

/** As the reference: "no objects" is read from the header's free count. */
function noObjects(image: SifImage): boolean {
  return image.header.descriptorsFree === image.header.descriptorsTotal;
}

function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}
