/**
 * `core/keys` (and the locked, atomic writes of `core/files`) as a library: reading keyrings (binary and armored, one transferable key at a
 * time, unusable keys kept as raw blocks), the all-or-nothing import, removal that leaves
 * every other block byte-identical (secret keys included), the key folder's modes, the
 * folder lock, and atomic file replacement. Keys are made by openpgp.js (fast) and, where
 * gpg is at hand, by gpg.
 */

import {
  deepStrictEqual as assertEquals,
  match,
  notDeepStrictEqual,
  ok,
  rejects,
} from "node:assert/strict";
import { join } from "node:path";
import * as openpgp from "openpgp";
import {
  findKey,
  importKeys,
  KeyManagementError,
  type Keyring,
  KeyringError,
  type KeyringFiles,
  parseKeyring,
  readKeyringFile,
  removeKey,
} from "../../core/keys/mod.ts";
import { addKeyPair, generateKeyPair } from "../../core/keys/manage.ts";
import { KEYRING_MODE, keyringBytes, prepareKeysDir } from "../../core/keys/store.ts";
import { FileWriteError, withDirLock, writeFileAtomic } from "../../core/files/atomic.ts";
import { splitTransferableKeys } from "../../core/keys/packets.ts";
import { openpgpKey, PgpKey, wrapKey } from "../../core/keys/pgp_key.ts";
import { GpgHome, type GpgKey } from "../helpers/gpg.ts";
import { peerTest } from "../helpers/peers.ts";
import { tempDir } from "../helpers/env.ts";

// ------------------------------------------------------------------------------------------
// Keys and crafted packets

/** openpgp.js keys, made once per name and reused. */
const made = new Map<string, Promise<openpgp.PrivateKey>>();

function key(name: string, passphrase?: string): Promise<openpgp.PrivateKey> {
  let found = made.get(`${name}\0${passphrase}`);
  if (found === undefined) {
    found = openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
      passphrase,
      format: "object",
    }).then(({ privateKey }) => privateKey);
    made.set(`${name}\0${passphrase}`, found);
  }
  return found;
}

const fpr = (k: openpgp.Key | PgpKey) =>
  k instanceof PgpKey ? k.fingerprint : k.getFingerprint().toUpperCase();
/** The openpgp.js key inside a key read from a keyring. */
const pgp = (k: PgpKey) => openpgpKey(k) as openpgp.PrivateKey;
const pub = (k: openpgp.PrivateKey) => k.toPublic().write();
const sec = (k: openpgp.PrivateKey) => k.write();

const textBytes = (s: string) => new TextEncoder().encode(s);

