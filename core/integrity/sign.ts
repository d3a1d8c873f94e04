/**
 * Signing as the reference does: one signature per group (or per group of the objects
 * asked for), each an OpenPGP clear-signed or DSSE-enveloped metadata document appended as
 * a new object linked to the group. Existing signatures are kept; nothing else changes.
 *
 * @module
 */

import type { KeyObject } from "node:crypto";
import type * as openpgp from "openpgp";
import {
  appendObject,
  DataType,
  type Descriptor,
  HashType,
  type SifImage,
  signatureExtra,
} from "../sif/mod.ts";
import { digestOf } from "./digest.ts";
import type { DigestsAhead } from "./digests_ahead.ts";
import { signEnvelope } from "./dsse.ts";
import { DigestPlan, type ProgressCallback } from "./hashing.ts";
import {
  descriptorDigestInput,
  encodeMetadata,
  headerDigestInput,
  type ImageMetadata,
  minIdsByGroup,
  minIdsByRawGroup,
} from "./metadata.ts";
import type { PgpKey } from "../keys/pgp_key.ts";
import { groupObjects, TaskError } from "./tasks.ts";

/**
 * The key to sign with: an OpenPGP secret key (unlocked, see `unlockKey` in core/keys), or a
 * private key for DSSE (see {@linkcode readPemPrivateKey}).
 */
export type SigningKey =
  | { kind: "pgp"; key: PgpKey }
  | { kind: "dsse"; key: KeyObject };

/** What to sign. */
export interface SignRequest {
  /** Sign each of these groups (`--group-id`). */
  groups?: number[];
  /** Sign exactly these objects, one signature per group they are in (`--sif-id`). */
  objects?: number[];
  /** Signature time (default now). */
  date?: Date;
  /** Hashing progress. */
  onProgress?: ProgressCallback;
  /** Digests under way already (./digests_ahead.ts), used when they are the ones needed. */
  digestsAhead?: DigestsAhead;
}

/** The objects one signature covers. */
interface SignatureJob {
  group: number;
  objects: Descriptor[];
}

/**
 * Signs an image opened for writing, and returns the new signature objects. Fails (with a
 * TaskError in the reference's words) before writing anything when the request does not fit
 * the image. `key` may be a function giving the key: it is called once the hashing is under
 * way, so that the key is made ready meanwhile, and nothing is written if it fails.
 */
export async function signImage(
  image: SifImage,
  key: SigningKey | (() => Promise<SigningKey>),
  request: SignRequest = {},
): Promise<Descriptor[]> {
  const jobs = signatureJobs(image, request);
  const plan = new DigestPlan();
  for (const job of jobs) for (const d of job.objects) plan.needObject(d.id, "sha256");
  // The data is hashed while the key is made ready (a keyring read, a passphrase typed).
  const signingKey = await plan.runWhile(
    image,
    request.onProgress,
    { ahead: request.digestsAhead },
    () => typeof key === "function" ? key() : Promise.resolve(key),
  );
  const documents = jobs.map((job) => encodeMetadata(metadataOf(image, job, plan)));
  const sign = await signer(signingKey, request.date);
  const added: Descriptor[] = [];
  for (const [i, job] of jobs.entries()) {
    added.push(
      await appendObject(image, {
        dataType: DataType.Signature,
        data: await sign.data(documents[i]),
        groupId: 0,
        link: { id: job.group, isGroup: true },
        extra: signatureExtra(HashType.SHA256, sign.fingerprint),
      }),
    );
  }
  return added;
}

/** How a key signs a metadata document, and the fingerprint its descriptors carry. */
interface DocumentSigner {
  fingerprint?: Uint8Array;
  data(document: string): Promise<Uint8Array>;
}

/** The signer of a key; OpenPGP's modules load only for an OpenPGP key. */
async function signer(key: SigningKey, date: Date | undefined): Promise<DocumentSigner> {
  if (key.kind === "dsse") {
    return {
      data: (document) =>
        Promise.resolve(signEnvelope(new TextEncoder().encode(document), key.key)),
    };
  }
  const [{ signCleartext }, { openpgpKey }] = await Promise.all([
    import("./pgp.ts"),
    import("../keys/pgp_key.ts"),
  ]);
  const secret = openpgpKey(key.key) as openpgp.PrivateKey;
  return {
    fingerprint: secret.keyPacket.getFingerprintBytes() ?? undefined,
    data: async (document) =>
      new TextEncoder().encode(await signCleartext(document, secret, { date })),
  };
}

/** The signatures to make, in the reference's order: groups as asked, then objects by group. */
function signatureJobs(image: SifImage, request: SignRequest): SignatureJob[] {
  const jobs: SignatureJob[] = [];
  for (const group of request.groups ?? []) {
    if (group === 0) throw new TaskError("invalid-group-id", "invalid group ID");
    const objects = groupObjects(image, group);
    if (objects.length === 0) throw new TaskError("group-not-found", "group not found");
    jobs.push({ group, objects });
  }
  if (request.objects !== undefined && request.objects.length > 0) {
    const byGroup = new Map<number, Descriptor[]>();
    for (const id of [...new Set(request.objects)].sort((a, b) => a - b)) {
      const d = image.descriptor(id);
      if (d === undefined) {
        throw id === 0
          ? new TaskError("invalid-object-id", "invalid object ID")
          : new TaskError("object-not-found", "object not found");
      }
      if (d.groupId === 0) throw new TaskError("invalid-group-id", "invalid group ID");
      byGroup.set(d.groupId, [...byGroup.get(d.groupId) ?? [], d]);
    }
    for (const group of [...byGroup.keys()].sort((a, b) => a - b)) {
      jobs.push({ group, objects: byGroup.get(group)! });
    }
  }
  if (jobs.length === 0) {
    const groups = [...new Set(image.descriptors.map((d) => d.groupId).filter((g) => g !== 0))]
      .sort((a, b) => a - b);
    if (groups.length === 0) throw new TaskError("no-groups", "no groups found");
    for (const group of groups) jobs.push({ group, objects: groupObjects(image, group) });
  }
  return jobs;
}

function metadataOf(image: SifImage, job: SignatureJob, plan: DigestPlan): ImageMetadata {
  const minId = minIdsByGroup(image.descriptors).get(job.group)!;
  const rawMins = minIdsByRawGroup(image.descriptors);
  return {
    version: 1,
    headerDigest: digestOf("sha256", headerDigestInput(image.header)),
    objects: [...job.objects].sort((a, b) => a.id - b.id).map((d) => ({
      relativeId: d.id - minId,
      descriptorDigest: digestOf("sha256", descriptorDigestInput(d, rawMins)),
      objectDigest: { algorithm: "sha256" as const, hex: plan.objectDigest(d.id, "sha256") },
    })),
  };
}
