/**
 * Changing keyrings: import, remove, add a new key pair. Each change reads the keyrings,
 * checks everything, then writes — all under the folder's lock, each file replaced
 * atomically. Keys that openpgp.js cannot use are carried over byte for byte, and removing
 * one secret key leaves the others (and their private material) untouched.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { type Keyring, readKeyringFile } from "./keyring.ts";
import { withDirLock, writeFileAtomic } from "../files/atomic.ts";
import { keyringBytes } from "./store.ts";
import { type PgpKey, wrapKey } from "./pgp_key.ts";

/** The keyrings a change applies to. */
export interface KeyringFiles {
  /** Their folder (locked while changing). */
  dir: string;
  /** The public keyring. */
  publicKeyring: string;
  /** The secret keyring; absent for the global keyring, which holds public keys only. */
  secretKeyring?: string;
  /** The mode keyring files are written with. */
  mode: number;
}

/** Why a keyring change cannot be made. */
export type KeyManagementErrorKind =
  /** The input holds a key openpgp.js cannot use. */
  | "unusable-key"
  /** The input holds no key. */
  | "no-key"
  /** The key is in the keyring already. */
  | "duplicate"
  /** A secret key for the global keyring, which holds public keys only. */
  | "secret-in-global"
  /** A key size (or type) that is not supported. */
  | "unsupported";

/** A change that cannot be made; `kind` says why, the message in words a user can act on. */
export class KeyManagementError extends Error {
  /** Why. */
  readonly kind: KeyManagementErrorKind;

  /** An error of this kind. */
  constructor(kind: KeyManagementErrorKind, message: string) {
    super(message);
    this.name = "KeyManagementError";
    this.kind = kind;
  }
}

/** What importing one key did. */
export interface ImportedKey {
  /** The key's primary fingerprint. */
  fingerprint: string;
  /** The keyring it went to. */
  keyring: "public" | "secret";
  /** `added`, or `present` (the public part of an imported secret key was there already). */
  status: "added" | "present";
}

/** Options of {@linkcode importKeys}. */
export interface ImportOptions {
  /** Re-encrypts a secret key before it is stored (`--new-password`); default: stored as is. */
  reencrypt?: (key: PgpKey) => Promise<PgpKey>;
}

const fingerprintOf = (key: PgpKey) => key.fingerprint;

/**
 * Imports every key of `input`: secret keys into the secret keyring (and their public part
 * into the public keyring), public keys into the public keyring. All or nothing: a key that
 * cannot be used or is already there stops the import before anything is written.
 */
export async function importKeys(
  files: KeyringFiles,
  input: Keyring,
  options: ImportOptions = {},
): Promise<ImportedKey[]> {
  if (input.skipped.length > 0) {
    throw new KeyManagementError(
      "unusable-key",
      `the file holds a key siftrust cannot use: ${input.skipped[0].reason}`,
    );
  }
  if (input.keys.length === 0) {
    throw new KeyManagementError("no-key", "the file holds no OpenPGP key");
  }
  const additions = await Promise.all(input.keys.map(async ({ key, raw }) => ({
    key,
    secret: key.secret
      ? (options.reencrypt ? (await options.reencrypt(key)).bytes() : raw)
      : undefined,
    public: key.secret ? key.toPublic().bytes() : raw,
  })));
  return await withDirLock(files.dir, async () => {
    const publicRing = await readKeyringFile(files.publicKeyring);
    const secretRing = files.secretKeyring === undefined
      ? undefined
      : await readKeyringFile(files.secretKeyring);
    const results: ImportedKey[] = [];
    const newPublic: Uint8Array[] = [];
    const newSecret: Uint8Array[] = [];
    for (const addition of additions) {
      const fingerprint = fingerprintOf(addition.key);
      const alreadyPublic = has(publicRing, fingerprint) ||
        results.some((r) => r.fingerprint === fingerprint && r.keyring === "public");
      if (addition.secret !== undefined) {
        if (secretRing === undefined) {
          throw new KeyManagementError(
            "secret-in-global",
            `the key ${fingerprint} is a secret key, and the global keyring holds public keys only`,
          );
        }
        if (
          has(secretRing, fingerprint) ||
          results.some((r) => r.fingerprint === fingerprint && r.keyring === "secret")
        ) {
          throw new KeyManagementError(
            "duplicate",
            `the key with fingerprint ${fingerprint} already belongs to the keyring`,
          );
        }
        newSecret.push(addition.secret);
        results.push({ fingerprint, keyring: "secret", status: "added" });
        if (alreadyPublic) {
          results.push({ fingerprint, keyring: "public", status: "present" });
          continue;
        }
      } else if (alreadyPublic) {
        throw new KeyManagementError(
          "duplicate",
          `the key with fingerprint ${fingerprint} already belongs to the keyring`,
        );
      }
      newPublic.push(addition.public);
      results.push({ fingerprint, keyring: "public", status: "added" });
    }
    if (newSecret.length > 0) {
      await rewrite(files.secretKeyring!, [...secretRing!.blocks, ...newSecret], files.mode);
    }
    if (newPublic.length > 0) {
      await rewrite(files.publicKeyring, [...publicRing.blocks, ...newPublic], files.mode);
    }
    return results;
  });
}

