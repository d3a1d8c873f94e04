/**
 * The audit log: one JSON line per decision, appended with a single write (O_APPEND), so
 * concurrent checks never interleave their lines.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DESCRIPTOR_SIZE, HEADER_SIZE, type SifImage } from "../core/sif/mod.ts";
import type { ImageDecision } from "./decision.ts";
import type { Policy } from "./model.ts";

/** One audit record. */
export interface AuditRecord {
  /** When, ISO 8601 UTC. */
  time: string;
  /** The real user's name (from /etc/passwd). */
  user: string;
  /** The real user ID. */
  uid: number | null;
  /** The host name. */
  host: string;
  /** `$SLURM_JOB_ID`, or null. */
  slurmJobId: string | null;
  /** The image's absolute path. */
  image: string;
  /** SHA-256 of the header and the descriptor table: identifies the image's layout. */
  imageDigest: string | null;
  /** The decision. */
  decision: ImageDecision["decision"];
  /** The policy's mode: a deny in `warn` mode was not enforced. */
  mode: ImageDecision["mode"];
  /** Whether a declared signer's key could not be obtained (a deny may change once it is). */
  keyUnavailable: boolean;
  /** The rule that applied. */
  rule: string;
  /** One entry per signature object. */
  signers: { fingerprint: string | null; name: string | null; trusted: boolean }[];
  /** The policy's absolute path. */
  policy: string;
  /** SHA-256 of the policy file. */
  policyDigest: string;
}

/** SHA-256 of an image's header and descriptor table. */
export async function layoutDigest(image: SifImage): Promise<string> {
  const hash = createHash("sha256").update(await image.readAt(0, HEADER_SIZE));
  const { descriptorsOffset, descriptorsTotal } = image.header;
  hash.update(await image.readAt(descriptorsOffset, descriptorsTotal * DESCRIPTOR_SIZE));
  return hash.digest("hex");
}

/** Who and where: from the environment (passed in). */
export interface AuditContext {
  /** The real user's name. */
  user: string;
  /** The real user ID. */
  uid: number | null;
  /** The host name. */
  host: string;
  /** `$SLURM_JOB_ID`, or null. */
  slurmJobId: string | null;
}

/** The record of a decision. */
export function auditRecord(
  decision: ImageDecision,
  policy: Policy,
  imageDigest: string | null,
  context: AuditContext,
  now: Date = new Date(),
): AuditRecord {
  return {
    time: now.toISOString(),
    ...context,
    image: decision.image,
    imageDigest,
    decision: decision.decision,
    mode: decision.mode,
    keyUnavailable: decision.keyUnavailable,
    rule: decision.rule,
    signers: decision.signatures.map((s) => ({
      fingerprint: s.signer,
      name: s.signerName,
      trusted: s.trusted,
    })),
    policy: policy.path,
    policyDigest: policy.digest,
  };
}

/** Appends records to the log (created 0640 if missing). */
export async function appendAudit(path: string, records: AuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  const file = await Deno.open(path, { append: true, create: true, mode: 0o640 });
  try {
    const bytes = new TextEncoder().encode(records.map((r) => JSON.stringify(r) + "\n").join(""));
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  } finally {
    file.close();
  }
}