/** A new-format packet (RFC 4880 §4.2.2), one- or two-octet length. */
function packet(tag: number, body: Uint8Array): Uint8Array {
  const length = body.length < 192
    ? [body.length]
    : [((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff];
  return Uint8Array.from([0xc0 | tag, ...length, ...body]);
}

/** A v4 public key packet with the unknown algorithm id 99, and a user ID. */
function unknownAlgorithmKey(): Uint8Array {
  const body = Uint8Array.from([4, 0x60, 0x00, 0x00, 0x00, 99, 0x00, 0x10, 0xbe, 0xef]);
  return keyringBytes([packet(6, body), packet(13, textBytes("Algorithm 99 <a99@example.org>"))]);
}

/** A v3 RSA public key packet (old-format framing, as PGP 2 wrote it), and a user ID. */
function v3Key(): Uint8Array {
  const n = new Uint8Array(128).fill(0xa5);
  n[0] = 0xc3;
  const body = Uint8Array.from([3, 0x30, 0, 0, 0, 0, 0, 1, 0x04, 0x00, ...n, 0x00, 0x11, 1, 0, 1]);
  const uid = textBytes("Version 3 <v3@example.org>");
  return Uint8Array.from([
    0x99, // old format, tag 6, two-octet length
    body.length >> 8,
    body.length & 0xff,
    ...body,
    0xb4, // old format, tag 13, one-octet length
    uid.length,
    ...uid,
  ]);
}

/** A temporary folder, removed after `fn`. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  await using temp = await tempDir("siftrust-keyring-");
  const dir = temp.dir;
  await fn(dir);
}

/** The keyring files of a user key folder inside `dir`. */
function userFiles(dir: string): KeyringFiles {
  const keys = join(dir, "keys");
  return {
    dir: keys,
    publicKeyring: join(keys, "pgp-public"),
    secretKeyring: join(keys, "pgp-secret"),
    mode: KEYRING_MODE,
  };
}

async function keysDir(dir: string): Promise<KeyringFiles> {
  const files = userFiles(dir);
  await prepareKeysDir(files.dir, [files.publicKeyring, files.secretKeyring!]);
  return files;
}

const fingerprints = (ring: Keyring) => ring.keys.map(({ key }) => fpr(key));
const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

/** The input `importKeys` takes, from key bytes. */
const input = async (...parts: Uint8Array[]) => await parseKeyring(keyringBytes(parts));

// ------------------------------------------------------------------------------------------
// Reading keyrings

Deno.test("parseKeyring: binary and armored keyrings, one entry per transferable key, in order", async () => {
  const [a, b, c] = await Promise.all([key("Alpha"), key("Bravo"), key("Charlie")]);
  const binary = keyringBytes([pub(a), sec(b), pub(c)]);
  const ring = await parseKeyring(binary);
  assertEquals(fingerprints(ring), [fpr(a), fpr(b), fpr(c)]);
  assertEquals(ring.keys.map(({ key }) => key.secret), [false, true, false]);
  assertEquals(ring.skipped, []);
  assertEquals(ring.blocks, [pub(a), sec(b), pub(c)], "raw blocks are the bytes read");
  assertEquals(keyringBytes(ring.blocks), binary, "the blocks rebuild the file exactly");
  ok(ring.keys.every(({ raw }, i) => raw === ring.blocks[i]), "keys share their block");

  // One armored block holding several keys, and several armored blocks in a row.
  const oneBlock = openpgp.armor(openpgp.enums.armor.publicKey, keyringBytes([pub(a), pub(c)]));
  assertEquals(fingerprints(await parseKeyring(textBytes(oneBlock))), [fpr(a), fpr(c)]);
  const twoBlocks = "\n  " + a.toPublic().armor() + "\n" + b.armor() + "\n";
  const armored = await parseKeyring(textBytes(twoBlocks));
  assertEquals(fingerprints(armored), [fpr(a), fpr(b)]);
  assertEquals(armored.blocks, [pub(a), sec(b)]);
});

Deno.test("parseKeyring: keys openpgp.js cannot use are skipped, kept whole, in place", async () => {
  const [a, b] = await Promise.all([key("Alpha"), key("Bravo")]);
  const odd = unknownAlgorithmKey();
  const old = v3Key();
  assertEquals(splitTransferableKeys(keyringBytes([pub(a), odd, old, pub(b)])).length, 4);
  const ring = await parseKeyring(keyringBytes([pub(a), odd, old, pub(b)]));
  assertEquals(fingerprints(ring), [fpr(a), fpr(b)]);
  assertEquals(ring.skipped.map(({ raw }) => raw), [odd, old]);
  ok(ring.skipped.every(({ reason }) => reason.length > 0), "each skip has a reason");
  assertEquals(ring.blocks, [pub(a), odd, old, pub(b)]);
});

Deno.test("reading a keyring: empty and missing files are empty keyrings; garbage is a KeyringError", async () => {
  assertEquals(await parseKeyring(new Uint8Array()), { keys: [], skipped: [], blocks: [] });
  await inTempDir(async (dir) => {
    const missing = join(dir, "missing");
    assertEquals((await readKeyringFile(missing)).blocks, []);
    await rejects(readKeyringFile(missing, { mustExist: true }), (error: Error) => {
      ok(error instanceof KeyringError);
      match(error.message, /cannot read keyring .*missing: no such file/);
      return true;
    });
    const text = join(dir, "text");
    await Deno.writeTextFile(text, "this is not a keyring\n");
    await rejects(readKeyringFile(text), (error: Error) => {
      ok(error instanceof KeyringError);
      match(error.message, /text: not an OpenPGP keyring/);
      return true;
    });
  });
  const whole = pub(await key("Alpha"));
  await rejects(parseKeyring(whole.subarray(0, whole.length - 7)), KeyringError);
  const armored = (await key("Alpha")).toPublic().armor();
  const badBase64 = armored.replace(/\n\n([A-Za-z0-9+/]{12})/, "\n\n!!!!@@@@%%%%");
  notDeepStrictEqual(badBase64, armored);
  await rejects(parseKeyring(textBytes(badBase64)), KeyringError);
});

// ------------------------------------------------------------------------------------------
// Changing keyrings

Deno.test("importKeys: public and secret keys, the public part of a secret key, its results", async () => {
  await inTempDir(async (dir) => {
    const files = await keysDir(dir);
    const [a, b, c] = await Promise.all([key("Alpha"), key("Bravo"), key("Charlie")]);
    assertEquals(await importKeys(files, await input(pub(a), sec(b))), [
      { fingerprint: fpr(a), keyring: "public", status: "added" },
      { fingerprint: fpr(b), keyring: "secret", status: "added" },
      { fingerprint: fpr(b), keyring: "public", status: "added" },
    ]);
    assertEquals(await Deno.readFile(files.publicKeyring), keyringBytes([pub(a), pub(b)]));
    assertEquals(await Deno.readFile(files.secretKeyring!), sec(b), "stored as read");
    // The secret key of a key whose public part is there: added, public part "present".
    assertEquals(await importKeys(files, await input(sec(a))), [
      { fingerprint: fpr(a), keyring: "secret", status: "added" },
      { fingerprint: fpr(a), keyring: "public", status: "present" },
    ]);
    assertEquals(await Deno.readFile(files.publicKeyring), keyringBytes([pub(a), pub(b)]));
    assertEquals(await Deno.readFile(files.secretKeyring!), keyringBytes([sec(b), sec(a)]));
    // findKey: by upper-case primary fingerprint.
    assertEquals((await findKey(files.secretKeyring!, fpr(a)))?.raw, sec(a));
    assertEquals(await findKey(files.secretKeyring!, fpr(c)), undefined);
    assertEquals(await findKey(join(dir, "nothing"), fpr(a)), undefined);
    for (const path of [files.publicKeyring, files.secretKeyring!]) {
      assertEquals(await mode(path), 0o600);
    }
  });
});

Deno.test("importKeys is all or nothing: a duplicate, an unusable key or no key writes nothing", async () => {
  await inTempDir(async (dir) => {
    const files = await keysDir(dir);
    const [a, b, c] = await Promise.all([key("Alpha"), key("Bravo"), key("Charlie")]);
    await importKeys(files, await input(pub(a), sec(b)));
    const before = {
      public: await Deno.readFile(files.publicKeyring),
      secret: await Deno.readFile(files.secretKeyring!),
    };
    const unchanged = async () => {
      assertEquals(await Deno.readFile(files.publicKeyring), before.public);
      assertEquals(await Deno.readFile(files.secretKeyring!), before.secret);
    };
    const refused = async (what: Keyring, message: RegExp) => {
      await rejects(importKeys(files, what), (error: Error) => {
        ok(error instanceof KeyManagementError, String(error));
        match(error.message, message);
        return true;
      });
      await unchanged();
    };
    const duplicate = new RegExp(`the key with fingerprint ${fpr(a)} already belongs`);
    await refused(await input(pub(c), pub(a)), duplicate);
    await refused(await input(pub(c), pub(c)), new RegExp(`${fpr(c)} already belongs`));
    await refused(await input(sec(c), sec(b)), new RegExp(`${fpr(b)} already belongs`));
    await refused(await input(pub(c), unknownAlgorithmKey()), /holds a key siftrust cannot use/);
    await refused(await input(), /holds no OpenPGP key/);
    // The global keyring holds public keys only.
    const global: KeyringFiles = {
      dir,
      publicKeyring: join(dir, "global-pgp-public"),
      mode: 0o644,
    };
    await rejects(importKeys(global, await input(pub(c), sec(c))), /public keys only/);
    assertEquals((await readKeyringFile(global.publicKeyring)).blocks, []);
  });
});

Deno.test("importKeys with reencrypt stores the re-encrypted secret key", async () => {
  await inTempDir(async (dir) => {
    const files = await keysDir(dir);
    const locked = await key("Locked", "old passphrase");
    await importKeys(files, await input(sec(locked)), {
      reencrypt: async (k) =>
        wrapKey(
          await openpgp.encryptKey({
            privateKey: await openpgp.decryptKey({
              privateKey: pgp(k),
              passphrase: "old passphrase",
            }),
            passphrase: "new passphrase",
          }),
        ),
    });
    const stored = pgp((await readKeyringFile(files.secretKeyring!)).keys[0].key);
    assertEquals(fpr(stored), fpr(locked));
    ok(!stored.isDecrypted());
    await rejects(openpgp.decryptKey({ privateKey: stored, passphrase: "old passphrase" }));
    await openpgp.decryptKey({ privateKey: stored, passphrase: "new passphrase" });
  });
});

Deno.test("removeKey: one block goes, every other block (secret keys too) stays byte-identical", async () => {
  await inTempDir(async (dir) => {
    const files = await keysDir(dir);
    const [a, b, c] = await Promise.all([key("Alpha"), key("Bravo"), key("Sealed", "pw")]);
    const odd = unknownAlgorithmKey();
    await Deno.writeFile(files.secretKeyring!, keyringBytes([sec(a), sec(b), sec(c)]));
    await Deno.writeFile(files.publicKeyring, keyringBytes([pub(a), odd, pub(b), pub(c)]));

    assertEquals(await removeKey(files, fpr(b), { public: false, secret: true }), {
      secret: true,
    });
    assertEquals(await Deno.readFile(files.secretKeyring!), keyringBytes([sec(a), sec(c)]));
    const left = await readKeyringFile(files.secretKeyring!);
    ok(left.keys.every(({ key }) => key.secret), "private material kept");
    await openpgp.decryptKey({
      privateKey: pgp(left.keys[1].key),
      passphrase: "pw",
    });
    assertEquals(
      await Deno.readFile(files.publicKeyring),
      keyringBytes([pub(a), odd, pub(b), pub(c)]),
      "the public keyring was not asked for",
    );

    assertEquals(await removeKey(files, fpr(a), { public: true, secret: true }), {
      public: true,
      secret: true,
    });
    assertEquals(await Deno.readFile(files.publicKeyring), keyringBytes([odd, pub(b), pub(c)]));
    assertEquals(await Deno.readFile(files.secretKeyring!), sec(c));

    // Nothing to remove: reported, nothing written.
    assertEquals(await removeKey(files, fpr(a), { public: true, secret: true }), {
      public: false,
      secret: false,
    });
    assertEquals(await Deno.readFile(files.publicKeyring), keyringBytes([odd, pub(b), pub(c)]));
    assertEquals(await mode(files.publicKeyring), 0o600);

    const global: KeyringFiles = { dir, publicKeyring: files.publicKeyring, mode: 0o644 };
    await rejects(
      removeKey(global, fpr(b), { public: false, secret: true }),
      KeyManagementError,
    );
  });
});

Deno.test("generateKeyPair and addKeyPair: a legacy Ed25519 key, encrypted when asked; RSA bounds", async () => {
  await inTempDir(async (dir) => {
    const files = await keysDir(dir);
    const generated = await generateKeyPair({
      name: "New Pair",
      email: "new@example.org",
      comment: "test",
      passphrase: "secret",
      type: "ed25519",
      bits: 4096,
    });
    assertEquals(pgp(generated).getAlgorithmInfo().algorithm, "eddsaLegacy");
    assertEquals(pgp(generated).keyPacket.version, 4);
    assertEquals(pgp(generated).getUserIDs(), ["New Pair (test) <new@example.org>"]);
    ok(generated.locked);
    await addKeyPair(files, generated);
    const secret = await readKeyringFile(files.secretKeyring!);
    const publicRing = await readKeyringFile(files.publicKeyring);
    assertEquals(fingerprints(secret), [fpr(generated)]);
    assertEquals(fingerprints(publicRing), [fpr(generated)]);
    ok(!publicRing.keys[0].key.secret);
    await pgp(secret.keys[0].key).getSigningKey();
    await rejects(addKeyPair(files, generated), /already belongs to the keyring/);
    for (const bits of [1024, 2047, 8193]) {
      await rejects(
        generateKeyPair({ ...baseSpec, bits }),
        (error: Error) =>
          error instanceof KeyManagementError && /from 2048 to 8192/.test(error.message),
      );
    }
  });
});

const baseSpec = {
  name: "x",
  email: "x@example.org",
  comment: "",
  passphrase: "",
  type: "rsa" as const,
  bits: 2048,
};

// ------------------------------------------------------------------------------------------
// The key folder, the lock, atomic writes

Deno.test("prepareKeysDir: creates the folder 0700 and the files 0600, fixes wrong modes, keeps content", async () => {
  await inTempDir(async (dir) => {
    const files = userFiles(dir);
    const paths = [files.publicKeyring, files.secretKeyring!];
    assertEquals(await prepareKeysDir(files.dir, paths), []);
    assertEquals(await mode(files.dir), 0o700);
    for (const path of paths) {
      assertEquals(await mode(path), 0o600);
      assertEquals((await Deno.stat(path)).size, 0);
    }
    await Deno.writeFile(files.publicKeyring, Uint8Array.of(1, 2, 3));
    await Deno.chmod(files.dir, 0o755);
    await Deno.chmod(files.publicKeyring, 0o644);
    assertEquals(await prepareKeysDir(files.dir, paths), [
      { path: files.dir, from: 0o755, to: 0o700 },
      { path: files.publicKeyring, from: 0o644, to: 0o600 },
    ]);
    assertEquals(await mode(files.dir), 0o700);
    assertEquals(await mode(files.publicKeyring), 0o600);
    assertEquals(await Deno.readFile(files.publicKeyring), Uint8Array.of(1, 2, 3));
    assertEquals(await prepareKeysDir(files.dir, paths), []);
  });
});

Deno.test("withDirLock (the keyring lock): calls take turns, and a failed update releases the lock", async () => {
  await inTempDir(async (dir) => {
    let holders = 0;
    let most = 0;
    const order: number[] = [];
    const update = (i: number) => async () => {
      most = Math.max(most, ++holders);
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push(i);
      holders--;
      return i;
    };
    assertEquals(
      await Promise.all([0, 1, 2, 3, 4].map((i) => withDirLock(dir, update(i)))),
      [0, 1, 2, 3, 4],
    );
    assertEquals(most, 1, "never two holders at once");
    assertEquals(order.length, 5);
    await rejects(withDirLock(dir, () => Promise.reject(new Error("boom"))), /boom/);
    assertEquals(await withDirLock(dir, () => Promise.resolve("free")), "free");
  });
});

peerTest(
  "the keyring lock is an flock on the folder that other processes respect",
  ["flock"],
  async () => {
    await inTempDir(async (dir) => {
      const tryLock = async () =>
        (await new Deno.Command("flock", { args: ["--nonblock", "--exclusive", dir, "true"] })
          .output()).code;
      await withDirLock(dir, async () => {
        assertEquals(await tryLock(), 1, "flock -n fails while siftrust holds the lock");
      });
      assertEquals(await tryLock(), 0, "and succeeds once it is released");
    });
  },
);

Deno.test("writeFileAtomic replaces the file whole, with its mode, and leaves no temporary file", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "pgp-public");
    await Deno.writeFile(path, textBytes("old content"), { mode: 0o644 });
    using reader = await Deno.open(path, { read: true });
    const big = new Uint8Array(3 << 20).map((_, i) => i & 0xff);
    await writeFileAtomic(path, big, 0o600);
    assertEquals(await Deno.readFile(path), big);
    assertEquals(await mode(path), 0o600);
    const old = new Uint8Array(64);
    const n = await reader.read(old);
    assertEquals(
      new TextDecoder().decode(old.subarray(0, n ?? 0)),
      "old content",
      "replaced by rename: an open reader still sees the old file",
    );
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["pgp-public"]);

    await writeFileAtomic(path, new Uint8Array(), 0o644);
    assertEquals((await Deno.stat(path)).size, 0);
    assertEquals(await mode(path), 0o644);

    // A folder that does not exist: a FileWriteError, nothing left behind.
    await rejects(
      writeFileAtomic(join(dir, "gone", "pgp-public"), big, 0o600),
      (error: Error) =>
        error instanceof FileWriteError && /cannot write .*gone/.test(error.message),
    );
    // A target that cannot be replaced (a folder): the temporary file is removed.
    await Deno.mkdir(join(dir, "taken"));
    await rejects(writeFileAtomic(join(dir, "taken"), big, 0o600), FileWriteError);
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["pgp-public", "taken"],
    );
  });
});

