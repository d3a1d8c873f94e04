/**
 * The key logic the `key` commands call, without a subprocess: key facts and matching,
 * armor, unlocking and re-encrypting secret keys, creating a key pair, and what `key pull`
 * and `key push` accept (argument rules, the checks on a pulled key, a pull from a stub
 * keyserver, the choice of the key to push).
 */

import { deepStrictEqual as assertEquals, ok, rejects, throws } from "node:assert/strict";
import { join } from "node:path";
import {
  armorKey,
  createKeyPair,
  importKeys,
  KeyManagementError,
  keyMatches,
  type KeyringFiles,
  KeySet,
  parseKeyring,
  type PgpKey,
  readKeyringFile,
  unlockKey,
} from "../../core/keys/mod.ts";
import { generateKeyPair } from "../../core/keys/manage.ts";
import { reencryptKey } from "../../core/keys/unlock.ts";
import { openpgpKey } from "../../core/keys/pgp_key.ts";
import {
  KeyTransferError,
  parsePullArgument,
  pullKey,
  pushableKey,
} from "../../core/keyserver/mod.ts";
import { checkPulledKey } from "../../core/keyserver/transfer.ts";

const spec = (name: string, passphrase = "") => ({
  name,
  email: `${name}@example.org`,
  comment: "test",
  passphrase,
  type: "ed25519" as const,
  bits: 0,
});

const made = new Map<string, Promise<PgpKey>>();
/** A test key, made once per name. */
function key(name: string, passphrase = ""): Promise<PgpKey> {
  let k = made.get(name);
  if (k === undefined) made.set(name, k = generateKeyPair(spec(name, passphrase)));
  return k;
}

