/**
 * `siftrust check --policy FILE IMAGE…`: decide whether a site's policy trusts images, and
 * say why. Many images are checked a few at a time; the exit code is the highest.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { sharedHashPool } from "../../core/integrity/hash_pool.ts";
import { rememberCheckSetup } from "../../policy/check_setup.ts";
import type { CheckContext } from "../../policy/mod.ts";
import { auditCheck } from "../audit_log.ts";
import { type CheckAhead, hashingWorkersComing, takeCheckAhead } from "../check_ahead.ts";
import { CPUS } from "../check_args.ts";
import { checkAll } from "../check_all.ts";
import { CliError, decisionExitCode, usageError } from "../exit.ts";
import { expandImages } from "../images.ts";
import { log, print, printJson } from "../output.ts";
import { loadPolicyAndKeys, policyOption } from "../policy_loading.ts";
import { decisionJson, decisionLine, explainText, summaryLine } from "../render/check_text.ts";
import { cacheProblemText } from "../render/decision_words.ts";

/** The images started ahead (../check_ahead.ts), closed when the command ends. */
function aheadImages(): { images: CheckAhead[] } & Disposable {
  const images = takeCheckAhead();
  return { images, [Symbol.dispose]: () => images.forEach((ahead) => ahead.opened.close()) };
}

/** Adds `check` to the program. */
export function registerCheck(program: Command): void {
  program.command("check")
    .description("decide whether the site policy trusts SIF images, and explain why")
    .argument("<images...>", "SIF images, folders (with --recursive) or quoted glob patterns")
    .addOption(policyOption())
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
      "how many images to check at once, and how many CPUs their hashing may use",
      String(CPUS),
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
      // Hashing workers start while the policy and its keys load; -j 1 hashes on one CPU.
      sharedHashPool().limitCpus(jobs);
      // (Workers that hashed ahead come to the pool as they finish: none is started for them.)
      if (!hashingWorkersComing()) sharedHashPool().prestart(jobs);
      using ahead = aheadImages();
      const { policy, keys } = await loadPolicyAndKeys({
        command: "check",
        policy: options.policy,
        cache: options.cache,
      });
      const { images, problems, exitCode } = await expandImages(args, options.recursive ?? false);
      for (const problem of problems) log("error", problem);
      const context: CheckContext = {
        policy,
        keys,
        cacheDir: options.cache ? keys.resolution.locations.decisionCacheDir : undefined,
      };
      const results = await checkAll(
        images,
        context,
        { jobs, ahead: ahead.images },
        async (result) => {
          for (const notice of result.notices) log("warning", cacheProblemText(notice));
          if (options.auditLog !== undefined) await auditCheck(options.auditLog, result, policy);
          if (options.json) return;
          print(
            options.explain
              ? explainText(result.decision, policy)
              : decisionLine(result.decision, result.cached),
          );
        },
      );
      if (options.cache) await rememberCheckSetup(policy, keys);
      if (options.json) {
        printJson({
          policy: { path: policy.path, digest: policy.digest, mode: policy.mode },
          results: results.map((r) => decisionJson(r.decision, r.cached)),
          ...(problems.length > 0 ? { notSearched: problems } : {}),
        });
      } else if (results.length > 1 || problems.length > 0) {
        print(summaryLine(results.map((r) => r.decision), problems.length));
      }
      const code = Math.max(exitCode, ...results.map((r) => decisionExitCode(r.decision)));
      if (code !== 0) throw new CliError("", code);
    });
}