// ------------------------------------------------------------------------------------------
// Keys gpg makes

peerTest(
  "gpg's keyrings, binary and armored, public and secret, read with the right keys",
  ["gpg"],
  async () => {
    const home = await GpgHome.create();
    try {
      const keys: GpgKey[] = [];
      for (const kind of ["rsa2048", "ed25519", "subkey", "passphrase"] as const) {
        keys.push(await home.generate(kind));
      }
      const dir = join(home.dir, "library");
      await Deno.mkdir(dir);
      const binary = await Deno.readFile(await home.exportPublic(keys, join(dir, "pub.gpg")));
      const armored = await Deno.readFile(
        await home.exportPublic(keys, join(dir, "pub.asc"), { armor: true }),
      );
      const secret = await Deno.readFile(await home.exportSecret(keys, join(dir, "sec.gpg")));
      const want = keys.map((k) => k.fingerprint);
      for (const bytes of [binary, armored, secret]) {
        const ring = await parseKeyring(bytes);
        assertEquals(fingerprints(ring), want);
        assertEquals(ring.skipped, []);
      }
      assertEquals(keyringBytes((await parseKeyring(binary)).blocks), binary);
      const secrets = await parseKeyring(secret);
      ok(secrets.keys.every(({ key }) => key.secret));
      const locked = pgp(secrets.keys[3].key);
      ok(!locked.isDecrypted(), "the passphrase-protected key stays protected");
      const subkey = pgp(secrets.keys[2].key);
      assertEquals(
        (await subkey.getSigningKey()).getFingerprint().toUpperCase(),
        keys[2].signingSubkey,
      );
      assertEquals(
        secrets.keys.map(({ key }) => key.info.bits),
        [2048, 256, 256, 2048],
      );
    } finally {
      await home.cleanup();
    }
  },
);
