/**
 * The verdicts of an OpenPGP clear signature (core/integrity/pgp.ts), each from the step that
 * failed: the digest's first bytes, the signature's lifetime, the key's revocation or expiry
 * now (primary key and signing subkey), a key that cannot sign. A signature that expires is made
 * by gpg, which openpgp.js cannot be told to make.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as openpgp from "openpgp";
import { findClearsigned } from "../../core/integrity/clearsign.ts";
import { signCleartext, verifyClearsigned } from "../../core/integrity/pgp.ts";
import { KeySet } from "../../core/keys/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { GpgHome } from "../helpers/gpg.ts";
import { peerTest } from "../helpers/peers.ts";

const TEXT = "SIF digests\nline two  \n";
const CREATED = new Date("2026-01-01T00:00:00Z");
const at = (seconds: number) => new Date(CREATED.getTime() + seconds * 1000);

/** A legacy Ed25519 key made at CREATED, with a signing subkey when asked. */
async function makeKey(options: { subkey?: boolean; expiresIn?: number } = {}) {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name: "verdicts", email: "verdicts@siftrust.test" }],
    date: CREATED,
    keyExpirationTime: options.expiresIn ?? 0,
    subkeys: options.subkey ? [{ sign: true }] : [],
    format: "object",
  });
  return privateKey;
}

/** The verdict and error of `signed` (clear-signed text) under `publicKey`, at `now`. */
async function verdict(signed: string, publicKey: openpgp.Key, now: Date) {
  const keys = new KeySet([{ key: wrapKey(publicKey), source: { kind: "file", location: "t" } }]);
  const result = await verifyClearsigned(findClearsigned(signed)!, keys, now);
  return [result.status, result.error];
}

Deno.test("a good signature is ok; a changed text fails on the digest's first bytes", async () => {
  const key = await makeKey();
  const signed = await signCleartext(TEXT, key, { date: at(10) });
  assertEquals(await verdict(signed, key.toPublic(), at(20)), ["ok", undefined]);
  assertEquals(await verdict(signed.replace("line two", "line 2"), key.toPublic(), at(20)), [
    "bad-signature",
    "openpgp: invalid signature: hash tag doesn't match",
  ]);
});

Deno.test("a signature from the future, or by an expired key, fails with its own verdict", async () => {
  const key = await makeKey({ expiresIn: 3600 });
  const signed = await signCleartext(TEXT, key, { date: at(100) });
  assertEquals(await verdict(signed, key.toPublic(), at(50)), [
    "bad-signature",
    "openpgp: invalid signature: signature creation time is in the future",
  ]);
  assertEquals(await verdict(signed, key.toPublic(), at(200)), ["ok", undefined]);
  assertEquals(await verdict(signed, key.toPublic(), at(7200)), [
    "expired",
    "openpgp: key expired",
  ]);
});

Deno.test("a revoked primary key or signing subkey: revoked, whenever the signature was made", async () => {
  const key = await makeKey({ subkey: true });
  const signed = await signCleartext(TEXT, key, { date: at(10) });
  assertEquals(await verdict(signed, key.toPublic(), at(20)), ["ok", undefined]);
  // The subkey signed: the text names it, not the primary key.
  const issuer = (await openpgp.readSignature({
    armoredSignature: findClearsigned(signed)!.armoredSignature,
  })).getSigningKeyIDs()[0];
  assertEquals(issuer.equals(key.subkeys[0].getKeyID()), true);

  const revoked = await key.revoke({}, at(30));
  assertEquals(await verdict(signed, revoked.toPublic(), at(40)), [
    "revoked",
    "openpgp: signature made by revoked key",
  ]);

  const subkeyRevoked = await makeKey({ subkey: true });
  const signedBySub = await signCleartext(TEXT, subkeyRevoked, { date: at(10) });
  subkeyRevoked.subkeys[0] = await subkeyRevoked.subkeys[0].revoke(
    subkeyRevoked.keyPacket as openpgp.SecretKeyPacket,
    {},
    at(30),
  );
  assertEquals(await verdict(signedBySub, subkeyRevoked.toPublic(), at(40)), [
    "revoked",
    "openpgp: signature made by revoked key",
  ]);
});

Deno.test("a signature by a key that may not sign is not valid", async () => {
  // A primary key made to certify only; the signature is made by it all the same.
  const key = await makeKey({ subkey: true });
  const signed = await signCleartext(TEXT, key, { date: at(10) });
  const publicKey = key.toPublic();
  // The signing subkey's binding is removed: the subkey is no longer part of the key.
  publicKey.subkeys[0].bindingSignatures = [];
  const [status, error] = await verdict(signed, publicKey, at(20));
  assertEquals(status, "bad-signature");
  assertEquals(
    String(error).startsWith("openpgp: invalid signature: not a valid signing key"),
    true,
  );
});

peerTest("a signature past its own expiry: expired, though its key is valid", ["gpg"], async () => {
  const home = await GpgHome.create();
  try {
    const key = await home.generate("ed25519");
    const input = `${home.dir}/text`;
    await Deno.writeTextFile(input, TEXT);
    await home.run([
      "--local-user",
      key.fingerprint,
      "--default-sig-expire",
      "1d",
      "--output",
      `${input}.asc`,
      "--clearsign",
      input,
    ]);
    const signed = await Deno.readTextFile(`${input}.asc`);
    const exported = await home.exportPublic([key], `${home.dir}/key.pub`);
    const publicKey = await openpgp.readKey({ binaryKey: await Deno.readFile(exported) });
    const now = new Date();
    assertEquals(await verdict(signed, publicKey, now), ["ok", undefined]);
    assertEquals(await verdict(signed, publicKey, new Date(now.getTime() + 2 * 86400_000)), [
      "expired",
      "openpgp: signature expired",
    ]);
  } finally {
    await home.cleanup();
  }
});

Deno.test("a lone carriage return in a signed line is signed and checked as openpgp.js signs it", async () => {
  const key = await makeKey();
  const signed = await signCleartext("one\rtwo\nthree", key, { date: at(10) });
  assertEquals(findClearsigned(signed)!.plaintext.includes("\r"), true);
  assertEquals(await verdict(signed, key.toPublic(), at(20)), ["ok", undefined]);
});
