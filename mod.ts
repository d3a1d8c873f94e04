/**
 * siftrust: decide whether to trust Singularity/Apptainer (SIF) container images.
 *
 * This is the library API. Today it reads and writes the SIF format (`core/sif`); signing,
 * verification and the site policy are added by later modules.
 *
 * @example Print the objects of an image
 * ```ts
 * import { dataTypeName, SifImage } from "./mod.ts";
 *
 * using image = await SifImage.open("examples/example.sif");
 * for (const d of image.descriptors) {
 *   console.log(d.id, dataTypeName(d.dataType), d.size);
 * }
 * ```
 *
 * @module
 */

export * from "./core/sif/mod.ts";
