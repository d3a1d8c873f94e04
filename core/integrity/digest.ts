/**
 * Digest strings of the integrity metadata (`sha256:<hex>`), and the hash functions behind
 * them (node:crypto, fed incrementally).
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** Digest algorithm names as the metadata spells them. */
export type DigestAlgorithm =
  | "sha224"
  | "sha256"
  | "sha384"
  | "sha512"
  | "sha512_224"
  | "sha512_256";

const NODE_NAMES: Record<DigestAlgorithm, string> = {
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
  sha512_224: "sha512-224",
  sha512_256: "sha512-256",
};

const LENGTHS: Record<DigestAlgorithm, number> = {
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  sha512_224: 28,
  sha512_256: 32,
};

/** A digest: its algorithm and value. */
export interface Digest {
  /** The hash function. */
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hex: string;
}

/** Why a digest string was refused, in the reference's words. */
export class DigestError extends Error {}

/** Whether a name is a digest algorithm of the metadata format. */
export function isDigestAlgorithm(name: string): name is DigestAlgorithm {
  return Object.hasOwn(NODE_NAMES, name);
}

/**
 * Parses `alg:hex` as the reference does: exactly two parts, a known algorithm
 * (`hash algorithm unsupported`), hex of the algorithm's length (`digest malformed`).
 */
export function parseDigest(text: string): Digest {
  const parts = text.split(":");
  if (parts.length !== 2) throw new DigestError("digest malformed");
  const [algorithm, hex] = parts;
  if (!isDigestAlgorithm(algorithm)) throw new DigestError("hash algorithm unsupported");
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length !== LENGTHS[algorithm] * 2) {
    throw new DigestError("digest malformed");
  }
  return { algorithm, hex: hex.toLowerCase() };
}

/** Formats a digest as `alg:hex`. */
export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`;
}

/** node:crypto's name of an algorithm (`sha512-256` for `sha512_256`). */
export function nodeHashName(algorithm: DigestAlgorithm): string {
  return NODE_NAMES[algorithm];
}

/** A new incremental hash for an algorithm. */
export function createHasher(algorithm: DigestAlgorithm): Hash {
  return createHash(nodeHashName(algorithm));
}

/** The digest of some bytes. */
export function digestOf(algorithm: DigestAlgorithm, bytes: Uint8Array): Digest {
  return { algorithm, hex: createHasher(algorithm).update(bytes).digest("hex") };
}

/** Whether two digests are equal (same algorithm and value). */
export function sameDigest(a: Digest, b: Digest): boolean {
  return a.algorithm === b.algorithm && a.hex === b.hex;
}
