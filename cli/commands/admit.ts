/**
 * `siftrust admit [--policy FILE] [--explain|--json] IMAGE DEST`: copy an image into a
 * library (DEST: a folder, keeping the file name, or a file path), decide on the copy as if it
 * were at DEST, and put it in place only when the policy allows it. A deny, in either mode,
 * leaves nothing behind.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { AdmitError, admitImage } from "../../policy/admit.ts";
import { auditCheck, auditLogOption } from "../audit_log.ts";
import { CliError, decisionExitCode, ExitCode, usageError } from "../exit.ts";
import { displayText, log, print, printJson } from "../output.ts";
import { loadPolicyAndKeys, policyOption } from "../policy_loading.ts";
import { decisionJson, decisionLine, explainText } from "../render/check_text.ts";

/** Adds `admit` to the program. */
export function registerAdmit(program: Command): void {
  program.command("admit")
    .description("copy an image into a library and keep the copy only if the policy allows it")
    .argument("<image>", "the SIF image to admit")
    .argument("<dest>", "the library folder (the file name is kept) or the file path to install")
    .addOption(policyOption())
    .option("--json", "print one JSON document (see docs/policy.md)")
    .option("--explain", "show each signature, each requirement, and how to turn a deny around")
    .addOption(auditLogOption())
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust admit ~alice/tool.sif /apps/images/\n" +
        "  siftrust admit --explain --policy /etc/siftrust/policy.yaml tool.sif /apps/images/tool-1.2.sif",
    )
    .action(async (image, dest, options) => {
      if (options.json && options.explain) throw usageError("give --json or --explain, not both");
      // Admit decides afresh on the copy: it reads no cache.
      const { policy, keys } = await loadPolicyAndKeys({
        command: "admit",
        policy: options.policy,
        cache: false,
      });
      let admitted;
      try {
        // Only --json prints the copy's SHA-256: it costs a second pass over the bytes.
        admitted = await admitImage(image, dest, { policy, keys }, { sha256: options.json });
      } catch (error) {
        if (!(error instanceof AdmitError)) throw error;
        const code = error.kind === "bad-destination" ? ExitCode.Usage : ExitCode.Failed;
        throw new CliError(`cannot admit ${displayText(image)}: ${error.message}`, code);
      }
      const { result, destination, installed } = admitted;
      if (options.auditLog !== undefined) await auditCheck(options.auditLog, result, policy);
      if (options.json) {
        printJson({
          policy: { path: policy.path, digest: policy.digest, mode: policy.mode },
          source: image,
          destination,
          installed,
          sha256: admitted.sha256,
          result: decisionJson(result.decision, false),
        });
      } else {
        print(
          options.explain
            ? explainText(result.decision, policy)
            : decisionLine(result.decision, false),
        );
        if (installed) log("info", `admitted ${displayText(image)} as ${displayText(destination)}`);
        else log("error", `not admitted: nothing was written to ${displayText(destination)}`);
      }
      if (installed) return;
      // A deny installs nothing in warn mode too: that is a failure (1), not a warning.
      const code = decisionExitCode(result.decision);
      throw new CliError("", code === ExitCode.Ok ? ExitCode.Failed : code);
    });
}
