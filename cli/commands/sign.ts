/**
 * `siftrust sign`: sign an image as Apptainer's `sign` does — an OpenPGP key from the user's
 * secret keyring, or a PEM key (`--key`) for a DSSE signature.
 *
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
// Signing's own module, not the integrity barrel: OpenPGP loads with the key
// (cli/signing_key.ts), while the image is hashed.
import { signImage, type SigningKey } from "../../core/integrity/sign.ts";
import { TaskError } from "../../core/integrity/tasks.ts";
import { sharedHashPool } from "../../core/integrity/hash_pool.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { CliError, ExitCode } from "../exit.ts";
import { log } from "../output.ts";
import { imageAheadPending, takeImageAhead } from "../image_ahead.ts";
import { hashingProgress } from "../progress.ts";
import { passphraseSource } from "../passphrase.ts";
import { parseId } from "../arguments.ts";

/** The deprecated flags of Apptainer's `sign`, and its advice for each. */
const DEPRECATED_FLAGS = [
  ["id", "use '--sif-id'"],
  ["groupid", "use '--group-id'"],
  ["all", "now the default behavior"],
] as const;

/** Adds `sign` to the program. */
export function registerSign(program: Command): void {
  program.command("sign")
    .description("sign a SIF image (Apptainer's `sign`): one signature per object group by default")
    .argument("<image>", "SIF image")
    .option("-i, --sif-id <id>", "sign only this object")
    .addOption(new Option("--id <id>", "deprecated: use --sif-id").hideHelp())
    .option("-g, --group-id <id>", "sign only this group")
    .addOption(new Option("--groupid <id>", "deprecated: use --group-id").hideHelp())
    .option(
      "-k, --keyidx <n>",
      "use the key with this index in the secret keyring (see `siftrust key list --secret`)",
    )
    .addOption(
      new Option("--key <pem>", "sign with this PEM private key (a DSSE signature)").env(
        "APPTAINER_SIGN_KEY",
      ),
    )
    .option(
      "--passphrase-file <file>",
      "read the key's passphrase from this file (or set SIFTRUST_PASSPHRASE, or pipe it)",
    )
    .addOption(new Option("-a, --all", "deprecated: signing every group is the default").hideHelp())
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust sign image.sif\n  siftrust sign --keyidx 1 --group-id 1 image.sif\n" +
        "  SIFTRUST_PASSPHRASE=… siftrust sign image.sif\n  siftrust sign --key cosign.key image.sif",
    )
    .action(async (path, options) => {
      // A hashing worker starts while the image is opened (unless it is being hashed already).
      if (!imageAheadPending()) sharedHashPool().prestart(1);
      // Apptainer's notices (pflag's words) for its deprecated flags.
      for (const [flag, advice] of DEPRECATED_FLAGS) {
        if (options[flag] !== undefined) {
          log("warning", `Flag --${flag} has been deprecated, ${advice}`);
        }
      }
      const sifId = options.sifId ?? options.id;
      const groupId = options.groupId ?? options.groupid;
      const request = {
        objects: sifId === undefined ? [] : [parseId(sifId, "--sif-id")],
        groups: groupId === undefined ? [] : [parseId(groupId, "--group-id")],
      };
      const passphrases = passphraseSource(options.passphraseFile);
      log(
        "info",
        options.key === undefined
          ? "Signing image with PGP key material"
          : `Signing image with key material from '${options.key}'`,
      );
      // The key is made ready (keyring, OpenPGP, passphrase) while the image is hashed.
      let keying: Promise<SigningKey> | undefined;
      // No progress is shown before the key is ready: it would cross a passphrase prompt. Then
      // it starts where the hashing is (the image may have been hashed ahead meanwhile).
      let keyReady = false;
      let latest: { done: number; total: number; imageSize: number } | undefined;
      let progress: ReturnType<typeof hashingProgress> | undefined;
      const showProgress = () => {
        if (!keyReady || latest === undefined) return;
        progress ??= hashingProgress(latest.imageSize);
        progress.onProgress?.(latest.done, latest.total);
      };
      const getKey = () =>
        keying ??= import("../signing_key.ts").then(async ({ signingKey }) => {
          const key = await signingKey(options, passphrases);
          keyReady = true;
          showProgress();
          return key;
        });
      using image = await keyFirst(getKey, () => SifImage.open(path, { write: true }));
      const onProgress = (done: number, total: number) => {
        latest = { done, total, imageSize: image.fileSize };
        showProgress();
      };
      try {
        const digestsAhead = await takeImageAhead(path, image);
        await keyFirst(
          getKey,
          () => signImage(image, getKey, { ...request, onProgress, digestsAhead }),
        );
      } catch (error) {
        if (error instanceof TaskError) {
          throw new CliError(
            `Failed to sign container: integrity: ${error.message}`,
            ExitCode.Failed,
          );
        }
        throw error;
      } finally {
        progress?.done();
      }
      log("info", `Signature created and applied to image '${path}'`);
    });
}

/**
 * Runs `step`; when it fails, a failure of getting the key, which comes first for the user (as
 * its prompts do), is reported instead.
 */
async function keyFirst<T>(getKey: () => Promise<unknown>, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    await getKey();
    throw error;
  }
}
