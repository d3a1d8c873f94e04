/**
 * Admitting an image into a library: the source is opened once and copied into a temporary
 * file next to the destination (the digests its signatures need are taken as it is written, so
 * its data is never read again), the policy decides on the copy as if it were at the
 * destination, and the copy is renamed into place only on ALLOW. A copy that is not allowed is
 * removed, so a deny leaves nothing behind. Whatever happens to the source during the copy, the bytes decided are
 * the bytes installed.
 *
 * @module
 */

import { type CopyError, copyHashed, type HashedCopy } from "../core/files/copy_hashed.ts";
import { DescriptorHandle } from "../core/sif/handle.ts";
import { type OpenImageFile, openImageOnce, SifError, SifImage } from "../core/sif/mod.ts";
import { type ProgressCallback, StreamedDigests } from "../core/integrity/mod.ts";
import {
  type CheckContext,
  checkImage,
  type CheckResult,
  type OpenedImage,
  unopenedResult,
} from "./check.ts";

/** Why an admission could not be made: the destination, or the copy itself. */
export type AdmitErrorKind =
  /** The destination's folder does not exist or is not a folder. */
  | "bad-destination"
  /** Writing, syncing or renaming the copy failed (the copy engine's kind is the cause). */
  | "copy-failed";

/** An admission that could not be made; nothing was installed. */
export class AdmitError extends Error {
  /** Why. */
  readonly kind: AdmitErrorKind;

  /** An error of `kind` with a one-line message that names the path. */
  constructor(kind: AdmitErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AdmitError";
    this.kind = kind;
  }
}

/** A copy decided on but not yet installed (see {@linkcode decideCopy}). */
export interface DecidedCopy {
  /** The decision on the copy, its image being the destination path. */
  result: CheckResult;
  /** The copy in its temporary file: `commit()` installs it, `discard()` removes it. */
  copy: HashedCopy;
  /** The copy, open read-only once (the descriptor a runtime may be given). */
  file: OpenImageFile;
}

/** Options of {@linkcode decideCopy} and {@linkcode admitImage}. */
export interface CopyDecisionOptions {
  /**
   * Also take the SHA-256 of the whole copy (`sha256` of the results). Off by default: it is a
   * second SHA-256 pass over every byte, which the decision does not need.
   */
  sha256?: boolean;
  /** Told of the hashing's progress, when the decision reads the copy's data. */
  onProgress?: ProgressCallback;
}

/**
 * Copies an open image into a temporary file next to `destination` (an absolute path whose
 * folder only the running user can write) and decides on the copy as if it were at
 * `destination`, without the verify-once cache. On any error nothing is left behind.
 */
export async function decideCopy(
  source: OpenImageFile,
  destination: string,
  context: CheckContext,
  options: CopyDecisionOptions = {},
): Promise<DecidedCopy> {
  const streamed = new StreamedDigests();
  let copy: HashedCopy;
  try {
    // The digests its signatures need are taken as the copy is written (on another core):
    // deciding needs not read the data again.
    copy = await copyHashed(new DescriptorHandle(source.fd), destination, {
      mode: 0o644,
      digests: streamed,
      sha256: options.sha256 ?? false,
    });
  } catch (error) {
    throw new AdmitError("copy-failed", (error as CopyError).message, { cause: error });
  }
  let file: OpenImageFile | undefined;
  try {
    file = openImageOnce(copy.tempPath);
    const fd = file.fd;
    // Rules match the destination: the image will run from there.
    const atDestination: OpenedImage = {
      ...file,
      realPath: destination,
      image: () => SifImage.fromDescriptor(fd, destination),
      digests: streamed.known(copy.partDigests, copy.size),
    };
    const uncached = { ...context, cacheDir: undefined };
    const result = await checkImage(destination, uncached, options.onProgress, atDestination);
    return { result, copy, file };
  } catch (error) {
    file?.close();
    await copy.discard().catch(() => undefined);
    throw error;
  }
}

/** The outcome of {@linkcode admitImage}. */
export interface AdmitResult {
  /** The decision (on the copy, at the destination; or an `error` for a bad source). */
  result: CheckResult;
  /** Where the image is, or would have been, installed. */
  destination: string;
  /** Whether the copy was renamed into place (only on ALLOW, in any mode). */
  installed: boolean;
  /** The SHA-256 of the bytes copied; null when not asked for, or when nothing was copied. */
  sha256: string | null;
}

/**
 * Admits the image at `source` into `dest`: a folder (the source's file name is kept) or a
 * file path in an existing folder. Installed only when the decision is `allow`; a deny, in
 * either mode, installs nothing. A source that cannot be opened as a regular file is an
 * `error` decision, as `check` reports it.
 *
 * @throws AdmitError when the destination is unusable or the copy fails
 */
export async function admitImage(
  source: string,
  dest: string,
  context: CheckContext,
  options: CopyDecisionOptions = {},
): Promise<AdmitResult> {
  const destination = await destinationPath(source, dest);
  let opened: OpenImageFile;
  try {
    opened = openImageOnce(source);
  } catch (error) {
    if (!(error instanceof SifError)) throw error;
    const result = unopenedResult(source, context.policy, error);
    return { result, destination, installed: false, sha256: null };
  }
  let decided: DecidedCopy;
  try {
    decided = await decideCopy(opened, destination, context, options);
  } finally {
    opened.close();
  }
  const { result, copy, file } = decided;
  try {
    if (result.decision.decision !== "allow") {
      await copy.discard();
      return { result, destination, installed: false, sha256: copy.sha256 };
    }
    try {
      await copy.commit();
    } catch (error) {
      await copy.discard().catch(() => undefined);
      throw new AdmitError("copy-failed", (error as Error).message, { cause: error });
    }
    copy.file.close();
    return { result, destination, installed: true, sha256: copy.sha256 };
  } finally {
    file.close();
  }
}

/** The absolute destination: `dest/<source's name>` for a folder, else `dest` itself. */
async function destinationPath(source: string, dest: string): Promise<string> {
  const name = source.slice(source.lastIndexOf("/") + 1);
  const info = await Deno.stat(dest).catch(() => undefined);
  if (info?.isDirectory) return `${await Deno.realPath(dest)}/${name}`;
  const slash = dest.lastIndexOf("/");
  const folder = slash === -1 ? "." : dest.slice(0, slash) || "/";
  const file = dest.slice(slash + 1);
  let real: string;
  try {
    real = await Deno.realPath(folder);
    if (!(await Deno.stat(real)).isDirectory) throw new Error("not a folder");
  } catch {
    throw new AdmitError("bad-destination", `${dest}: the folder ${folder} does not exist`);
  }
  if (file === "" || file === "." || file === "..") {
    throw new AdmitError("bad-destination", `${dest}: name a folder or a file path`);
  }
  return `${real === "/" ? "" : real}/${file}`;
}
