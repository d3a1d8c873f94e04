/**
 * `siftrust deffile check RECIPE.def`: would `apptainer build` accept the bootstrap image of
 * this definition file? As Apptainer's build does (docs: apptainer-behavior §4.6): with a
 * non-empty `Fingerprints:` header, the image must pass a full default verification and every
 * listed fingerprint must be in the signature descriptors of every group ("AllSignedBy");
 * without one, a failed verification is only a warning.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { dirname, resolve } from "node:path";
import { taskSignatures, verifyImage, type VerifyReport } from "../../core/integrity/mod.ts";
import { MAGIC, SifError, SifImage } from "../../core/sif/mod.ts";
import { CliError, ExitCode, usageError } from "../exit.ts";
import { verificationFinder } from "../keys.ts";
import { log } from "../output.ts";
import { hashingProgress } from "../progress.ts";

/** The header of one stage of a definition file, as Apptainer's parser reads it. */
export interface DefinitionHeader {
  /** Keys lower-cased; values trimmed, comments dropped. */
  fields: Record<string, string>;
  /** The `Fingerprints:` list: split on `,`, items trimmed; empty when absent or blank. */
  fingerprints: string[];
}

/** A definition file that Apptainer's parser would refuse. */
export class DefinitionError extends Error {}

/** Header keywords Apptainer accepts (`otherurl<N>` too). */
const HEADER_KEYWORDS = new Set([
  "bootstrap",
  "from",
  "includecmd",
  "mirrorurl",
  "updateurl",
  "osversion",
  "include",
  "library",
  "registry",
  "namespace",
  "stage",
  "product",
  "user",
  "regcode",
  "productpgp",
  "registerurl",
  "modules",
  "fingerprints",
  "confurl",
  "setopt",
]);

/** Bootstrap agents whose image is a SIF (downloaded, then unpacked by the local packer). */
const DOWNLOADED_SIF = new Set(["library", "oras", "shub"]);

/**
 * Splits a definition file into its stages (a new stage starts at each line that begins with
 * `Bootstrap:`, any case) and reads each stage's header: the lines before the first line
 * whose first word starts with `%`.
 */
export function parseDefinition(text: string): DefinitionHeader[] {
  const starts = [...text.matchAll(/^bootstrap:/gim)].map((m) => m.index!);
  const bounds = [0, ...starts.filter((s) => s > 0), text.length];
  const stages: DefinitionHeader[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const stage = text.slice(bounds[i], bounds[i + 1]);
    const header = headerOf(stage);
    if (header !== undefined) stages.push(header);
  }
  return stages;
}

function headerOf(stage: string): DefinitionHeader | undefined {
  const lines = stage.split(/\r?\n/);
  const end = lines.findIndex((line) => line.trim().split(/\s+/)[0].startsWith("%"));
  const fields: Record<string, string> = {};
  let continued: { key: string; value: string } | undefined;
  for (const raw of end === -1 ? lines : lines.slice(0, end)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) {
      if (continued !== undefined) fields[continued.key] = continued.value;
      continued = undefined;
      continue;
    }
    const text = line.split("#")[0];
    let key: string;
    let value: string;
    if (continued === undefined) {
      const colon = text.indexOf(":");
      if (colon === -1) throw new DefinitionError(`header key ${text} had no val`);
      key = text.slice(0, colon).trim().toLowerCase();
      value = text.slice(colon + 1).trim();
    } else {
      key = continued.key;
      value = continued.value + text.trim();
      continued = undefined;
    }
    if (value.endsWith("\\")) {
      let rest = value.slice(0, -1);
      if (rest.endsWith("\\n")) rest = `${rest.slice(0, -2)}\n`;
      continued = { key, value: rest };
      continue;
    }
    if (!HEADER_KEYWORDS.has(key) && !/^otherurl\d+$/.test(key)) {
      throw new DefinitionError(`invalid header keyword found: ${key}`);
    }
    fields[key] = value;
  }
  // Only comments and blank lines: not a stage (Apptainer skips it as an empty definition).
  if (Object.keys(fields).length === 0 && end === -1) return undefined;
  const list = fields.fingerprints?.trim() ?? "";
  return {
    fields,
    fingerprints: list === "" ? [] : list.split(",").map((item) => item.trim()),
  };
}

/**
 * The fingerprints found in the signature descriptors of every task of a verification
 * (Apptainer's AllSignedBy: metadata only, no cryptography), upper-case.
 */