/** A temporary key folder with its keyring files. */
async function keysDir(): Promise<KeyringFiles & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-key-logic-" });
  return {
    dir,
    publicKeyring: join(dir, "pgp-public"),
    secretKeyring: join(dir, "pgp-secret"),
    mode: 0o600,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const isTransfer = (kind: string) => (error: unknown) =>
  error instanceof KeyTransferError && error.kind === kind;

Deno.test("keyInfo: fingerprint, key ID, user ID parts, size, secret; keyMatches by fingerprint, key ID, last 8 digits", async () => {
  const alice = await key("alice");
  const info = alice.info;
  assertEquals(info.fingerprint, openpgpKey(alice).getFingerprint().toUpperCase());
  assertEquals(info.keyId, info.fingerprint.slice(-16));
  // The user ID as read back from the keyring (generation stores it as one name string).
  const stored = (await parseKeyring(alice.bytes())).keys[0].key;
  assertEquals(stored.info.userIds, [{
    name: "alice",
    comment: "test",
    email: "alice@example.org",
  }]);
  assertEquals([info.secret, info.bits], [true, 256]);
  assertEquals(alice.toPublic().info.secret, false);
  const subkey = info.components[1];
  assertEquals(info.components.length, 2);
  ok(keyMatches(info, info.fingerprint.toLowerCase()));
  ok(keyMatches(info, subkey.keyId));
  ok(keyMatches(info, subkey.fingerprint.slice(-8)));
  ok(!keyMatches(info, info.fingerprint.slice(-12)));
  ok(!keyMatches((await key("bob")).info, info.fingerprint));
});

Deno.test("armorKey: armored public and private blocks with a checksum line, read back as the same key", async () => {
  const alice = await key("alice");
  const armored = armorKey(alice.toPublic().bytes());
  ok(armored.startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
  ok(/\n=[A-Za-z0-9+/]{4}\n-----END PGP PUBLIC KEY BLOCK-----/.test(armored), armored);
  const back = await parseKeyring(new TextEncoder().encode(armored));
  assertEquals(back.keys.map(({ key }) => key.info.fingerprint), [alice.info.fingerprint]);
  ok(armorKey(alice.bytes(), true).startsWith("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
});

Deno.test("unlockKey and reencryptKey: a wrong passphrase is undefined; re-encryption asks until right", async () => {
  const locked = await key("locked", "old secret");
  assertEquals(await unlockKey(locked, "wrong"), undefined);
  ok((await unlockKey(locked, "old secret"))?.locked === false);
  const tried: string[] = [];
  const current = async (attempt: (p: string) => Promise<PgpKey | undefined>) => {
    for (const passphrase of ["wrong", "old secret"]) {
      tried.push(passphrase);
      const unlocked = await attempt(passphrase);
      if (unlocked !== undefined) return unlocked;
    }
    throw new Error("gave up");
  };
  const renewed = await reencryptKey(locked, current, () => Promise.resolve("new secret"));
  assertEquals(tried, ["wrong", "old secret"]);
  ok(renewed.locked);
  assertEquals(await unlockKey(renewed, "old secret"), undefined);
  ok(await unlockKey(renewed, "new secret"));
  const bare = await reencryptKey(locked, current, () => Promise.resolve(""));
  ok(!bare.locked);
});

Deno.test("createKeyPair adds the secret and public key; a second import is a duplicate (kind)", async () => {
  await using files = await keysDir();
  const created = await createKeyPair(files, spec("carol"));
  const [secret, pub] = await Promise.all([
    readKeyringFile(files.secretKeyring!),
    readKeyringFile(files.publicKeyring),
  ]);
  assertEquals(secret.keys.map(({ key }) => key.info.fingerprint), [created.fingerprint]);
  assertEquals(pub.keys.map(({ key }) => key.info.fingerprint), [created.fingerprint]);
  assertEquals((await parseKeyring(created.publicKey)).keys.map(({ key }) => key.secret), [
    false,
  ]);
  await rejects(
    importKeys(files, await parseKeyring(created.publicKey)),
    (error) => error instanceof KeyManagementError && error.kind === "duplicate",
  );
});

Deno.test("parsePullArgument: 8 or 40 hex digits, Go's hex errors otherwise", () => {
  assertEquals(parsePullArgument("abcdef01"), "ABCDEF01");
  throws(
    () => parsePullArgument("zz"),
    (e: unknown) =>
      isTransfer("bad-argument")(e) &&
      (e as Error).message.startsWith(
        "failed to decode fingerprint: encoding/hex: invalid byte: U+007A 'z'",
      ),
  );
  throws(
    () => parsePullArgument("abc"),
    (e: unknown) => (e as Error).message.includes("encoding/hex: odd length hex string"),
  );
  throws(
    () => parsePullArgument("abcdef0123"),
    (e: unknown) =>
      isTransfer("bad-argument")(e) && (e as Error).message.startsWith("not a valid key length"),
  );
});

Deno.test("checkPulledKey: exactly one public key, the one asked for", async () => {
  const alice = (await key("alice")).toPublic();
  const entry = { key: alice, raw: alice.bytes() };
  const fp = alice.info.fingerprint;
  const bob = (await key("bob")).info.fingerprint;
  assertEquals(checkPulledKey([entry], [], fp), entry);
  assertEquals(
    checkPulledKey([entry], [], alice.info.components[1].fingerprint.slice(-8)),
    entry,
  );
  throws(() => checkPulledKey([], [], fp), isTransfer("no-key"));
  throws(() => checkPulledKey([], [{ reason: "odd" }], fp), isTransfer("unusable-key"));
  throws(() => checkPulledKey([entry, entry], [], fp), isTransfer("several-keys"));
  throws(
    () => checkPulledKey([entry], [], bob),
    isTransfer("wrong-key"),
  );
  // A subkey's full fingerprint is not the key asked for by fingerprint.
  throws(
    () => checkPulledKey([entry], [], alice.info.components[1].fingerprint),
    isTransfer("wrong-key"),
  );
  const secret = await key("alice");
  throws(
    () => checkPulledKey([{ key: secret, raw: secret.bytes() }], [], fp),
    isTransfer("secret-key"),
  );
});

Deno.test("pullKey from a stub keyserver: added once, then already there (0)", async () => {
  await using files = await keysDir();
  const alice = (await key("alice")).toPublic();
  const asked: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    asked.push(new URL(request.url).searchParams.get("search") ?? "");
    return new Response(armorKey(alice.bytes()));
  });
  try {
    const keyserver = { uri: `http://127.0.0.1:${server.addr.port}`, insecure: false };
    const fp = alice.info.fingerprint;
    assertEquals(await pullKey(keyserver, fp, files), 1);
    assertEquals(await pullKey(keyserver, fp, files), 0);
    assertEquals(asked, [`0x${fp.toLowerCase()}`, `0x${fp.toLowerCase()}`]);
    const ring = await readKeyringFile(files.publicKeyring);
    assertEquals(ring.keys.map(({ key }) => key.info.fingerprint), [fp]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("pushableKey: by key ID or fingerprint, exactly one key of the keyring", async () => {
  await using files = await keysDir();
  await rejects(pushableKey(files.publicKeyring, "ABC"), isTransfer("bad-argument"));
  await rejects(pushableKey(files.publicKeyring, "X".repeat(16)), isTransfer("bad-argument"));
  await rejects(pushableKey(files.publicKeyring, "A".repeat(16)), isTransfer("no-key"));
  const alice = await key("alice");
  await importKeys(files, await parseKeyring(alice.toPublic().bytes()));
  const info = alice.info;
  const found = await pushableKey(files.publicKeyring, info.keyId.toLowerCase());
  assertEquals(found.fingerprint, info.fingerprint);
  assertEquals(
    (await pushableKey(files.publicKeyring, info.components[1].fingerprint)).fingerprint,
    info.fingerprint,
  );
  await rejects(pushableKey(files.publicKeyring, "B".repeat(40)), isTransfer("wrong-key"));
});

Deno.test("KeySet.find: by the hex key ID of a signing (sub)key, any case; the wildcard ID matches", async () => {
  const alice = (await key("alice")).toPublic();
  const bob = (await key("bob")).toPublic();
  const source = { kind: "file" as const, location: "test" };
  const keys = new KeySet([{ key: alice, source }, { key: bob, source }]);
  assertEquals((await keys.find([bob.keyId.toLowerCase()]))?.key, bob);
  assertEquals(await keys.find(["0123456789ABCDEF", "not hex"]), undefined);
  // The encryption subkey (the second component) may not sign: not a match.
  assertEquals(await keys.find([alice.info.components[1].keyId]), undefined);
  assertEquals((await keys.find(["0000000000000000"]))?.key, alice);
});
