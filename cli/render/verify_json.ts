/**
 * `verify --json` (documented in docs/signing.md): the verdict and its failure kind, and one entry per signature
 * examined with what it covers, who signed it, where the key came from, and the integrity and
 * authenticity verdicts.
 *
 * @module
 */

import type { VerifyReport } from "../../core/integrity/mod.ts";

/** The JSON report of a verification. */
export function verifyJson(image: string, report: VerifyReport): Record<string, unknown> {
  const errors = new Map(
    report.outcome.events.map((event) => [event.check.id, event.error ?? null]),
  );
  return {
    image,
    verified: report.outcome.error === undefined,
    error: report.outcome.error ?? null,
    failure: report.outcome.failure ?? null,
    signatures: report.checks.map((check) => ({
      id: check.id,
      type: check.signature.format,
      group: "group" in check.target ? check.target.group : null,
      object: "object" in check.target ? check.target.object : null,
      objects: [...check.signedIds ?? []].sort((a, b) => a - b),
      signer: check.signer?.fingerprint ?? check.signature.fingerprint ?? null,
      signerName: check.signer?.userId ?? null,
      keySource: check.signer?.source.kind ?? null,
      keyLocation: check.signer?.source.location ?? null,
      dsseKeyIds: check.dsseKeyIds ?? [],
      integrity: check.integrity,
      authenticity: check.authenticity === "no-key-material" ? "not-checked" : check.authenticity,
      examined: errors.has(check.id),
      error: errors.get(check.id) ?? null,
    })),
  };
}
