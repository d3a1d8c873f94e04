/**
 * `siftrust check --policy FILE IMAGE…`: decide whether a site's policy trusts images, and
 * say why. Many images are checked a few at a time; the exit code is the highest.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import {
  appendAudit,
  auditRecord,
  type CheckContext,
  checkImage,
  type CheckResult,
  decidingFiles,
  loadPolicy,
  type Policy,
  PolicyError,
  type PolicyKeys,
  policyKeys,
  PolicyKeysError,
  trustFileWarnings,
} from "../../policy/mod.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { currentHost, currentUser } from "../identity.ts";
import { expandImages } from "../images.ts";
import { remoteKeyFinder, runContext } from "../keys.ts";
import { log, print, printJson } from "../output.ts";
import { decisionJson, decisionLine, explainText } from "../render/check_text.ts";

/** The policy used when `--policy` is not given. */
export const DEFAULT_POLICY = "/etc/siftrust/policy.yaml";

/** Loads a policy, turning its problems into one error line each (exit 2). */
export async function loadPolicyOrExit(path: string) {
  try {
    return await loadPolicy(path);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const problem of error.problems.slice(0, -1)) log("error", problem);
    throw new CliError(error.problems.at(-1)!, ExitCode.Usage);
  }
}

/**
 * The policy and its key material, for `check` and `exec`: load problems exit 2, and warnings
 * (unusable keys, files others than root can write) are printed.
 */
export async function loadPolicyAndKeys(
  path: string,
): Promise<{ policy: Policy; keys: PolicyKeys }> {
  const policy = await loadPolicyOrExit(path);
  const env = (name: string) => Deno.env.get(name);
  let keys: PolicyKeys;
  try {
    keys = await policyKeys(policy, runContext(), remoteKeyFinder);
  } catch (error) {
    if (error instanceof PolicyKeysError) {
      throw new CliError(`${error.message}: fix keys.files in the policy`, ExitCode.Usage);
    }
    throw error;
  }
  for (const warning of keys.warnings) log("warning", warning);
  for (const warning of await trustFileWarnings(decidingFiles(policy, env))) {
    log("warning", warning);
  }
  return { policy, keys };
}

/** Adds `check` to the program. */
export function registerCheck(program: Command): void {
  program.command("check")
    .description("decide whether the site policy trusts SIF images, and explain why")
    .argument("<images...>", "SIF images, folders (with --recursive) or quoted glob patterns")
    .addOption(
      new Option("--policy <file>", "the policy file").default(DEFAULT_POLICY).env(
        "SIFTRUST_POLICY",
      ),
    )
    .option("--json", "print one JSON document (see docs/policy.md)")
    .option(
      "--explain",
      "show each signature, each requirement, and how to turn a deny into an allow",
    )
    .option("-r, --recursive", "check every *.sif file in the folders given")
    .option("--no-cache", "check again even when the image, policy and keys did not change")
    .addOption(
      new Option("--audit-log <file>", "append one JSON line per decision to this file").env(
        "SIFTRUST_AUDIT_LOG",
      ),
    )
    .option(
      "-j, --jobs <n>",
      "how many images to check at once",
      String(Math.min(4, navigator.hardwareConcurrency || 2)),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust check --policy /etc/siftrust/policy.yaml image.sif\n" +
        "  siftrust check --explain image.sif\n  siftrust check --recursive --json /apps/containers",
    )
    .action(async (args, options) => {
      const jobs = Number(options.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) {
        throw usageError(`invalid --jobs "${options.jobs}": give a whole number from 1 up`);
      }
      const { policy, keys } = await loadPolicyAndKeys(options.policy);
      const images = await expandImages(args, options.recursive ?? false);
      const context: CheckContext = {
        policy,
        keys,
        cacheDir: options.cache ? keys.resolution.locations.decisionCacheDir : undefined,
      };
      const results = await checkAll(images, context, jobs, async (result) => {
        for (const notice of result.notices) log("warning", notice);
        if (options.auditLog !== undefined) await audit(options.auditLog, result, context);
        if (options.json) return;
        print(
          options.explain
            ? explainText(result.decision, policy)
            : decisionLine(result.decision, policy, result.cached),
        );
      });
      if (options.json) {
        printJson({
          policy: { path: policy.path, digest: policy.digest, mode: policy.mode },
          results: results.map((r) => decisionJson(r.decision, r.cached)),
        });
      } else if (results.length > 1) {
        const count = (d: string) => results.filter((r) => r.decision.decision === d).length;
        print(
          `${results.length} images: ${count("allow")} allowed, ${count("deny")} denied, ${
            count("error")
          } not readable\n`,
        );
      }
      const code = Math.max(...results.map((r) => r.decision.exitCode));
      if (code !== 0) throw new CliError("", code);
    });
}

/** Checks images `jobs` at a time, reporting each as it is decided, in input order. */
async function checkAll(
  images: string[],
  context: CheckContext,
  jobs: number,
  report: (result: CheckResult) => Promise<void>,
): Promise<CheckResult[]> {
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
      results[index] = await checkImage(images[index], context);
      done[index] = true;
      reporting = reporting.then(flush);
      await reporting;
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, images.length) }, worker));
  return results;
}

async function audit(path: string, result: CheckResult, context: CheckContext): Promise<void> {
  const { user, uid } = currentUser();
  const record = auditRecord(result.decision, context.policy, result.imageDigest, {
    user,
    uid,
    host: currentHost(),
    slurmJobId: Deno.env.get("SLURM_JOB_ID") ?? null,
  });
  try {
    await appendAudit(path, [record]);
  } catch (error) {
    throw new CliError(
      `cannot write the audit log ${path}: ${(error as Error).message}`,
      ExitCode.Failed,
    );
  }
}
