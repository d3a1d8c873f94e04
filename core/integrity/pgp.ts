/**
 * OpenPGP clear signatures: verification as the reference (go-crypto) judges it, and signing.
 *
 * The signing key is looked up by the issuer key ID. The checks are made one at a time, in
 * openpgp.js's order, so that each failure is known by the step that failed (never by an error
 * message): the digest's first two bytes, the cryptographic check (openpgp.js's), the
 * signature's own lifetime, then, as go-crypto does, the key at the current time: revoked or
 * expired keys fail even when they were valid when they signed. Failures carry go-crypto's
 * wording.
 *
 * @module
 */

import { createHash } from "node:crypto";
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
  const key = found === undefined ? undefined : openpgpKey(found.key);
  const signingKey = key?.getKeys(packet.issuerKeyID)[0];
  if (found === undefined || key === undefined || signingKey === undefined) {
    return {
      status: "unknown-key",
      error: "openpgp: signature made by unknown entity",
      issuerKeyIds,
    };
  }
  const signer = await describeSigner(found);
  // The text signed, as openpgp.js normalizes a clear-signed message's: every line ends in
  // CR LF, a CR alone inside a line stays as it is.
  const text = new ClearsignedMessage(block.plaintext, signature).getText().replace(/\n/g, "\r\n");
  try {
    const failure = await signatureFailure(packet, signingKey, text, now) ??
      await keyFailure(key, signingKey, packet, now);
    if (failure !== undefined) return { ...failure, issuerKeyIds, signer };
    const validUntil = await expiryOf(packet, key, signingKey);
    if (validUntil !== undefined) signer.validUntil = validUntil;
  } catch (error) {
    // A key or signature openpgp.js cannot read through (a hostile one): not valid, its
    // reason shown as openpgp.js gives it.
    const reason = error instanceof Error ? error.message : String(error);
    return {
      status: "bad-signature",
      error: `openpgp: invalid signature: ${reason}`,
      issuerKeyIds,
      signer,
    };
  }
  return { status: "ok", issuerKeyIds, signer };
}

/** A failed verification: its verdict and go-crypto's wording. */
interface Failure {
  status: PgpStatus;
  error: string;
}

const CONFIG = { ...openpgp.config, ...VERIFY_CONFIG };

/** Node's names of the accepted hash algorithms. */
const NODE_HASHES = new Map<number, string>([
  [openpgp.enums.hash.sha224, "sha224"],
  [openpgp.enums.hash.sha256, "sha256"],
  [openpgp.enums.hash.sha384, "sha384"],
  [openpgp.enums.hash.sha512, "sha512"],
]);

/**
 * What is wrong with the signature itself over `text` (as signed), if anything,
 * checked as openpgp.js checks it: what it refuses to judge, the digest's first two bytes, the
 * cryptographic check, then the signature's own lifetime at `now`.
 */
async function signatureFailure(
  packet: openpgp.SignaturePacket,
  signingKey: openpgp.Key | openpgp.Subkey,
  text: string,
  now: Date,
): Promise<Failure | undefined> {
  const invalid = (why: string): Failure => ({
    status: "bad-signature",
    error: `openpgp: invalid signature: ${why}`,
  });
  if (packet.publicKeyAlgorithm !== signingKey.keyPacket.algorithm) {
    return invalid("public key and signature use different algorithms");
  }
  const unknown = packet.unknownSubpackets.find((subpacket) => subpacket.critical);
  if (unknown !== undefined) return invalid(`unknown critical signature subpacket ${unknown.type}`);
  const notation = packet.rawNotations.find((n) =>
    n.critical && !CONFIG.knownNotations.includes(n.name)
  );
  if (notation !== undefined) return invalid(`unknown critical notation ${notation.name}`);
  if (packet.revocationKeyClass !== null) return invalid("designated revokers are not supported");
  if (!digestTagMatches(packet, new TextEncoder().encode(text))) {
    return invalid("hash tag doesn't match");
  }
  try {
    // No time checks here (date null): the lifetime is checked below.
    await packet.verify(
      signingKey.keyPacket,
      packet.signatureType!,
      literalText(text),
      null as unknown as Date,
      true,
      CONFIG,
    );
  } catch {
    // What else it refuses was checked above: this is the cryptographic check failing.
    return invalid(`${algorithmName(signingKey)} verification failure`);
  }
  if (packet.created === null || packet.created > now) {
    return invalid("signature creation time is in the future");
  }
  if (now >= packet.getExpirationTime()) {
    return { status: "expired", error: "openpgp: signature expired" };
  }
  return undefined;
}

