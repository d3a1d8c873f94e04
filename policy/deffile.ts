/**
 * Would `apptainer build` accept the bootstrap image of a definition file? As Apptainer's
 * build decides it: with a non-empty `Fingerprints:` header, the image must pass a full
 * default verification and every listed fingerprint must be in the signature descriptors of
 * every group (the reference's AllSignedBy); without one, a failed verification only warns.
 * Only bootstrap agents that start from a SIF image are verified at all.
 *
 * This module decides; the command words the results and picks the exit codes.
 *
 * @module
 */

import { resolve } from "node:path";
import type { DefinitionHeader } from "../core/deffile/mod.ts";
import {
  allSignedBy,
  type ProgressCallback,
  signersByTask,
  type VerifyFailure,
  verifyImage,
  type VerifyReport,
} from "../core/integrity/mod.ts";
import type { KeyFinder } from "../core/keys/mod.ts";
import { SifError, SifImage, sniffSifFile } from "../core/sif/mod.ts";

/** Bootstrap agents whose image is a SIF (downloaded, then unpacked by the local packer). */
const DOWNLOADED_SIF = new Set(["library", "oras", "shub"]);

/** Whether a stage's bootstrap agent downloads a SIF image (library, oras, shub). */
export function downloadsSif(stage: DefinitionHeader): boolean {
  return DOWNLOADED_SIF.has((stage.fields.bootstrap ?? "").toLowerCase());
}

/** Why `--image` does not fit a recipe, if it does not. */
export type ImageMismatch =
  /** More than one stage downloads its image: one `--image` cannot stand for them all. */
  | { kind: "several-downloads"; count: number }
  /** `--image` was given, but no stage downloads an image. */
  | { kind: "no-download" };

/** Whether a given (or absent) bootstrap image fits the recipe's stages. */
export function imageMismatch(
  stages: readonly DefinitionHeader[],
  imageGiven: boolean,
): ImageMismatch | undefined {
  if (!imageGiven) return undefined;
  const count = stages.filter(downloadsSif).length;
  if (count > 1) return { kind: "several-downloads", count };
  if (count === 0) return { kind: "no-download" };
  return undefined;
}

/** The verdict on a verified bootstrap image. */
export type FingerprintVerdict =
  /** No list: the image verified. */
  | { kind: "verified" }
  /** No list: the image is not signed (`error` says which group); the build goes on. */
  | { kind: "unsigned"; error: string }
  /** No list: the verification failed; the build only warns. */
  | { kind: "unverified"; error: string; failure: VerifyFailure }
  /** A list: the verification failed. */
  | { kind: "failed"; error: string; failure: VerifyFailure }
  /** A list: some listed fingerprints are not in every group's signatures. */
  | { kind: "not-signed-by"; missing: MissingSigner[] }
  /** A list: verified, and every listed fingerprint signed every group. */
  | { kind: "accepted" };

/** A listed fingerprint that is not in AllSignedBy, and why. */
export interface MissingSigner {
  /** As listed. */
  fingerprint: string;
  /** Not 40 hex digits, so it never matches. */
  malformed: boolean;
  /** The groups it has not signed (empty: the image as a whole, e.g. no group task). */
  groups: number[];
}

/**
 * Judges a verification against a stage's `Fingerprints:` list, as Apptainer's build does:
 * strict with a list, lenient without one.
 */
export function judgeFingerprints(
  listed: readonly string[],
  report: VerifyReport,
): FingerprintVerdict {
  const { error, failure } = report.outcome;
  if (listed.length === 0) {
    if (error === undefined || failure === undefined) return { kind: "verified" };
    if (failure.kind === "signature-not-found") return { kind: "unsigned", error };
    return { kind: "unverified", error, failure };
  }
  if (error !== undefined && failure !== undefined) return { kind: "failed", error, failure };
  const signatures = report.checks.map((c) => c.signature);
  const signedBy = new Set(allSignedBy(report.tasks, signatures));
  const byTask = signersByTask(report.tasks, signatures);
  const missing = listed.filter((f) => !signedBy.has(f.toUpperCase())).map((fingerprint) => ({
    fingerprint,
    malformed: !/^[0-9A-Fa-f]{40}$/.test(fingerprint),
    groups: byTask.flatMap(({ task, fingerprints }) =>
      task.kind === "group" && !fingerprints.includes(fingerprint.toUpperCase()) ? [task.group] : []
    ),
  }));
  return missing.length > 0 ? { kind: "not-signed-by", missing } : { kind: "accepted" };
}

