/**
 * `siftrust verify`: verify an image's signatures as Apptainer's `verify` does, with the
 * same report on stdout, and `--json` for scripts (siftrust's report, or Apptainer's).
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
// The verification's own modules, not the integrity barrel: signing and OpenPGP load only
// when needed, while the image is hashed (core/integrity/analyze.ts).
import { readPemPublicKey } from "../../core/integrity/dsse.ts";
import type { VerifyEvent } from "../../core/integrity/outcome.ts";
import type { TaskRequest } from "../../core/integrity/tasks.ts";
import { verifyImage, type VerifyReport } from "../../core/integrity/verify.ts";
import { sharedHashPool } from "../../core/integrity/hash_pool.ts";
import { primaryPartition, SifImage } from "../../core/sif/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import type { VerificationFinder } from "../keys.ts";
import { log, print, printJson } from "../output.ts";
import { imageAheadPending, takeImageAhead } from "../image_ahead.ts";
import { hashingProgress } from "../progress.ts";
import { addCertificateOptions, certificateKey } from "../verify_certificate.ts";
import { apptainerVerifyJson, verifyJson } from "../render/verify_json.ts";
import { eventText, keyHintText } from "../render/verify_text.ts";
import { parseId, readPemFile } from "../arguments.ts";

/** Adds `verify` to the program. */
export function registerVerify(program: Command): void {
  addCertificateOptions(
    program.command("verify")
      .description("verify the signatures of a SIF image (Apptainer's `verify`)")
      .argument("<image>", "SIF image")
      .option("-i, --sif-id <id>", "verify only this object")
      .addOption(new Option("--id <id>", "deprecated: use --sif-id").hideHelp())
      .option("-g, --group-id <id>", "verify only this group")
      .addOption(new Option("--groupid <id>", "deprecated: use --group-id").hideHelp())
      .option("-a, --all", "with --legacy-insecure: verify every object on its own")
      .option(
        "--legacy-insecure",
        "verify legacy (Singularity < 3.6) signatures, which do not protect the header or descriptors",
      )
      .addOption(
        new Option(
          "-l, --local",
          "use only keyrings (global, yours, --keyring), never keyservers nor their cache",
        ).env("APPTAINER_LOCAL_VERIFY"),
      )
      .addOption(
        new Option(
          "-u, --url <url>",
          "ask only this keyserver for keys that no keyring has (default: the active remote's keyservers)",
        ).env("APPTAINER_URL"),
      )
      .option(
        "--keyring <file>",
        "also use this keyring file, armored or binary (repeatable)",
        collect,
        [] as string[],
      )
      .addOption(
        new Option("--key <pem>", "verify DSSE signatures with this PEM public key").env(
          "APPTAINER_VERIFY_KEY",
        ),
      )
      .option("-j, --json", "print a JSON report (see docs/signing.md)")
      .addOption(
        new Option(
          "--json-format <format>",
          "the JSON report's shape: siftrust's (the default), or Apptainer's own (implies --json)",
        ).choices(["siftrust", "apptainer"]),
      ),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust verify image.sif\n  siftrust verify --keyring site-keys.asc --json image.sif\n" +
        "  siftrust verify --key cosign.pub image.sif\n" +
        "  siftrust verify --certificate signer.pem --certificate-roots site-ca.pem image.sif",
    )
    .action(async (path, options) => {
      // A hashing worker starts while the image is opened and its signatures read (unless the
      // image is being hashed already).
      if (!imageAheadPending()) sharedHashPool().prestart(1);
      // Apptainer's notices (pflag's words) for its deprecated flags.
      if (options.id !== undefined) log("warning", "Flag --id has been deprecated, use '--sif-id'");
      if (options.groupid !== undefined) {
        log("warning", "Flag --groupid has been deprecated, use '--group-id'");
      }
      const json = options.jsonFormat ?? (options.json ? "siftrust" : undefined);
      const sifId = options.sifId ?? options.id;
      const groupId = options.groupId ?? options.groupid;
      // As Apptainer: a certificate comes before a key; certificateKey logs its own line.
      const certified = await certificateKey(options);
      const dsseKey = certified ??
        (options.key === undefined ? undefined : readPemPublicKey(await readPemFile(options.key)));
      if (certified === undefined) {
        log(
          "info",
          options.key === undefined
            ? "Verifying image with PGP key material"
            : `Verifying image with key material from '${options.key}'`,
        );
      }
      // Keys load (keyrings, configuration, OpenPGP) once the image is being hashed.
      let finding: Promise<VerificationFinder | undefined> | undefined;
      const find = () =>
        finding ??= dsseKey === undefined
          ? import("../keys.ts").then(({ verificationFinder }) =>
            verificationFinder(options.keyring, {
              local: options.local === true,
              url: options.url,
            })
          )
          : Promise.resolve(undefined);
      using image = await openAfter(find, path);
      const request = taskRequest(image, {
        sifId: sifId === undefined ? undefined : parseId(sifId, "--sif-id"),
        groupId: groupId === undefined ? undefined : parseId(groupId, "--group-id"),
        legacy: options.legacyInsecure ?? false,
        all: options.all ?? false,
      });
      const progress = hashingProgress(image.fileSize);
      const report = await verifyImage(image, {
        ...request,
        keys: async () => (await find())?.keys,
        dsseKeys: dsseKey === undefined ? undefined : [dsseKey],
        onProgress: progress.onProgress,
        digestsAhead: await takeImageAhead(path, image),
      });
      progress.done();
      if (json === "siftrust") printJson(verifyJson(path, report));
      else if (json === "apptainer") print(apptainerVerifyJson(report, image.descriptors));
      else printEvents(report.outcome.events);
      await finish(path, report, json !== undefined, await find());
    });
}

