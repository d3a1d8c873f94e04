/**
 * Signature objects: reading them and telling their formats apart (the reference's rules):
 * a DSSE envelope, an OpenPGP clear-signed metadata document, a legacy (Singularity < 3.6)
 * clear-signed `SIFHASH`, or nothing recognizable.
 *
 * @module
 */

import {
  DataType,
  type Descriptor,
  SifError,
  type SifImage,
  signatureInfo,
  toHex,
} from "../sif/mod.ts";
import { type ClearsignedBlock, findClearsigned, LEGACY_PREFIX } from "./clearsign.ts";
import { isDsseEnvelope } from "./dsse.ts";

/** The format of a signature object. */
export type SignatureFormat = "pgp" | "legacy" | "dsse" | "unknown";

/** A signature object, read and classified. */
export interface SignatureObject {
  /** The object's descriptor. */
  descriptor: Descriptor;
  /** What the object holds. */
  format: SignatureFormat;
  /** The object's bytes. */
  data: Uint8Array;
  /** The clear-signed block (pgp and legacy). */
  block?: ClearsignedBlock;
  /** Descriptor hash type (1–5 are valid). */
  hashType: number;
  /** Descriptor fingerprint (40 upper-case hex digits), when not all zero. */
  fingerprint?: string;
}

/** The largest signature object siftrust reads (real ones are a few KiB). */
export const MAX_SIGNATURE_SIZE: number = 16 << 20;

/** The most signature objects siftrust reads in one image (real images have a few). */
export const MAX_SIGNATURE_OBJECTS = 256;

/** The most bytes of signature objects siftrust reads in one image, all objects together. */
export const MAX_SIGNATURE_TOTAL_SIZE: number = 32 << 20;

/**
 * Reads and classifies every signature object of an image, in descriptor order.
 * @throws SifError `invalid` when the image has more than {@linkcode MAX_SIGNATURE_OBJECTS}
 *   signature objects, one larger than {@linkcode MAX_SIGNATURE_SIZE}, or more than
 *   {@linkcode MAX_SIGNATURE_TOTAL_SIZE} bytes of them: checked before any is read.
 */
export async function readSignatureObjects(image: SifImage): Promise<SignatureObject[]> {
  const descriptors = image.descriptors.filter((d) => d.dataType === DataType.Signature);
  checkSignatureBudget(image, descriptors);
  const signatures: SignatureObject[] = [];
  for (const descriptor of descriptors) {
    const data = await image.objectData(descriptor);
    const { hashType, entity } = signatureInfo(descriptor);
    signatures.push({
      descriptor,
      data,
      hashType,
      fingerprint: entity === undefined ? undefined : toHex(entity).toUpperCase(),
      ...classify(data),
    });
  }
  return signatures;
}

/** Refuses signature objects too many or too large to read (see readSignatureObjects). */
function checkSignatureBudget(image: SifImage, descriptors: Descriptor[]): void {
  if (descriptors.length > MAX_SIGNATURE_OBJECTS) {
    throw new SifError(
      "invalid",
      `the image has ${descriptors.length} signature objects, more than the ${MAX_SIGNATURE_OBJECTS} siftrust reads`,
      image.path,
    );
  }
  let total = 0;
  for (const descriptor of descriptors) {
    if (descriptor.size > MAX_SIGNATURE_SIZE) {
      throw new SifError(
        "invalid",
        `signature object ${descriptor.id} is ${descriptor.size} bytes, more than the ${MAX_SIGNATURE_SIZE} siftrust reads`,
        image.path,
      );
    }
    total += descriptor.size;
  }
  if (total > MAX_SIGNATURE_TOTAL_SIZE) {
    throw new SifError(
      "invalid",
      `the image's signature objects hold ${total} bytes, more than the ${MAX_SIGNATURE_TOTAL_SIZE} siftrust reads`,
      image.path,
    );
  }
}

function classify(data: Uint8Array): { format: SignatureFormat; block?: ClearsignedBlock } {
  if (isDsseEnvelope(data)) return { format: "dsse" };
  const block = findClearsigned(new TextDecoder().decode(data));
  if (block === undefined) return { format: "unknown" };
  return { format: block.plaintext.startsWith(LEGACY_PREFIX) ? "legacy" : "pgp", block };
}
