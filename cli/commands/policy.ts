/**
 * `siftrust policy lint FILE` and `siftrust policy show FILE`: check a site policy for
 * mistakes that load but do not do what the admin meant (`policy/lint.ts`, worded by
 * `cli/render/lint_text.ts`), and print the policy in effect with every default filled in
 * (`policy/serialize.ts`).
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import {
  fileWarnings,
  lintPolicy,
  locateWarnings,
  policyDocument,
  policyYaml,
} from "../../policy/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import { displayText, print, printJson } from "../output.ts";
import { locatedText } from "../render/lint_text.ts";
import { loadPolicyOrExit } from "../policy_loading.ts";

/** Adds `policy` (lint, show) to the program. */
export function registerPolicy(program: Command): void {
  const policy = program.command("policy")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust policy lint /etc/siftrust/policy.yaml\n  siftrust policy show --json site.yaml",
    )
    .description("check a site policy file, or show it with every default filled in");

  policy.command("lint")
    .description("load a policy and warn about what is probably not meant")
    .argument("<file>", "the policy file")
    .option("--strict", "exit 1 when there are warnings (default: exit 0 once the policy loads)")
    .addHelpText(
      "after",
      "\nExit codes: 2 when the policy does not load (each problem on stderr), else 0; with " +
        "--strict, 1 when there are warnings.\n\nExamples:\n" +
        "  siftrust policy lint /etc/siftrust/policy.yaml\n" +
        "  siftrust policy lint --strict site.yaml   # in CI, before installing it",
    )
    .action(async (file, options) => {
      const loaded = await loadPolicyOrExit(file);
      const warnings = [
        ...lintPolicy(loaded, new Date()),
        ...await fileWarnings(loaded),
      ];
      const text = await Deno.readTextFile(file);
      for (const located of locateWarnings(warnings, text)) {
        print(`WARNING: ${locatedText(located, file)}\n`);
      }
      if (warnings.length === 0) {
        print(`${displayText(file)}: no problems found\n`);
        return;
      }
      print(
        `${displayText(file)}: ${warnings.length} warning${warnings.length === 1 ? "" : "s"}\n`,
      );
      if (options.strict) throw new CliError("", ExitCode.Failed);
    });

  policy.command("show")
    .description("print the policy in effect, with every default filled in")
    .argument("<file>", "the policy file")
    .option("--json", "print JSON instead of YAML (see docs/policy.md)")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust policy show /etc/siftrust/policy.yaml\n" +
        "  siftrust policy show --json site.yaml | jq .policy.rules",
    )
    .action(async (file, options) => {
      const loaded = await loadPolicyOrExit(file);
      if (options.json) {
        printJson({ path: loaded.path, digest: loaded.digest, policy: policyDocument(loaded) });
        return;
      }
      print(policyYaml(loaded));
    });
}
