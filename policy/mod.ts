/**
 * `policy`: the site policy (version 1) — loading with file:line:column errors, the rules
 * that decide an image, key material, the verify-once cache and the audit log.
 *
 * @module
 */

export * from "./admit.ts";
export * from "./audit.ts";
export * from "./audit_context.ts";
export * from "./cache.ts";
export * from "./check.ts";
export * from "./decision.ts";
export * from "./deffile.ts";
export * from "./dsse_signers.ts";
export * from "./evaluate.ts";
export * from "./exec_plan.ts";
export * from "./file_trust.ts";
export * from "./glob.ts";
export * from "./image_set.ts";
export * from "./keys.ts";
export * from "./lint.ts";
export * from "./load.ts";
export * from "./model.ts";
export * from "./serialize.ts";
export type { PolicyFile } from "./schema.ts";
export type { RuntimeCommand, RuntimeRefusalKind } from "./runtime/mod.ts";
export type { HashedCopy } from "../core/files/copy_hashed.ts";
