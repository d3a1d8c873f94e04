/**
 * siftrust: decide whether to trust Singularity/Apptainer (SIF) container images.
 *
 * This is the library API: the SIF format (`core/sif`), signing and verification
 * byte-compatible with Apptainer (`core/integrity`), and OpenPGP keyrings (`core/keys`).
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
export * from "./core/integrity/mod.ts";
export * from "./core/keys/mod.ts";
export * from "./core/config/mod.ts";
export * from "./core/keyserver/mod.ts";
