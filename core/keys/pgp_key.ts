/**
 * An OpenPGP key as siftrust hands it around: an opaque value with the facts commands need
 * ({@linkcode KeyInfo}) and its bytes. The openpgp.js object inside is reached only through
 * {@linkcode openpgpKey}, which core/keys/mod.ts does not export: it is for siftrust's own
 * signing and verification code.
 *
 * @module
 */

import type * as openpgp from "openpgp";
import { type KeyInfo, keyInfo } from "./key_info.ts";

const inner = new WeakMap<PgpKey, openpgp.Key>();
const infos = new WeakMap<PgpKey, KeyInfo>();

/** An OpenPGP key (public, or with secret material). Keys come from keyrings. */
export class PgpKey {
  private constructor() {}

  /** The facts shown about the key. */
  get info(): KeyInfo {
    let info = infos.get(this);
    if (info === undefined) infos.set(this, info = keyInfo(openpgpKey(this)));
    return info;
  }

  /** The primary fingerprint: 40 upper-case hex digits. */
  get fingerprint(): string {
    return this.info.fingerprint;
  }

  /** The primary key ID: 16 upper-case hex digits. */
  get keyId(): string {
    return this.info.keyId;
  }

  /** Whether it holds secret key material. */
  get secret(): boolean {
    return this.info.secret;
  }

  /** Whether its secret material is encrypted (false for a public key). */
  get locked(): boolean {
    const key = openpgpKey(this);
    return key.isPrivate() && !(key as openpgp.PrivateKey).isDecrypted();
  }

  /** The key as a transferable key (binary packets). */
  bytes(): Uint8Array {
    return openpgpKey(this).write();
  }

  /** The public part (the key itself when it is public). */
  toPublic(): PgpKey {
    const key = openpgpKey(this);
    return key.isPrivate() ? wrapKey(key.toPublic()) : this;
  }

  /** When the key expires, if it does (undefined: never, or not valid). */
  async expiration(): Promise<Date | undefined> {
    const expiry = await openpgpKey(this).getExpirationTime();
    return expiry instanceof Date ? expiry : undefined;
  }
}

/** Wraps an openpgp.js key (siftrust-internal). */
export function wrapKey(key: openpgp.Key): PgpKey {
  const wrapped = Object.create(PgpKey.prototype) as PgpKey;
  inner.set(wrapped, key);
  return wrapped;
}

/** The openpgp.js key inside (siftrust-internal: for signing and verification). */
export function openpgpKey(key: PgpKey): openpgp.Key {
  return inner.get(key)!;
}