/**
 * Opens the image; when that fails, a failure to find keys, which comes first for the user, is
 * reported instead.
 */
async function openAfter(find: () => Promise<unknown>, path: string): Promise<SifImage> {
  try {
    return await SifImage.open(path);
  } catch (error) {
    await find();
    throw error;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Apptainer's task options: legacy mode without ids verifies the primary partition. */
function taskRequest(
  image: SifImage,
  flags: { sifId?: number; groupId?: number; legacy: boolean; all: boolean },
): TaskRequest {
  const request: TaskRequest = {
    groups: flags.groupId === undefined ? [] : [flags.groupId],
    objects: flags.sifId === undefined ? [] : [flags.sifId],
    legacy: flags.legacy,
    legacyAll: flags.legacy && flags.all,
  };
  if (flags.legacy && !flags.all && flags.sifId === undefined && flags.groupId === undefined) {
    const primary = primaryPartition(image.descriptors);
    if (primary === undefined) {
      throw new CliError(
        "Failed to verify container: the image has no primary partition: name what to verify with --sif-id, --group-id or --all",
        ExitCode.Failed,
      );
    }
    request.objects = [primary.id];
  }
  return request;
}

function printEvents(events: VerifyEvent[]): void {
  const color = Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined;
  for (const event of events) {
    if (event.check.signer !== undefined && event.check.signer.userId === undefined) {
      log("warning", "Primary identity unknown");
    }
    print(eventText(event, color));
  }
}

/** Ends the command: the closing line, and the exit code of a failure. */
async function finish(
  path: string,
  report: VerifyReport,
  json: boolean,
  finder: VerificationFinder | undefined,
): Promise<void> {
  const { error, failure } = report.outcome;
  if (error === undefined || failure === undefined) {
    if (!json) log("info", `Verified signature(s) from image '${path}'`);
    return;
  }
  const failed = report.outcome.events.at(-1);
  const missingKey = failure.kind === "key-unavailable" || failure.kind === "no-key-material";
  if (!missingKey || failed === undefined) {
    throw new CliError(`Failed to verify container: ${error}`, ExitCode.Failed);
  }
  log("error", `Failed to verify container: ${error}`);
  // The keyservers asked: none with --local (no remote key finder), nor for DSSE signatures.
  const keyservers = finder?.remote === undefined || failure.kind !== "key-unavailable"
    ? undefined
    : (await finder.remote.keyservers()).map((k) => k.uri);
  throw new CliError(keyHintText(failure, failed.check, keyservers), ExitCode.KeyUnavailable);
}