/** What checking one stage found. */
export type StageResult =
  /** `Bootstrap: localimage` without `From:`. */
  | { kind: "needs-from" }
  /** A library, oras or shub stage, and no `--image` to stand for its download. */
  | { kind: "needs-image"; agent: string; from?: string }
  /** The agent does not start from a SIF image: nothing to verify. */
  | { kind: "no-sif-source"; agent?: string; listed: string[] }
  /** A local image that is not a SIF file (Apptainer does not verify it). */
  | { kind: "not-sif"; path: string; listed: string[] }
  /** The image cannot be read, or is not a valid SIF. */
  | { kind: "bad-image"; path: string; error: SifError }
  /** The image was verified. */
  | { kind: "checked"; path: string; listed: string[]; verdict: FingerprintVerdict };

/** What {@linkcode checkStage} needs besides the stage. */
export interface StageContext {
  /** The recipe's folder: a local image's `From:` is relative to it. */
  folder: string;
  /** The downloaded image that stands for a library, oras or shub stage's. */
  image?: string;
  /** The keys to verify with (asked for only when an image is verified). */
  keys: () => Promise<KeyFinder>;
  /** Hashing progress for an image of this size. */
  progress?: (imageSize: number) => { onProgress?: ProgressCallback; done(): void };
}

/** Checks one stage's bootstrap image as Apptainer's build would. */
export async function checkStage(
  stage: DefinitionHeader,
  context: StageContext,
): Promise<StageResult> {
  const agent = stage.fields.bootstrap;
  const bootstrap = (agent ?? "").toLowerCase();
  const listed = stage.fingerprints;
  let path: string;
  if (bootstrap === "localimage") {
    const from = stage.fields.from ?? "";
    if (from === "") return { kind: "needs-from" };
    path = resolve(context.folder, from);
  } else if (DOWNLOADED_SIF.has(bootstrap)) {
    if (context.image === undefined) {
      return { kind: "needs-image", agent: agent!, from: stage.fields.from };
    }
    path = context.image;
  } else return { kind: "no-sif-source", agent, listed };

  const opened = await openBootstrap(path, bootstrap === "localimage");
  if (opened === undefined) return { kind: "not-sif", path, listed };
  if (opened instanceof SifError) return { kind: "bad-image", path, error: opened };
  using image = opened;
  const keys = await context.keys();
  const progress = context.progress?.(image.fileSize);
  let report: VerifyReport;
  try {
    report = await verifyImage(image, { keys, onProgress: progress?.onProgress });
  } finally {
    progress?.done();
  }
  return { kind: "checked", path, listed, verdict: judgeFingerprints(listed, report) };
}

/**
 * Opens a bootstrap image: the image; undefined when a local path is a directory or a file
 * without the SIF magic (Apptainer builds from those without verifying); or why it cannot be
 * used.
 */
async function openBootstrap(
  path: string,
  local: boolean,
): Promise<SifImage | SifError | undefined> {
  if (local) {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(path);
    } catch {
      // SifImage.open says what is wrong
    }
    if (info?.isDirectory) return undefined;
    // Only a regular file is sniffed (a FIFO would block); SifImage.open refuses the rest.
    if (info?.isFile && sniffSifFile(path) === "not-sif") return undefined;
  }
  try {
    return await SifImage.open(path);
  } catch (error) {
    if (!(error instanceof SifError)) throw error;
    return error;
  }
}