/**
 * Whether the first two bytes of the signature's digest are those it records (a v4 signature;
 * the digest of other versions is left to the cryptographic check).
 */
function digestTagMatches(packet: openpgp.SignaturePacket, data: Uint8Array): boolean {
  const name = NODE_HASHES.get(packet.hashAlgorithm ?? -1);
  const tag = packet.signedHashValue;
  const hashed = packet.signatureData;
  if (packet.version !== 4 || name === undefined || tag === null || hashed === null) return true;
  const trailer = new Uint8Array(6);
  trailer.set([4, 0xff]);
  new DataView(trailer.buffer).setUint32(2, hashed.length);
  const digest = createHash(name).update(data).update(hashed).update(trailer).digest();
  return digest[0] === tag[0] && digest[1] === tag[1];
}

/** The text as openpgp.js's literal data packet of a clear-signed message. */
function literalText(text: string): openpgp.LiteralDataPacket {
  const literal = new openpgp.LiteralDataPacket() as unknown as {
    setText(text: string): void;
  };
  literal.setText(text);
  return literal as unknown as openpgp.LiteralDataPacket;
}

/**
 * What is wrong with the key that signed, if anything: it must be older than the signature and
 * able to sign, and, as go-crypto judges it, neither revoked nor expired now. The verdict comes
 * from the key's own state, checked here: revoked, else expired, else not a valid signing key.
 */
async function keyFailure(
  key: openpgp.Key,
  signingKey: openpgp.Key | openpgp.Subkey,
  packet: openpgp.SignaturePacket,
  now: Date,
): Promise<Failure | undefined> {
  if (signingKey.getCreationTime() > packet.created!) {
    return {
      status: "bad-signature",
      error: "openpgp: invalid signature: key is newer than the signature",
    };
  }
  try {
    await key.verifyPrimaryKey(now, undefined, CONFIG);
    await key.getSigningKey(signingKey.getKeyID(), now, undefined, CONFIG);
    return undefined;
  } catch (error) {
    if (await isRevoked(key, signingKey, now)) {
      return { status: "revoked", error: "openpgp: signature made by revoked key" };
    }
    if (await isExpired(key, signingKey, now)) {
      return { status: "expired", error: "openpgp: key expired" };
    }
    return {
      status: "bad-signature",
      error: `openpgp: invalid signature: not a valid signing key: ${(error as Error).message}`,
    };
  }
}

/** Whether the primary key, or the signing subkey, has a valid revocation at `now`. */
async function isRevoked(
  key: openpgp.Key,
  signingKey: openpgp.Key | openpgp.Subkey,
  now: Date,
): Promise<boolean> {
  if (await key.isRevoked(undefined, undefined, now, CONFIG)) return true;
  if (signingKey === key) return false;
  const subkey = signingKey as openpgp.Subkey;
  return await subkey.isRevoked(
    undefined as unknown as openpgp.SignaturePacket,
    undefined as unknown as openpgp.PublicKeyPacket,
    now,
    CONFIG,
  );
}

/** Whether the primary key, or the signing subkey, has expired by `now`. */
async function isExpired(
  key: openpgp.Key,
  signingKey: openpgp.Key | openpgp.Subkey,
  now: Date,
): Promise<boolean> {
  const past = (time: Date | number | null) => time instanceof Date && time <= now;
  if (past(await key.getExpirationTime(undefined, CONFIG))) return true;
  if (signingKey === key) return false;
  return past(await (signingKey as openpgp.Subkey).getExpirationTime(now, CONFIG));
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

function algorithmName(key: openpgp.Key | openpgp.Subkey): string {
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
