/**
 * OpenPGP clear signatures: verification as the reference (go-crypto) judges it, and signing.
 *
 * The signing key is looked up by the issuer key ID. The cryptographic check is openpgp.js's;
 * then, as go-crypto does, the key is checked at the current time: revoked or expired keys
 * fail even when they were valid when they signed. Failures carry go-crypto's wording.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { withoutArmorHeaders } from "../keys/armor.ts";
import type { FoundKey, KeyFinder } from "../keys/keyset.ts";
import { openpgpKey } from "../keys/pgp_key.ts";
import type { ClearsignedBlock } from "./clearsign.ts";

/** The authenticity verdict of a signature. */
export type PgpStatus = "ok" | "unknown-key" | "bad-signature" | "expired" | "revoked";

/** The outcome of verifying a clear-signed block. */
export interface PgpVerification {
  status: PgpStatus;
  /** go-crypto's error text, e.g. `openpgp: signature made by unknown entity`; none when ok. */
  error?: string;
  /** The issuer key IDs the signature names (16 upper-case hex digits). */
  issuerKeyIds: string[];
  /** The signer, whenever its key was found (also when the key is expired or revoked). */
  signer?: Signer;
}

/** The key that made a signature. */
export interface Signer extends FoundKey {
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  /** The primary user ID (`Name (Comment) <email>`), or undefined when the key has none. */
  userId?: string;
  /**
   * On a valid signature, when it stops verifying: the earliest of its own expiration time and
   * the expiry of the (sub)key that made it. Undefined when neither expires.
   */
  validUntil?: Date;
}

/** Hash algorithms the reference accepts for these signatures. */
const ACCEPTED_HASHES = new Set<number>([
  openpgp.enums.hash.sha224,
  openpgp.enums.hash.sha256,
  openpgp.enums.hash.sha384,
  openpgp.enums.hash.sha512,
]);

/**
 * The reference accepts signatures made before the key's current self-signatures (a key
 * re-signed later, as the reference test key is); openpgp.js needs this to agree.
 */
const VERIFY_CONFIG = { allowInsecureVerificationWithReformattedKeys: true };

/**
 * openpgp.js's `CleartextMessage(text, signature)` constructor, which its type declarations
 * leave out. The text is the plaintext as the reference decodes it (see clearsign.ts).
 */
const ClearsignedMessage = openpgp.CleartextMessage as unknown as new (
  text: string,
  signature: openpgp.Signature,
) => openpgp.CleartextMessage;

/** Verifies a clear-signed block with the keys that `keys` can find. */
export async function verifyClearsigned(
  block: ClearsignedBlock,
  keys: KeyFinder,
  now: Date = new Date(),
): Promise<PgpVerification> {
  const armoredSignature = withoutArmorHeaders(block.armoredSignature);
  if (armoredSignature === undefined) {
    return {
      status: "bad-signature",
      error: "openpgp: invalid data: improperly formatted armor header",
      issuerKeyIds: [],
    };
  }
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch (error) {
    return {
      status: "bad-signature",
      error: `openpgp: invalid data: ${(error as Error).message}`,
      issuerKeyIds: [],
    };
  }
  const packet = signature.packets[0];
  // A damaged packet may name no issuer: openpgp.js then lists `undefined` for it.
  const keyIds = signature.getSigningKeyIDs().filter((id) => id !== undefined && id !== null);
  const issuerKeyIds = keyIds.map((id) => id.toHex().toUpperCase());
  if (packet === undefined) {
    return {
      status: "bad-signature",
      error: "openpgp: invalid data: no signature packet",
      issuerKeyIds,
    };
  }
  if (packet.issuerKeyID === undefined || packet.issuerKeyID === null) {
    return {
      status: "bad-signature",
      error: "openpgp: invalid data: signature doesn't have an issuer",
      issuerKeyIds,
    };
  }
  if (packet.hashAlgorithm === null || !ACCEPTED_HASHES.has(packet.hashAlgorithm)) {
    return {
      status: "bad-signature",
      error: "openpgp: invalid signature: hash algorithm not accepted",
      issuerKeyIds,
    };
  }
  const found = await keys.find(issuerKeyIds);
  if (found === undefined) {
    return {
      status: "unknown-key",
      error: "openpgp: signature made by unknown entity",
      issuerKeyIds,
    };
  }
  const signer = await describeSigner(found);
  const key = openpgpKey(found.key);
  const message = new ClearsignedMessage(block.plaintext, signature);
  try {
    const [result] = await message.verify([key as openpgp.PublicKey], now, {
      ...openpgp.config,
      ...VERIFY_CONFIG,
    });
    await result.verified;
    const signingKey = await checkValidNow(key, packet.issuerKeyID, now);
    const validUntil = await expiryOf(packet, key, signingKey);
    if (validUntil !== undefined) signer.validUntil = validUntil;
  } catch (error) {
    return { ...goError((error as Error).message, key), issuerKeyIds, signer };
  }
  return { status: "ok", issuerKeyIds, signer };
}