export function allSignedBy(report: VerifyReport): Set<string> {
  let common: Set<string> | undefined;
  for (const task of report.tasks) {
    const found = taskSignatures(task, report.checks);
    const fingerprints = new Set(
      (typeof found === "string" ? [] : found).flatMap((c) =>
        c.signature.fingerprint === undefined ? [] : [c.signature.fingerprint.toUpperCase()]
      ),
    );
    common = common === undefined
      ? fingerprints
      : new Set([...common].filter((f) => fingerprints.has(f)));
  }
  return common ?? new Set();
}

/** Adds `deffile` (check) to the program. */
export function registerDeffile(program: Command): void {
  const deffile = program.command("deffile")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust deffile check recipe.def\n  siftrust deffile check --image base.sif recipe.def",
    )
    .description("check definition files (recipes) as `apptainer build` would");

  deffile.command("check")
    .description(
      "check that the bootstrap image of a recipe verifies, and is signed by every " +
        "fingerprint of its Fingerprints: header",
    )
    .argument("<recipe>", "the definition file (.def)")
    .option(
      "--image <sif>",
      "the bootstrap image of a library, oras or shub recipe (downloaded beforehand)",
    )
    .option(
      "--keyring <file>",
      "also use this keyring file, armored or binary (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("-l, --local", "use only keyrings (global, yours, --keyring), never keyservers")
    .addHelpText(
      "after",
      "\nExit codes: 0 the build would accept the image (or verify only warns: no Fingerprints " +
        "header), 1 it would not, 2 the recipe cannot be read or --image is missing, 3 the " +
        "image is not a readable SIF, 4 a signer's key could not be found.\n\nExamples:\n" +
        "  siftrust deffile check app.def                 # Bootstrap: localimage\n" +
        "  siftrust deffile check --image base.sif app.def  # Bootstrap: library",
    )
    .action(async (recipe, options) => {
      let text: string;
      try {
        text = await Deno.readTextFile(recipe);
      } catch (error) {
        const reason = error instanceof Deno.errors.NotFound
          ? "no such file"
          : (error as Error).message;
        throw usageError(`cannot read the definition file ${recipe}: ${reason}`);
      }
      let stages: DefinitionHeader[];
      try {
        stages = parseDefinition(text);
      } catch (error) {
        if (!(error instanceof DefinitionError)) throw error;
        throw usageError(`${recipe}: failed to parse deffile header: ${error.message}`);
      }
      if (stages.length === 0) throw usageError(`${recipe}: empty definition file`);
      const downloads = stages.filter((s) =>
        DOWNLOADED_SIF.has((s.fields.bootstrap ?? "").toLowerCase())
      );
      if (downloads.length > 1 && options.image !== undefined) {
        throw usageError(
          `${recipe} has ${downloads.length} stages that download their image: --image can stand for one only`,
        );
      }
      if (options.image !== undefined && downloads.length === 0) {
        throw usageError(
          `${recipe} downloads no image (no library, oras or shub stage): ` +
            "its images are named by From:, drop --image",
        );
      }
      const folder = dirname(resolve(recipe));
      let code: number = ExitCode.Ok;
      for (const [i, stage] of stages.entries()) {
        const label = stages.length > 1 ? `stage ${i + 1}: ` : "";
        code = Math.max(code, await checkStage(stage, label, folder, options));
      }
      if (code !== ExitCode.Ok) throw new CliError("", code);
    });
}

interface CheckOptions {
  image?: string;
  keyring: string[];
  local?: boolean;
}

