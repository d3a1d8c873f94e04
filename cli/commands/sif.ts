/**
 * `siftrust sif list|info|header|dump` (alias `siftool`): inspect an image as the reference
 * `siftool` does, with `--json` for scripts.
 *
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { SifImage } from "../../core/sif/mod.ts";
import { usageError } from "../exit.ts";
import { print, printJson } from "../output.ts";
import { parseId } from "../arguments.ts";
import { headerJson, objectJson } from "../render/sif_json.ts";
import { headerText, infoText, listText } from "../render/sif_text.ts";

/** Adds the `sif` command group to the program. */
export function registerSif(program: Command): void {
  const sif = program
    .command("sif")
    .alias("siftool")
    .addHelpText(
      "after",
      "\nExamples:\n  siftrust sif list image.sif\n  siftrust sif info 1 image.sif",
    )
    .description("inspect the header and objects of a SIF image (Apptainer's `sif`)");

  sif.command("list")
    .description("list the objects of an image")
    .argument("<image>", "SIF image")
    .option("--json", "print JSON (see docs/sif.md)")
    .addHelpText("after", "\nExample:\n  siftrust sif list image.sif")
    .action(async (path, options) => {
      using image = await SifImage.open(path);
      if (options.json) printJson({ image: path, objects: image.descriptors.map(objectJson) });
      else print(listText(image.descriptors));
    });

  sif.command("info")
    .description("show the metadata of one object")
    .argument("<id>", "object ID (see `sif list`)")
    .argument("<image>", "SIF image")
    .option("--json", "print JSON (see docs/sif.md)")
    .addHelpText("after", "\nExample:\n  siftrust sif info 1 image.sif")
    .action(async (id, path, options) => {
      const objectId = parseId(id, "object ID");
      using image = await SifImage.open(path);
      const d = findObject(image, objectId);
      if (options.json) printJson({ image: path, object: objectJson(d) });
      else print(infoText(d));
    });

  sif.command("header")
    .description("show the global header of an image")
    .argument("<image>", "SIF image")
    .option("--json", "print JSON (see docs/sif.md)")
    .addHelpText("after", "\nExample:\n  siftrust sif header image.sif")
    .action(async (path, options) => {
      using image = await SifImage.open(path);
      if (options.json) printJson({ image: path, header: headerJson(image.header) });
      else print(headerText(image.header));
    });

  sif.command("dump")
    .description("write the raw bytes of one object to stdout")
    .argument("<id>", "object ID (see `sif list`)")
    .argument("<image>", "SIF image")
    .addHelpText("after", "\nExample:\n  siftrust sif dump 1 image.sif > deffile.txt")
    .action(async (id, path) => {
      const objectId = parseId(id, "object ID");
      using image = await SifImage.open(path);
      for await (const chunk of image.objectChunks(findObject(image, objectId))) print(chunk);
    });
}

function findObject(image: SifImage, id: number) {
  const d = image.descriptor(id);
  if (d !== undefined) return d;
  const ids = image.descriptors.map((d) => d.id);
  const has = ids.length === 0 ? "it has no objects" : `its objects are ${ids.join(", ")}`;
  throw usageError(`${image.path} has no object with ID ${id} (${has})`);
}