/** Adds a newly generated key pair: the secret key and its public part. */
export async function addKeyPair(files: KeyringFiles, key: PgpKey): Promise<void> {
  await importKeys(files, {
    keys: [{ key, raw: key.bytes() }],
    skipped: [],
    blocks: [key.bytes()],
  });
}

/** A key pair made and added by {@linkcode createKeyPair}. */
export interface CreatedKeyPair {
  /** Its primary fingerprint (40 upper-case hex digits). */
  fingerprint: string;
  /** The public key's transferable-key bytes (what `--push` publishes). */
  publicKey: Uint8Array;
}

/** Generates a key pair and adds it to the keyrings. */
export async function createKeyPair(
  files: KeyringFiles,
  spec: NewKeyPair,
): Promise<CreatedKeyPair> {
  const key = await generateKeyPair(spec);
  await addKeyPair(files, key);
  return { fingerprint: key.fingerprint, publicKey: key.toPublic().bytes() };
}

/** Which keyrings to remove a key from. */
export interface RemoveTargets {
  /** Remove it from the public keyring. */
  public: boolean;
  /** Remove it from the secret keyring. */
  secret: boolean;
}

/**
 * Removes the first key with this primary fingerprint from each keyring asked for. Returns,
 * per keyring, whether a key was removed.
 */
export async function removeKey(
  files: KeyringFiles,
  fingerprint: string,
  targets: RemoveTargets,
): Promise<{ public?: boolean; secret?: boolean }> {
  return await withDirLock(files.dir, async () => {
    const removed: { public?: boolean; secret?: boolean } = {};
    if (targets.public) {
      removed.public = await removeFrom(files.publicKeyring, fingerprint, files.mode);
    }
    if (targets.secret) {
      if (files.secretKeyring === undefined) {
        throw new KeyManagementError("secret-in-global", "the global keyring holds no secret keys");
      }
      removed.secret = await removeFrom(files.secretKeyring, fingerprint, files.mode);
    }
    return removed;
  });
}

async function removeFrom(path: string, fingerprint: string, mode: number): Promise<boolean> {
  const keyring = await readKeyringFile(path);
  const match = keyring.keys.find(({ key }) => fingerprintOf(key) === fingerprint);
  if (match === undefined) return false;
  await rewrite(path, keyring.blocks.filter((block) => block !== match.raw), mode);
  return true;
}

/** The key with this primary fingerprint in a keyring, if any. */
export async function findKey(
  path: string,
  fingerprint: string,
): Promise<Keyring["keys"][number] | undefined> {
  const keyring = await readKeyringFile(path);
  return keyring.keys.find(({ key }) => fingerprintOf(key) === fingerprint);
}

function has(keyring: Keyring, fingerprint: string): boolean {
  return keyring.keys.some(({ key }) => fingerprintOf(key) === fingerprint);
}

async function rewrite(path: string, blocks: Uint8Array[], mode: number): Promise<void> {
  await writeFileAtomic(path, keyringBytes(blocks), mode, { underLock: true });
}

/** What a new key pair is made of. */
export interface NewKeyPair {
  /** The owner's name. */
  name: string;
  /** The owner's e-mail address. */
  email: string;
  /** A comment (empty for none). */
  comment: string;
  /** Encrypts the secret key; empty for none. */
  passphrase: string;
  /** `rsa` (default, 4096 bits) or `ed25519` (a v4 legacy EdDSA key, which gpg accepts). */
  type: "rsa" | "ed25519";
  /** RSA key size in bits (see {@linkcode rsaKeyBits}). */
  bits: number;
}

/** A user ID as go-crypto's `NewUserId` builds it: `Name (Comment) <email>`, empty parts left out. */
export function userIdText(name: string, comment: string, email: string): string {
  return [name, comment === "" ? "" : `(${comment})`, email === "" ? "" : `<${email}>`].filter((
    p,
  ) => p !== "").join(" ");
}

/**
 * The RSA key size `key newpair -b N` makes. As Apptainer (go-crypto): 0 means go-crypto's
 * default, 2048, and under 1024 is refused with go-crypto's words. Unlike Apptainer, 1024 to
 * 2047 bits (too weak: openpgp.js and gpg refuse to verify with them by default) and over
 * 8192 (minutes to make) are refused too.
 */
export function rsaKeyBits(requested: number): number {
  if (requested === 0) return 2048;
  if (requested < 1024) {
    throw new KeyManagementError("unsupported", "openpgp: invalid argument: bits must be >= 1024");
  }
  if (requested < 2048 || requested > 8192) {
    throw new KeyManagementError(
      "unsupported",
      `an RSA key of ${requested} bits is not supported: choose from 2048 to 8192`,
    );
  }
  return requested;
}

/** Generates a key pair: a signing primary key and an encryption subkey. */
export async function generateKeyPair(spec: NewKeyPair): Promise<PgpKey> {
  const { privateKey } = await openpgp.generateKey({
    ...(spec.type === "rsa"
      ? { type: "rsa", rsaBits: rsaKeyBits(spec.bits) }
      : { type: "ecc", curve: "ed25519Legacy" }),
    // The whole user ID as the name: stored exactly as Apptainer (go-crypto) writes it, with
    // no e-mail format check that Apptainer does not make either.
    userIDs: [{ name: userIdText(spec.name, spec.comment, spec.email) }],
    passphrase: spec.passphrase === "" ? undefined : spec.passphrase,
    format: "object",
  });
  return wrapKey(privateKey);
}