/** Checks one stage; returns its exit code (the failure already printed). */
async function checkStage(
  stage: DefinitionHeader,
  label: string,
  folder: string,
  options: CheckOptions,
): Promise<number> {
  const bootstrap = (stage.fields.bootstrap ?? "").toLowerCase();
  const listed = stage.fingerprints;
  let path: string;
  if (bootstrap === "localimage") {
    const from = stage.fields.from ?? "";
    if (from === "") {
      log("error", `${label}Bootstrap: localimage needs From: the path of the image`);
      return ExitCode.Usage;
    }
    path = resolve(folder, from);
  } else if (DOWNLOADED_SIF.has(bootstrap)) {
    if (options.image === undefined) {
      log(
        "error",
        `${label}Bootstrap: ${stage.fields.bootstrap} downloads ${
          stage.fields.from ?? "its image"
        }: ` +
          "download it first (e.g. `apptainer pull`) and pass it with --image FILE",
      );
      return ExitCode.Usage;
    }
    path = options.image;
  } else {
    const what = bootstrap === "" ? "no Bootstrap: header" : `Bootstrap: ${stage.fields.bootstrap}`;
    if (listed.length > 0) {
      log(
        "warning",
        `${label}${what} does not start from a SIF image: Apptainer ignores its Fingerprints: header`,
      );
    } else log("info", `${label}${what} does not start from a SIF image: nothing to verify`);
    return ExitCode.Ok;
  }

  const sif = await openSif(path, bootstrap === "localimage");
  if (typeof sif === "number") return sif;
  if (sif === undefined) {
    log(
      "warning",
      `${label}${path} is not a SIF image: Apptainer does not verify it` +
        (listed.length > 0 ? " and ignores the Fingerprints: header" : ""),
    );
    return ExitCode.Ok;
  }
  using image = sif;
  const finder = await verificationFinder(options.keyring, { local: options.local === true });
  if (listed.length > 0) {
    log(
      "info",
      `${label}Checking bootstrap image verifies with fingerprint(s): [${listed.join(" ")}]`,
    );
  } else log("info", `${label}Verifying bootstrap image ${path}`);
  const progress = hashingProgress(image.fileSize);
  const report = await verifyImage(image, { keys: finder.keys, onProgress: progress.onProgress });
  progress.done();
  const error = report.outcome.error;

  if (listed.length === 0) {
    if (error === undefined) {
      log("info", `${label}Bootstrap image ${path} verified`);
    } else if (/signature not found/.test(error)) {
      log("info", `${label}Bootstrap image ${path} is not signed: the build would go on`);
    } else {
      log("warning", `${label}${error}`);
      log("warning", `${label}Bootstrap image could not be verified, but build will continue.`);
    }
    return ExitCode.Ok;
  }

  if (error !== undefined) {
    const failed = report.outcome.events.at(-1);
    const missingKey = failed?.error !== undefined &&
      (failed.check.authenticity === "unknown-key" ||
        failed.check.authenticity === "no-key-material");
    log("error", `${label}${path}: while checking fingerprint: ${error}`);
    if (missingKey) {
      log(
        "error",
        `${label}the key of signature ${failed.check.id}` +
          `${
            failed.check.signature.fingerprint ? ` (${failed.check.signature.fingerprint})` : ""
          } was not found: pass it with --keyring FILE, or import it with \`siftrust key import\``,
      );
      return ExitCode.KeyUnavailable;
    }
    return ExitCode.Failed;
  }
  const signedBy = allSignedBy(report);
  const missing = listed.filter((fingerprint) => !signedBy.has(fingerprint.toUpperCase()));
  if (missing.length > 0) {
    for (const fingerprint of missing) {
      log(
        "error",
        `${label}image not signed by required entities: ${whyMissing(report, fingerprint)}`,
      );
    }
    return ExitCode.Failed;
  }
  log(
    "info",
    `${label}Bootstrap image ${path} verified, and signed by every listed fingerprint in ` +
      `every group`,
  );
  return ExitCode.Ok;
}

/** Why a listed fingerprint is missing: which groups it has not signed. */
function whyMissing(report: VerifyReport, listed: string): string {
  if (!/^[0-9A-Fa-f]{40}$/.test(listed)) {
    return `"${listed}" is not a 40-hex-digit fingerprint, so it never matches`;
  }
  const groups: number[] = [];
  for (const task of report.tasks) {
    const found = taskSignatures(task, report.checks);
    const has = typeof found !== "string" &&
      found.some((c) => c.signature.fingerprint?.toUpperCase() === listed.toUpperCase());
    if (!has && task.kind === "group") groups.push(task.group);
  }
  const which = groups.length === 0
    ? "the image"
    : `group${groups.length === 1 ? "" : "s"} ${groups.join(", ")}`;
  return `${listed} has not signed ${which}`;
}

/**
 * Opens the bootstrap image: the image, undefined when it is not a SIF at all (only for a
 * local image, which Apptainer then does not verify), or the exit code of a failure (printed).
 */
async function openSif(path: string, local: boolean): Promise<SifImage | undefined | number> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    log("error", `${path}: ${reason}`);
    return ExitCode.BadImage;
  }
  if (info.isDirectory && local) return undefined;
  // Only a regular file is read here (a FIFO would block); SifImage.open refuses the rest.
  if (local && info.isFile && !await hasSifMagic(path)) return undefined;
  try {
    return await SifImage.open(path);
  } catch (error) {
    if (!(error instanceof SifError)) throw error;
    log("error", error.message);
    return ExitCode.BadImage;
  }
}

async function hasSifMagic(path: string): Promise<boolean> {
  try {
    using file = await Deno.open(path);
    const bytes = new Uint8Array(32 + MAGIC.length);
    let done = 0;
    while (done < bytes.length) {
      const n = await file.read(bytes.subarray(done));
      if (n === null) break;
      done += n;
    }
    return done === bytes.length && MAGIC.every((b, i) => bytes[32 + i] === b);
  } catch {
    return true; // let SifImage.open say what is wrong
  }
}