/**
 * Like go-crypto: the key and its signing (sub)key must be neither revoked nor expired now.
 * Returns that signing (sub)key.
 */
async function checkValidNow(
  key: openpgp.Key,
  keyId: openpgp.KeyID,
  now: Date,
): Promise<openpgp.Key | openpgp.Subkey> {
  await key.verifyPrimaryKey(now);
  return await key.getSigningKey(keyId, now, undefined, { ...openpgp.config, ...VERIFY_CONFIG });
}

/** The earliest of a signature's expiration time, its key's and its signing subkey's. */
async function expiryOf(
  packet: openpgp.SignaturePacket,
  key: openpgp.Key,
  signingKey: openpgp.Key | openpgp.Subkey,
): Promise<Date | undefined> {
  const times: number[] = [];
  const seconds = packet.signatureExpirationTime;
  if (!packet.signatureNeverExpires && seconds !== null && packet.created !== null) {
    times.push(packet.created.getTime() + seconds * 1000);
  }
  for (const k of [key, signingKey]) {
    const expiry = await k.getExpirationTime();
    if (expiry instanceof Date) times.push(expiry.getTime());
  }
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

/**
 * Whether the key with this primary fingerprint (40 hex digits) is at hand: `keys` finds a key
 * by its primary key ID whose fingerprint is this one.
 */
export async function keyAtHand(fingerprint: string, keys: KeyFinder): Promise<boolean> {
  if (!/^[0-9A-Fa-f]{40}$/.test(fingerprint)) return false;
  const found = await keys.find([fingerprint.slice(24).toUpperCase()]);
  return found?.key.fingerprint.toUpperCase() === fingerprint.toUpperCase();
}

function goError(message: string, key: openpgp.Key): { status: PgpStatus; error: string } {
  if (/revoked/i.test(message)) {
    return { status: "revoked", error: "openpgp: signature made by revoked key" };
  }
  if (/Signature is expired/.test(message)) {
    return { status: "expired", error: "openpgp: signature expired" };
  }
  if (/expired/i.test(message)) return { status: "expired", error: "openpgp: key expired" };
  if (/Signed digest did not match/.test(message)) {
    return { status: "bad-signature", error: "openpgp: invalid signature: hash tag doesn't match" };
  }
  if (/Signature verification failed/.test(message)) {
    return {
      status: "bad-signature",
      error: `openpgp: invalid signature: ${algorithmName(key)} verification failure`,
    };
  }
  return { status: "bad-signature", error: `openpgp: invalid signature: ${message}` };
}

function algorithmName(key: openpgp.Key): string {
  const algorithm = key.getAlgorithmInfo().algorithm;
  if (algorithm.startsWith("rsa")) return "RSA";
  if (algorithm === "ecdsa") return "ECDSA";
  return "EdDSA";
}

async function describeSigner(found: FoundKey): Promise<Signer> {
  return {
    ...found,
    fingerprint: found.key.fingerprint,
    userId: await primaryUserId(openpgpKey(found.key)),
  };
}

/** The primary user ID (the one flagged primary, else the first), as `Name (Comment) <email>`. */
export async function primaryUserId(key: openpgp.Key): Promise<string | undefined> {
  try {
    const primary = await key.getPrimaryUser(undefined, undefined, {
      ...openpgp.config,
      ...VERIFY_CONFIG,
    });
    if (primary.user.userID) return primary.user.userID.userID;
  } catch {
    // An expired or revoked key has no valid primary user: fall back to the first user ID.
  }
  return key.users.find((user) => user.userID !== null)?.userID?.userID;
}

/** Options of {@linkcode signCleartext}. */
export interface SignOptions {
  /** Signature creation time (default now). */
  date?: Date;
}

/**
 * Clear-signs `text` with a decrypted private key, with SHA-256 where the key allows it
 * (legacy Ed25519 keys always sign with SHA-512). The result has no trailing newline, as the
 * reference writes it.
 */
export async function signCleartext(
  text: string,
  key: openpgp.PrivateKey,
  options: SignOptions = {},
): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  const armored = await openpgp.sign({
    message,
    signingKeys: key,
    date: options.date,
    config: { preferredHashAlgorithm: openpgp.enums.hash.sha256 },
  });
  return armored.replace(/\n+$/, "");
}
