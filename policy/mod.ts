/**
 * `policy`: the site policy (version 1) — loading with file:line:column errors, the rules
 * that decide an image, key material, the verify-once cache and the audit log. It is the
 * package's second entry point (`./policy`); the first, mod.ts, holds the formats and keys.
 *
 * @example Decide an image under the example site policy
 * ```ts
 * import { KeySet } from "../mod.ts";
 * import { checkImage, loadPolicy, policyKeys } from "./mod.ts";
 *
 * const policy = await loadPolicy("examples/site.yaml");
 * const run = { env: {}, uid: Deno.uid() ?? 0, euid: Deno.uid() ?? 0 };
 * const keys = await policyKeys(policy, run, () => new KeySet([]));
 * const { decision } = await checkImage("examples/example-signed.sif", { policy, keys });
 * console.log(decision.decision, decision.rule);
 * ```
 *
 * @module
 */

export { appendAudit, type AuditContext, type AuditRecord, auditRecord } from "./audit.ts";
export { auditContext, type IdentitySources } from "./audit_context.ts";
export { cacheDir, type CacheProblem } from "./cache.ts";
export { type CheckContext, checkImage, type CheckResult, type OpenedImage } from "./check.ts";
export { openAhead } from "./open_ahead.ts";
export {
  type Hint,
  type ImageDecision,
  type ImageErrorKind,
  type MismatchPart,
  type PolicyAuthenticity,
  type Reason,
  type RequirementResult,
  type RequirementSubject,
  type SignatureVerdict,
  type VerdictReason,
} from "./decision.ts";
export { decidingFiles, trustFileWarnings } from "./file_trust.ts";
export { compileGlob, GlobError, type PathPattern } from "./glob.ts";
export {
  type PolicyKeys,
  policyKeys,
  PolicyKeysError,
  type PolicyRunContext,
  type RemoteFinderFactory,
} from "./keys.ts";
export {
  type Coverage,
  fileWarnings,
  type LintFinding,
  lintPolicy,
  type LintWarning,
  type LocatedWarning,
  locateWarnings,
  type YamlPath,
} from "./lint.ts";
export { loadPolicy, PolicyError } from "./load.ts";
export { type Policy, type Requirement, type Rule, type SignedBy, type Signer } from "./model.ts";
export { policyDocument, policyYaml } from "./serialize.ts";
export { AdmitError, admitImage } from "./admit.ts";
export { type DsseSigners } from "./dsse_signers.ts";
export { expandImageSet, type ImageSetProblem } from "./image_set.ts";
export type { RuntimeCommand, RuntimeRefusalKind } from "./runtime/mod.ts";
export {
  CopyFolderError,
  type CopyFolderProblem,
  decideExecImage,
  type ExecChecked,
  type ExecDecision,
  type ImageWriter,
  invokingUser,
  planExec,
} from "./exec_plan.ts";
export {
  checkTrustedPath,
  enforceTrustInputs,
  type TrustProblem,
  untrustedInput,
} from "./file_trust.ts";
export type { AdmitErrorKind, AdmitResult, CopyDecisionOptions, DecidedCopy } from "./admit.ts";
export type { CertificateVerdict } from "./decision.ts";
export type { DsseSignerKey, DsseSignerOptions } from "./dsse_signers.ts";
export type { ImageSet, ImageSetFs } from "./image_set.ts";
export type { PolicyKeysErrorKind } from "./keys.ts";
export type { CertificateSigner } from "./model.ts";
export type { ContainerCommand, ParsedFlag, RuntimeName } from "./runtime/mod.ts";
export type { ExecPlan, RunAs } from "./exec_plan.ts";
export type { TrustInputs, TrustProblemKind } from "./file_trust.ts";
export type { ExecRefusal } from "./exec_plan.ts";
export type { CertificateStatus } from "./dsse_signers.ts";
export type { TrustOwners } from "./trust_path.ts";
