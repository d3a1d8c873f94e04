/**
 * `siftrust key` as a user meets it, with real gpg on the other side:
 *
 * - keys siftrust makes (`key newpair`, RSA and legacy Ed25519) are read by gpg from the
 *   binary keyring file and from `key export`, and gpg verifies the signatures they make;
 * - keys gpg makes (RSA 2048/4096, legacy Ed25519, a signing subkey, a passphrase, expired,
 *   revoked) import from armored and binary files, list with the right fingerprints, user
 *   IDs and sizes, sign and verify (or are refused for signing and fail verification);
 * - `key remove` takes one block out and leaves every other key byte-identical, secret keys
 *   included (Apptainer's `storePrivKeyring` bug must not be copied);
 * - `key export`, `--global`, keyrings holding a key openpgp.js cannot parse, and garbage
 *   input (refused, keyring byte-identical).
 *
 * Every run has its own HOME, APPTAINER_KEYSDIR and SIFTRUST_SYSCONFDIR. Each kind of gpg
 * key is made once per file.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { findKey, parseKeyring, readKeyringFile } from "../../core/keys/mod.ts";
import { keyringBytes } from "../../core/keys/store.ts";
import { openpgpKey } from "../../core/keys/pgp_key.ts";
import { signImage } from "../../core/integrity/mod.ts";
import { DataType, SifImage } from "../../core/sif/mod.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import {
  GpgHome,
  type GpgKey,
  KEY_PASSPHRASE,
  type KeyKind,
  type UserDirs,
  userDirs,
} from "../helpers/gpg.ts";
import { existsSync, peerTest } from "../helpers/peers.ts";
import { runCliAsNobody } from "../helpers/unprivileged.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { buildImage } from "../helpers/images.ts";

// ------------------------------------------------------------------------------------------
// Fixture: a gpg home that makes the keys, one that reads what siftrust makes, scratch space.

/** A gpg key and its exports. */
interface Material {
  key: GpgKey;
  pubBin: string;
  pubAsc: string;
  secBin: string;
  secAsc: string;
}

class Fixture {
  readonly maker: GpgHome;
  readonly reader: GpgHome;
  readonly root: string;
  #keys = new Map<KeyKind, Promise<Material>>();
  #users = new Map<KeyKind, Promise<UserDirs>>();
  #serial = 0;
  /** gpg runs one command at a time per home (its agent serializes anyway). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(maker: GpgHome, reader: GpgHome) {
    this.maker = maker;
    this.reader = reader;
    this.root = join(maker.dir, "work");
  }

  static async create(): Promise<Fixture> {
    const fixture = new Fixture(await GpgHome.create(), await GpgHome.create());
    await Deno.mkdir(fixture.root);
    return fixture;
  }

  /** A new scratch path. */
  path(name: string): string {
    return join(this.root, `${++this.#serial}-${name}`);
  }

  /** A new user with empty folders. */
  async user(): Promise<UserDirs> {
    return await userDirs(this.path("user"));
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The key of this kind and its exports, made on first use. */
  material(kind: KeyKind): Promise<Material> {
    let found = this.#keys.get(kind);
    if (found === undefined) {
      found = this.#serialized(async () => {
        const key = await this.maker.generate(kind);
        const base = this.path(kind);
        const material: Material = {
          key,
          pubBin: await this.maker.exportPublic([key], `${base}.pub.gpg`),
          pubAsc: await this.maker.exportPublic([key], `${base}.pub.asc`, { armor: true }),
          secBin: await this.maker.exportSecret([key], `${base}.sec.gpg`),
          secAsc: `${base}.sec.asc`,
        };
        await this.maker.run(
          [
            "--yes",
            "--armor",
            "--output",
            material.secAsc,
            "--export-secret-keys",
            key.fingerprint,
          ],
          { passphrase: key.passphrase },
        );
        return material;
      });
      this.#keys.set(kind, found);
    }
    return found;
  }

  /**
   * A user who imported this key with `siftrust key import`: the armored public key, then
   * the binary secret key. Checked on the way (every test that uses it relies on it).
   */
  importedUser(kind: KeyKind): Promise<UserDirs> {
    let found = this.#users.get(kind);
    if (found === undefined) {
      found = (async () => {
        const { key, pubAsc, secBin } = await this.material(kind);
        const user = await this.user();
        const publicImport = await cli(user, ["key", "import", pubAsc]);
        assertEquals(
          [publicImport.code, publicImport.stdout],
          [0, `Key with fingerprint ${key.fingerprint} successfully added to the public keyring\n`],
          publicImport.stderr,
        );
        const secretImport = await cli(user, ["key", "import", secBin]);
        assertEquals(
          [secretImport.code, secretImport.stdout],
          [
            0,
            `Key with fingerprint ${key.fingerprint} successfully added to the private keyring\n` +
            `Key with fingerprint ${key.fingerprint} is already in the public keyring\n`,
          ],
          secretImport.stderr,
        );
        return user;
      })();
      this.#users.set(kind, found);
    }
    return found;
  }
}

let fixturePromise: Promise<Fixture> | undefined;
const fixture = () => fixturePromise ??= Fixture.create();

// ------------------------------------------------------------------------------------------
// Helpers

/** Runs siftrust as this user (plus extra environment). */
function cli(user: UserDirs, args: string[], env: Record<string, string> = {}) {
  return runCli(args, { env: { ...user.env, ...env } });
}

/** The user with another key folder (APPTAINER_KEYSDIR). */
function withKeysDir(user: UserDirs, keysDir: string): UserDirs {
  return { ...user, keysDir, env: { ...user.env, APPTAINER_KEYSDIR: keysDir } };
}

function succeeded(result: CliResult): void {
  assertEquals(result.code, 0, `exit ${result.code}\n${result.stdout}\n${result.stderr}`);
}

/** Exit `code` and stderr one `ERROR:   ` line matching `message` (warnings aside). */
function failedWith(result: CliResult, code: number, message: RegExp): void {
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("ERROR:"));
  assertEquals(
    { code: result.code, errors: errors.length },
    { code, errors: 1 },
    `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
  );
  match(errors[0], /^ERROR: {3}\S/);
  match(errors[0], message);
  ok(!/internal error/.test(result.stderr), result.stderr);
  ok(!/^\s+at /m.test(result.stderr), `no stack trace:\n${result.stderr}`);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One `key list` entry. */
interface Listed {
  users: string[];
  created: string;
  fingerprint: string;
  bits: number;
}

/** The entries of `key list` output (after its header). */
function listed(stdout: string): Listed[] {
  const entries: Listed[] = [];
  for (const block of stdout.split("\n\n").slice(1)) {
    if (block.trim() === "") continue;
    const field = (name: string) =>
      block.split("\n").map((line) => line.match(new RegExp(`^(?:\\d+\\))?\\s+${name}:\\s+(.*)$`)))
        .filter((m) => m !== null).map((m) => m![1]);
    entries.push({
      users: field("User"),
      created: field("Creation time")[0],
      fingerprint: field("Fingerprint")[0],
      bits: Number(field("Length \\(in bits\\)")[0]),
    });
  }
  return entries;
}

async function list(user: UserDirs, args: string[] = []): Promise<Listed[]> {
  const result = await cli(user, ["key", "list", ...args]);
  succeeded(result);
  return listed(result.stdout);
}

async function signatureIds(image: string): Promise<number[]> {
  using sif = await SifImage.open(image);
  return sif.descriptors.filter((d) => d.dataType === DataType.Signature).map((d) => d.id);
}

/** `siftrust verify --json`: exit code, and the signers of the signatures. */
async function verifyJson(user: UserDirs, image: string, args: string[] = []) {
  const result = await cli(user, ["verify", "--json", ...args, image]);
  const report = JSON.parse(result.stdout);
  return {
    code: result.code,
    verified: report.verified as boolean,
    signers: (report.signatures as { signer: string | null }[]).map((s) => s.signer),
    result,
  };
}

/** gpg verifies the clear-signed message of the image's signature object `id`. */
async function gpgVerifiesSignature(
  gpg: GpgHome,
  user: UserDirs,
  image: string,
  id: number,
  scratch: string,
) {
  const dump = await cli(user, ["sif", "dump", String(id), image]);
  succeeded(dump);
  await Deno.writeFile(scratch, dump.stdoutBytes);
  return await gpg.verifyClearsigned(scratch);
}

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
const readOrEmpty = async (path: string) => await Deno.readFile(path).catch(() => new Uint8Array());
const pgpPublic = (user: UserDirs) => join(user.keysDir, "pgp-public");
const pgpSecret = (user: UserDirs) => join(user.keysDir, "pgp-secret");

/** The raw block of the key with this fingerprint in a keyring file. */
async function blockOf(path: string, fingerprint: string): Promise<Uint8Array | undefined> {
  const ring = await readKeyringFile(path);
  return ring.keys.find(({ key }) => key.fingerprint === fingerprint)?.raw;
}

const fingerprintsIn = async (path: string) =>
  (await readKeyringFile(path)).keys.map(({ key }) => key.fingerprint);

/** `Name () <email>`, as `key list` shows a gpg user ID without a comment. */
const listedUser = (userId: string) => userId.replace(/ </, " () <");

/** The fingerprint of `gpg --import`'s IMPORT_OK status (and its flags). */
function imported(status: string[]): { flags: number; fingerprint: string }[] {
  return status.filter((line) => line.startsWith("IMPORT_OK ")).map((line) => {
    const [, flags, fingerprint] = line.split(" ");
    return { flags: Number(flags), fingerprint };
  });
}

const BITS: Record<KeyKind, number> = {
  rsa2048: 2048,
  rsa4096: 4096,
  ed25519: 256,
  subkey: 256,
  passphrase: 2048,
  expired: 2048,
  revoked: 2048,
};

const ALL_KINDS: KeyKind[] = [
  "rsa2048",
  "rsa4096",
  "ed25519",
  "subkey",
  "passphrase",
  "expired",
  "revoked",
];

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

// ------------------------------------------------------------------------------------------
// 1. Keys siftrust makes

/**
 * `key newpair` without `-b` makes an RSA-4096 key. Generating one with openpgp.js took
 * 11–20 s on the 2-core test machine (over the 10 s budget for one case), so that run is
 * opt-in: SIFTRUST_SLOW_TESTS=1. The 2048-bit run below covers the same code path.
 */
Deno.test({
  name: "key newpair with the default size makes an RSA-4096 key (SIFTRUST_SLOW_TESTS=1)",
  ignore: Deno.env.get("SIFTRUST_SLOW_TESTS") !== "1",
  fn: async () => {
    const f = await fixture();
    const user = await f.user();
    const made = await cli(user, [
      "key",
      "newpair",
      "-N",
      "Default Size",
      "-E",
      "default@example.org",
      "-C",
      "",
      "-P",
      "",
    ]);
    succeeded(made);
    assertEquals((await list(user)).map((k) => k.bits), [4096]);
  },
});

peerTest(
  "key newpair (RSA 2048, legacy Ed25519): 0700/0600 files that gpg reads, imports and verifies",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const specs = [
      { type: "rsa", flags: ["-b", "2048"], bits: 2048, name: "Rsa Maker" },
      { type: "ed25519", flags: ["--key-type", "ed25519"], bits: 256, name: "Ed Maker" },
    ];
    await Promise.all(specs.map(async (spec) => {
      const base = await f.user();
      // A key folder that does not exist yet: newpair creates it, 0700, and its files 0600.
      const user = withKeysDir(base, join(base.home, ".apptainer", "keys"));
      const email = `${spec.type}@example.org`;
      const args = ["key", "newpair", "-N", spec.name, "-E", email, "-C", "made by siftrust"];
      // The RSA run names the folder with -d (over APPTAINER_KEYSDIR, which names another);
      // the Ed25519 run with APPTAINER_KEYSDIR.
      const made = spec.type === "rsa"
        ? await cli(base, [...args, "-P", "", ...spec.flags, "-d", user.keysDir])
        : await cli(user, [...args, "-P", "", ...spec.flags]);
      succeeded(made);
      assertEquals(await readOrEmpty(pgpPublic(base)), new Uint8Array(), "-d wins");
      assertEquals(made.stdout, "Generating Entity and OpenPGP Key Pair... done\n");
      const fingerprint = made.stderr.match(/Key with fingerprint ([0-9A-F]{40}) added to/)?.[1];
      ok(fingerprint !== undefined, made.stderr);
      assertEquals(await modeOf(user.keysDir), 0o700);
      assertEquals(await modeOf(pgpPublic(user)), 0o600);
      assertEquals(await modeOf(pgpSecret(user)), 0o600);

      const userText = `${spec.name} (made by siftrust) <${email}>`;
      for (const secret of [false, true]) {
        const keys = await list(user, secret ? ["--secret"] : []);
        assertEquals(keys.map(({ users, fingerprint, bits }) => ({ users, fingerprint, bits })), [
          { users: [userText], fingerprint, bits: spec.bits },
        ]);
        match(keys[0].created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+$/);
      }

      // gpg reads the binary keyring file itself (an absolute path, or gpg looks in its home).
      const direct = await f.reader.run([
        "--no-default-keyring",
        "--keyring",
        pgpPublic(user),
        "--with-colons",
        "--list-keys",
      ]);
      assertEquals(direct.stdout.match(/^fpr:+([0-9A-F]{40}):/m)?.[1], fingerprint);
      match(direct.stdout, new RegExp(`^uid:.*${escape(userText)}`, "m"));

      // gpg imports the armored export, as a public key with the same fingerprint.
      const asc = join(base.home, "public.asc");
      succeeded(await cli(user, ["key", "export", "--armor", fingerprint, asc]));
      ok((await Deno.readTextFile(asc)).startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
      const pubImport = await f.reader.run(["--import", asc]);
      assertEquals(imported(pubImport.status).map((i) => i.fingerprint), [fingerprint]);

      // gpg verifies the signature siftrust makes with it.
      const image = await buildImage(join(base.home, "image.sif"), {
        partition: new Uint8Array(4096).fill(7),
      });
      succeeded(await cli(user, ["sign", image]));
      const verified = await verifyJson(user, image);
      assertEquals([verified.code, verified.signers], [0, [fingerprint]], verified.result.stderr);
      const [id] = await signatureIds(image);
      const gpgVerdict = await gpgVerifiesSignature(
        f.reader,
        user,
        image,
        id,
        join(base.home, "sig.asc"),
      );
      ok(gpgVerdict.ok, gpgVerdict.result.stderr);
      assertEquals([gpgVerdict.signingKey, gpgVerdict.primaryKey], [fingerprint, fingerprint]);

      // The secret key exports (0600) and gpg imports it as a secret key.
      const secretFile = join(base.home, "secret.gpg");
      succeeded(await cli(user, ["key", "export", "--secret", fingerprint, secretFile]));
      assertEquals(await modeOf(secretFile), 0o600);
      const secImport = await f.reader.run(["--import", secretFile]);
      ok(
        imported(secImport.status).some((i) => i.fingerprint === fingerprint && (i.flags & 16)),
        secImport.stdout,
      );
      await f.reader.run(["--list-secret-keys", fingerprint]);
    }));
  },
);

Deno.test("key newpair -P (or SIFTRUST_NEW_PASSPHRASE) encrypts the secret key; signing then needs it", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-newpair-" });
  try {
    const [withFlag, withEnv, none] = await Promise.all(
      ["flag", "env", "none"].map((name) => userDirs(join(root, name))),
    );
    const args = (name: string) => [
      "key",
      "newpair",
      "--key-type",
      "ed25519",
      "-N",
      name,
      "-E",
      `${name.toLowerCase()}@example.org`,
      "-C",
      "",
    ];
    const made = await Promise.all([
      cli(withFlag, [...args("Flag"), "-P", "pass one"]),
      cli(withEnv, args("Env"), { SIFTRUST_NEW_PASSPHRASE: "pass two" }),
      cli(none, [...args("None"), "--password", ""]),
    ]);
    made.forEach(succeeded);
    const secretKey = async (user: UserDirs) =>
      openpgpKey((await readKeyringFile(pgpSecret(user))).keys[0].key) as openpgp.PrivateKey;
    for (const [user, passphrase] of [[withFlag, "pass one"], [withEnv, "pass two"]] as const) {
      const key = await secretKey(user);
      ok(!key.isDecrypted(), "the secret key is encrypted");
      await openpgp.decryptKey({ privateKey: key, passphrase });
    }
    ok((await secretKey(none)).isDecrypted(), "-P '' leaves it unencrypted");

    const image = await buildImage(join(root, "image.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });
    const before = await Deno.readFile(image);
    failedWith(
      await cli(withFlag, ["sign", image]),
      4,
      /no passphrase on stdin \(not a terminal\): pipe it, set SIFTRUST_PASSPHRASE/,
    );
    failedWith(
      await cli(withFlag, ["sign", image], { SIFTRUST_PASSPHRASE: "pass two" }),
      4,
      /wrong passphrase for key [0-9A-F]{40}/,
    );
    assertEquals(await Deno.readFile(image), before, "refusals leave the image untouched");
    succeeded(await cli(withFlag, ["sign", image], { SIFTRUST_PASSPHRASE: "pass one" }));
    const verified = await verifyJson(withFlag, image);
    assertEquals([verified.code, verified.verified], [0, true], verified.result.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("key newpair with nothing on stdin: empty answers, so no passphrase and exit 2, nothing created", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-newpair-" });
  try {
    const base = await userDirs(root);
    const cases: [string[], RegExp][] = [
      // As Apptainer: the end of input answers "" to every question, and "" to "continue
      // without a passphrase?" is no.
      [[], /empty passphrase: the key was not created/],
      [
        ["-N", "No Pass", "-E", "nopass@example.org", "-C", ""],
        /empty passphrase: the key was not created/,
      ],
      [["-N", "x", "-E", "x@example.org", "-C", "", "-P", "", "--key-type", "dsa"], /dsa/],
      [["-N", "x", "-E", "x@example.org", "-C", "", "-P", "", "-b", "1024"], /2048 to 8192/],
      [["-N", "x", "-E", "x@example.org", "-C", "", "-P", "", "-b", "big"], /big/],
    ];
    const dirs = cases.map((_, i) => join(root, `keys-${i}`));
    const results = await Promise.all(
      cases.map(([flags], i) => cli(withKeysDir(base, dirs[i]), ["key", "newpair", ...flags])),
    );
    for (const [i, [flags, message]] of cases.entries()) {
      const what = `newpair ${flags.join(" ")}`;
      failedWith(results[i], 2, message);
      // Nothing written: no key in any keyring…
      assertEquals(await readOrEmpty(join(dirs[i], "pgp-public")), new Uint8Array(), what);
      assertEquals(await readOrEmpty(join(dirs[i], "pgp-secret")), new Uint8Array(), what);
    }
    // …and, when no name, email or passphrase could be had, not even the key folder
    // (Apptainer collects the input before it touches the keyrings).
    for (const i of [0, 1]) {
      ok(
        !existsSync(dirs[i]),
        `newpair ${cases[i][0].join(" ") || "(no flags)"} created ${dirs[i]}`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/**
 * Apptainer takes any name and email (Go's openpgp refuses only `()<>` and NUL in them);
 * openpgp.js refuses user IDs it does not see as `Name <user@domain.tld>`. Either is fine
 * for siftrust, made or refused with a clear exit 2, but never an internal error (exit 70).
 */
Deno.test("key newpair with an email openpgp.js finds odd: made, or a clear exit 2, never an internal error", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-newpair-" });
  try {
    const base = await userDirs(root);
    const emails = ["odd@localhost", "a@b", "not-an-email"];
    const results = await Promise.all(
      emails.map((email, i) =>
        cli(withKeysDir(base, join(root, `keys-${i}`)), [
          "key",
          "newpair",
          "--key-type",
          "ed25519",
          "-N",
          "Odd Email",
          "-E",
          email,
          "-C",
          "",
          "-P",
          "",
        ])
      ),
    );
    for (const [i, result] of results.entries()) {
      ok(
        result.code === 0 || result.code === 2,
        `-E ${emails[i]}: exit ${result.code}:\n${result.stderr}`,
      );
      if (result.code === 2) failedWith(result, 2, /mail|user ID/i);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ------------------------------------------------------------------------------------------
// 2. Keys gpg makes

peerTest(
  "gpg's keys import from armored and binary files; key list shows fingerprints, user IDs, sizes",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const all = await Promise.all(ALL_KINDS.map((kind) => f.material(kind)));
    // One user per kind: the armored public key, then the binary secret key (importedUser
    // checks the messages, including "already in the public keyring").
    await eachLimited(ALL_KINDS, 3, async (kind) => {
      const user = await f.importedUser(kind);
      const { key, secBin } = await f.material(kind);
      assertEquals(await fingerprintsIn(pgpPublic(user)), [key.fingerprint], kind);
      // The secret key is stored as gpg wrote it (a protected key stays protected).
      assertEquals(
        await Deno.readFile(pgpSecret(user)),
        (await parseKeyring(await Deno.readFile(secBin))).blocks[0],
        kind,
      );
    });

    // One user for all: one binary file of the public keys, one armored block of the secret
    // keys (as `gpg --armor --export-secret-keys A B C…` writes it).
    const user = await f.user();
    const publicFile = await f.maker.exportPublic(all.map((m) => m.key), f.path("all.pub.gpg"));
    const publicImport = await cli(user, ["key", "import", publicFile]);
    succeeded(publicImport);
    assertEquals(
      publicImport.stdout,
      all.map((m) =>
        `Key with fingerprint ${m.key.fingerprint} successfully added to the public keyring\n`
      ).join(""),
    );
    const secretFile = f.path("all.sec.asc");
    await f.maker.run(
      [
        "--yes",
        "--armor",
        "--output",
        secretFile,
        "--export-secret-keys",
        ...all.map((m) => m.key.fingerprint),
      ],
      { passphrase: KEY_PASSPHRASE },
    );
    const secretImport = await cli(user, ["key", "import", secretFile]);
    succeeded(secretImport);
    assertEquals(
      secretImport.stdout,
      all.map((m) =>
        `Key with fingerprint ${m.key.fingerprint} successfully added to the private keyring\n` +
        `Key with fingerprint ${m.key.fingerprint} is already in the public keyring\n`
      ).join(""),
    );
    const want = all.map(({ key }) => ({
      users: [listedUser(key.userId)],
      fingerprint: key.fingerprint,
      bits: BITS[key.kind],
    }));
    const kindOf = new Map(all.map((m) => [m.key.fingerprint, m.key.kind]));
    for (const args of [[], ["--secret"]]) {
      const entries = await list(user, args);
      assertEquals(
        entries.map(({ users, fingerprint, bits }) => ({ users, fingerprint, bits })),
        want,
      );
      for (const { created, fingerprint } of entries) {
        // The expired key shows its real creation time, 2020-01-01 (gpg's faked time).
        if (kindOf.get(fingerprint) === "expired") {
          assertEquals(created, "2020-01-01 00:00:00 +0000 UTC");
        } else match(created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
      }
    }
    const protectedKey = await findKey(
      pgpSecret(user),
      all.find((m) => m.key.kind === "passphrase")!.key.fingerprint,
    );
    ok(protectedKey !== undefined && protectedKey.key.secret);
    ok(protectedKey.key.locked, "the passphrase key stays protected");
  },
);

peerTest("re-importing a key is refused (exit 2) and leaves the keyrings byte-identical", [
  "gpg",
], async () => {
  const f = await fixture();
  const { key, pubAsc, pubBin, secBin, secAsc } = await f.material("rsa2048");
  const user = await f.importedUser("rsa2048");
  const before = [await Deno.readFile(pgpPublic(user)), await Deno.readFile(pgpSecret(user))];
  for (const file of [pubAsc, pubBin, secBin, secAsc]) {
    failedWith(
      await cli(user, ["key", "import", file]),
      2,
      new RegExp(
        `^ERROR: {3}key import command failed: the key with fingerprint ${key.fingerprint} already belongs to the keyring$`,
      ),
    );
    assertEquals(
      [await Deno.readFile(pgpPublic(user)), await Deno.readFile(pgpSecret(user))],
      before,
      file,
    );
  }
  // A file holding a new key and a duplicate: all or nothing.
  const other = await f.material("ed25519");
  const both = f.path("new-and-duplicate.gpg");
  await Deno.writeFile(
    both,
    keyringBytes([await Deno.readFile(other.pubBin), await Deno.readFile(pubBin)]),
  );
  failedWith(await cli(user, ["key", "import", both]), 2, /already belongs to the keyring/);
  assertEquals(await Deno.readFile(pgpPublic(user)), before[0]);
});

peerTest("gpg's usable keys sign and verify; the subkey's signature names its primary key", [
  "gpg",
], async () => {
  const f = await fixture();
  const kinds: KeyKind[] = ["rsa2048", "rsa4096", "ed25519", "subkey", "passphrase"];
  await eachLimited(kinds, 2, async (kind) => {
    const { key } = await f.material(kind);
    const user = await f.importedUser(kind);
    const image = await buildImage(f.path(`${kind}.sif`), {
      partition: new Uint8Array(4096).fill(7),
    });
    if (kind === "passphrase") {
      failedWith(await cli(user, ["sign", image]), 4, /no passphrase on stdin/);
      failedWith(
        await cli(user, ["sign", image], { SIFTRUST_PASSPHRASE: "not it" }),
        4,
        /wrong passphrase/,
      );
    }
    const sign = await cli(user, ["sign", image], { SIFTRUST_PASSPHRASE: KEY_PASSPHRASE });
    succeeded(sign);
    const verified = await verifyJson(user, image);
    assertEquals(
      [verified.code, verified.verified, verified.signers],
      [0, true, [key.fingerprint]],
      `${kind}: ${verified.result.stderr}`,
    );
    const [id] = await signatureIds(image);
    const gpgVerdict = await gpgVerifiesSignature(f.maker, user, image, id, f.path("sig.asc"));
    ok(gpgVerdict.ok, `${kind}: ${gpgVerdict.result.stderr}`);
    assertEquals(
      [gpgVerdict.signingKey, gpgVerdict.primaryKey],
      [key.signingSubkey ?? key.fingerprint, key.fingerprint],
      kind,
    );
  });
});

peerTest(
  "expired and revoked keys: sign refuses them (exit 4); images they signed fail verification",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    for (const kind of ["expired", "revoked"] as const) {
      const { key } = await f.material(kind);
      const user = await f.importedUser(kind);
      const image = await buildImage(f.path(`${kind}.sif`), {
        partition: new Uint8Array(4096).fill(7),
      });
      const before = await Deno.readFile(image);
      failedWith(
        await cli(user, ["sign", image]),
        4,
        new RegExp(
          `key ${key.fingerprint} cannot sign: .*${kind === "expired" ? "expired" : "revoked"}`,
        ),
      );
      assertEquals(await Deno.readFile(image), before, `${kind}: image untouched`);
    }

    // The expired key signs (with the library) at a time it was valid…
    const expired = await f.material("expired");
    const expiredKey = openpgpKey(
      (await parseKeyring(await Deno.readFile(expired.secBin))).keys[0].key,
    ) as openpgp.PrivateKey;
    const oldImage = await buildImage(f.path("signed-when-valid.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });
    {
      using sif = await SifImage.open(oldImage, { write: true });
      await signImage(sif, { kind: "pgp", key: wrapKey(expiredKey) }, {
        date: new Date("2020-06-01T00:00:00Z"),
      });
    }
    const expiredUser = await f.importedUser("expired");
    const expiredVerdict = await verifyJson(expiredUser, oldImage);
    assertEquals([expiredVerdict.code, expiredVerdict.verified], [1, false]);
    match(expiredVerdict.result.stderr, /expired/);

    // …and the revoked key signs (through siftrust) with its export from before revocation.
    const revoked = await f.material("revoked");
    const early = await f.user();
    const earlyImport = await cli(early, [
      "key",
      "import",
      revoked.key.beforeRevocation!.secretKey,
    ]);
    succeeded(earlyImport);
    const revokedImage = await buildImage(f.path("signed-before-revocation.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });
    succeeded(await cli(early, ["sign", revokedImage]));
    const beforeRevocation = await verifyJson(early, revokedImage);
    assertEquals(beforeRevocation.code, 0, "valid against the key as it was");
    const revokedVerdict = await verifyJson(await f.importedUser("revoked"), revokedImage);
    assertEquals([revokedVerdict.code, revokedVerdict.verified], [1, false]);
    match(revokedVerdict.result.stderr, /revoked/);
    // A keyring given with --keyring holding the revoked key: the same.
    const viaFile = await verifyJson(await f.user(), revokedImage, ["--keyring", revoked.pubAsc]);
    assertEquals(viaFile.code, 1, viaFile.result.stderr);
  },
);

peerTest(
  "key import --new-password re-encrypts secret keys (old from SIFTRUST_PASSPHRASE, new from SIFTRUST_NEW_PASSPHRASE)",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const locked = await f.material("passphrase");
    const image = await buildImage(f.path("new-password.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });

    // Wrong old passphrase: exit 4, nothing written. No passphrase and no terminal: exit 2.
    const refused = await f.user();
    failedWith(
      await cli(refused, ["key", "import", "--new-password", locked.secBin], {
        SIFTRUST_PASSPHRASE: "wrong",
        SIFTRUST_NEW_PASSPHRASE: "brand new",
      }),
      4,
      /wrong passphrase/,
    );
    failedWith(
      await cli(refused, ["key", "import", "--new-password", locked.secBin]),
      4,
      /no passphrase on stdin/,
    );
    assertEquals(await readOrEmpty(pgpPublic(refused)), new Uint8Array());
    assertEquals(await readOrEmpty(pgpSecret(refused)), new Uint8Array());

    const user = await f.user();
    const result = await cli(user, ["key", "import", "--new-password", locked.secBin], {
      SIFTRUST_PASSPHRASE: KEY_PASSPHRASE,
      SIFTRUST_NEW_PASSPHRASE: "brand new",
    });
    succeeded(result);
    assertEquals(await fingerprintsIn(pgpSecret(user)), [locked.key.fingerprint]);
    failedWith(
      await cli(user, ["sign", image], { SIFTRUST_PASSPHRASE: KEY_PASSPHRASE }),
      4,
      /wrong passphrase/,
    );
    succeeded(await cli(user, ["sign", image], { SIFTRUST_PASSPHRASE: "brand new" }));
    assertEquals((await verifyJson(user, image)).signers, [locked.key.fingerprint]);

    // An unprotected key gets a passphrase.
    const plain = await f.material("ed25519");
    const other = await f.user();
    succeeded(
      await cli(other, ["key", "import", "--new-password", plain.secBin], {
        SIFTRUST_NEW_PASSPHRASE: "now protected",
      }),
    );
    const stored = openpgpKey(
      (await readKeyringFile(pgpSecret(other))).keys[0].key,
    ) as openpgp.PrivateKey;
    ok(!stored.isDecrypted());
    await openpgp.decryptKey({ privateKey: stored, passphrase: "now protected" });
  },
);

// ------------------------------------------------------------------------------------------
// 3. key remove

peerTest(
  "key remove: public by default, --secret, --both; other keys, secret ones included, stay byte-identical",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const [rsa, ed, locked] = await Promise.all(
      (["rsa2048", "ed25519", "passphrase"] as const).map((kind) => f.material(kind)),
    );
    const user = await f.user();
    const three = await f.maker.exportSecret(
      [rsa.key, ed.key, locked.key],
      f.path("three-secret.gpg"),
    );
    succeeded(await cli(user, ["key", "import", three]));
    assertEquals(await fingerprintsIn(pgpSecret(user)), [
      rsa.key.fingerprint,
      ed.key.fingerprint,
      locked.key.fingerprint,
    ]);
    const secretBlocks = async () =>
      Object.fromEntries(
        await Promise.all(
          [rsa, ed, locked].map(async (
            m,
          ) => [m.key.fingerprint, await blockOf(pgpSecret(user), m.key.fingerprint)]),
        ),
      );
    const original = await secretBlocks();
    const files =
      async () => [await Deno.readFile(pgpPublic(user)), await Deno.readFile(pgpSecret(user))];

    // Default: the public key only.
    const removed = await cli(user, ["key", "remove", ed.key.fingerprint]);
    succeeded(removed);
    assertEquals(
      removed.stdout,
      `Public key with fingerprint ${ed.key.fingerprint} removed from ${pgpPublic(user)}\n`,
    );
    assertEquals(await fingerprintsIn(pgpPublic(user)), [
      rsa.key.fingerprint,
      locked.key.fingerprint,
    ]);
    assertEquals(await secretBlocks(), original, "the secret keyring is untouched");

    // Gone already: exit 2, nothing written.
    let before = await files();
    failedWith(
      await cli(user, ["key", "remove", "--public", ed.key.fingerprint]),
      2,
      /^ERROR: {3}Unable to remove public key: no key matching given fingerprint found$/,
    );
    assertEquals(await files(), before);

    // --secret, lower case: the middle secret key goes; the two others are byte-identical
    // (private material included: Apptainer writes them back public-only) and still sign.
    const secretRemoval = await cli(user, [
      "key",
      "remove",
      "--secret",
      ed.key.fingerprint.toLowerCase(),
    ]);
    succeeded(secretRemoval);
    assertEquals(
      secretRemoval.stdout,
      `Private key with fingerprint ${ed.key.fingerprint} removed from ${pgpSecret(user)}\n`,
    );
    const after = await secretBlocks();
    assertEquals(after[ed.key.fingerprint], undefined);
    assertEquals(after[rsa.key.fingerprint], original[rsa.key.fingerprint]);
    assertEquals(after[locked.key.fingerprint], original[locked.key.fingerprint]);
    assertEquals(
      await Deno.readFile(pgpSecret(user)),
      keyringBytes([original[rsa.key.fingerprint]!, original[locked.key.fingerprint]!]),
    );
    assertEquals(
      (await list(user, ["--secret"])).map((k) => k.fingerprint),
      [rsa.key.fingerprint, locked.key.fingerprint],
    );
    for (const [index, material] of [[0, rsa], [1, locked]] as const) {
      const image = await buildImage(f.path(`after-remove-${index}.sif`), {
        partition: new Uint8Array(4096).fill(7),
      });
      succeeded(
        await cli(user, ["sign", "--keyidx", String(index), image], {
          SIFTRUST_PASSPHRASE: KEY_PASSPHRASE,
        }),
      );
      assertEquals((await verifyJson(user, image)).signers, [material.key.fingerprint]);
    }
    before = await files();
    failedWith(
      await cli(user, ["key", "remove", "--secret", ed.key.fingerprint]),
      2,
      /^ERROR: {3}Unable to remove private key: no key matching given fingerprint found$/,
    );
    assertEquals(await files(), before);

    // --both, with 0x: both keyrings; the remaining key is byte-identical.
    const both = await cli(user, ["key", "remove", "--both", `0x${rsa.key.fingerprint}`]);
    succeeded(both);
    match(both.stdout, new RegExp(`^Public key with fingerprint ${rsa.key.fingerprint} removed`));
    match(both.stdout, new RegExp(`\nPrivate key with fingerprint ${rsa.key.fingerprint} removed`));
    assertEquals(await fingerprintsIn(pgpPublic(user)), [locked.key.fingerprint]);
    assertEquals(await Deno.readFile(pgpSecret(user)), original[locked.key.fingerprint]);

    // Unknown fingerprints, and things that are not fingerprints: exit 2, nothing written.
    before = await files();
    const unknown = "0123456789ABCDEF0123456789ABCDEF01234567";
    const notFound = "no key matching given fingerprint found";
    failedWith(
      await cli(user, ["key", "remove", unknown]),
      2,
      new RegExp(`^ERROR: {3}Unable to remove public key: ${notFound}$`),
    );
    failedWith(
      await cli(user, ["key", "remove", "--both", unknown]),
      2,
      new RegExp(`Unable to remove neither public key: ${notFound}, nor private key: ${notFound}`),
    );
    failedWith(
      await cli(user, ["key", "remove", locked.key.keyId]),
      2,
      /invalid fingerprint/,
    );
    assertEquals(await files(), before);

    // --public --secret together means both.
    succeeded(await cli(user, ["key", "remove", "--public", "--secret", locked.key.fingerprint]));
    assertEquals((await readKeyringFile(pgpPublic(user))).blocks, []);
    assertEquals((await readKeyringFile(pgpSecret(user))).blocks, []);
    assertEquals(await modeOf(pgpPublic(user)), 0o600);
    assertEquals(await modeOf(pgpSecret(user)), 0o600);
  },
);

// ------------------------------------------------------------------------------------------
// 4. key export

peerTest(
  "key export: --secret writes a 0600 file gpg imports as a secret key; --armor; unknown keys",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const importer = await GpgHome.create();
    try {
      for (const kind of ["passphrase", "subkey"] as const) {
        const { key } = await f.material(kind);
        const user = await f.importedUser(kind);
        const binary = f.path(`${kind}-secret.gpg`);
        const exported = await cli(user, ["key", "export", "--secret", key.fingerprint, binary]);
        succeeded(exported);
        assertEquals(
          exported.stdout,
          `Private key with fingerprint ${key.fingerprint} correctly exported to file: ${binary}\n`,
        );
        assertEquals(await modeOf(binary), 0o600);
        assertEquals(await Deno.readFile(binary), await blockOf(pgpSecret(user), key.fingerprint));
        const secretImport = await importer.run(["--import", binary]);
        ok(
          imported(secretImport.status).some((i) =>
            i.fingerprint === key.fingerprint && (i.flags & 16)
          ),
          secretImport.stdout,
        );
        const secrets = await importer.run([
          "--with-colons",
          "--list-secret-keys",
          key.fingerprint,
        ]);
        match(secrets.stdout, /^sec:/m);

        const armored = f.path(`${kind}-secret.asc`);
        succeeded(
          await cli(user, ["key", "export", "--secret", "--armor", key.fingerprint, armored]),
        );
        assertEquals(await modeOf(armored), 0o600);
        const text = await Deno.readTextFile(armored);
        ok(text.startsWith("-----BEGIN PGP PRIVATE KEY BLOCK-----"), text.slice(0, 80));
        // It round-trips into another user's keyrings.
        const other = await f.user();
        succeeded(await cli(other, ["key", "import", armored]));
        assertEquals(await fingerprintsIn(pgpSecret(other)), [key.fingerprint]);

        const publicAsc = f.path(`${kind}-public.asc`);
        const publicExport = await cli(user, [
          "key",
          "export",
          "--armor",
          key.fingerprint,
          publicAsc,
        ]);
        succeeded(publicExport);
        match(publicExport.stdout, /^Public key with fingerprint [0-9A-F]{40} correctly exported/);
        ok((await Deno.readTextFile(publicAsc)).startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        const publicBin = f.path(`${kind}-public.gpg`);
        succeeded(await cli(user, ["key", "export", key.fingerprint.toLowerCase(), publicBin]));
        assertEquals(
          await Deno.readFile(publicBin),
          await blockOf(pgpPublic(user), key.fingerprint),
        );
      }

      const user = await f.importedUser("rsa2048");
      const unknown = "0123456789ABCDEF0123456789ABCDEF01234567";
      const out = f.path("never-written");
      failedWith(
        await cli(user, ["key", "export", unknown, out]),
        2,
        new RegExp(`no key with fingerprint ${unknown}`),
      );
      failedWith(
        await cli(user, ["key", "export", "--secret", unknown, out]),
        2,
        new RegExp(`no key with fingerprint ${unknown}`),
      );
      // A key that is only in the public keyring has no secret to export.
      const publicOnly = await f.user();
      succeeded(await cli(publicOnly, ["key", "import", (await f.material("ed25519")).pubBin]));
      failedWith(
        await cli(publicOnly, [
          "key",
          "export",
          "--secret",
          (await f.material("ed25519")).key.fingerprint,
          out,
        ]),
        2,
        /no key with fingerprint/,
      );
      failedWith(
        await cli(user, ["key", "export", "--global", "--secret", unknown, out]),
        2,
        /global keyring holds no secret keys/,
      );
      ok(!existsSync(out), "no file written");
    } finally {
      await importer.cleanup();
    }
  },
);

/**
 * Armor without a CRC-24 line (openpgp.js 6 writes none by default) trips gpg 2.2 when the
 * data is a multiple of 3 bytes long (no `=` padding): it reads the `-----END` line as
 * base64 and fails. Apptainer's Go armor writer always adds the checksum. So: keys of each
 * length modulo 3, public and secret, each exported with --armor and imported by gpg.
 */
peerTest("key export --armor writes blocks gpg imports, whatever the key's length modulo 3", [
  "gpg",
], async () => {
  const f = await fixture();
  const byResidue = new Map<number, openpgp.PrivateKey>();
  for (let n = 1; byResidue.size < 3 && n < 40; n++) {
    const { privateKey } = await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name: "N".repeat(n), email: "armor@example.org" }],
      format: "object",
    });
    const residue = privateKey.toPublic().write().length % 3;
    if (!byResidue.has(residue)) byResidue.set(residue, privateKey);
  }
  assertEquals([...byResidue.keys()].sort(), [0, 1, 2]);
  const keys = [...byResidue.values()];
  const user = await f.user();
  await Deno.writeFile(pgpPublic(user), keyringBytes(keys.map((k) => k.toPublic().write())));
  await Deno.writeFile(pgpSecret(user), keyringBytes(keys.map((k) => k.write())));
  const importer = await GpgHome.create();
  try {
    const failures: string[] = [];
    for (const key of keys) {
      const fingerprint = key.getFingerprint().toUpperCase();
      for (const secret of [false, true]) {
        const out = f.path(`armor-${secret ? "secret" : "public"}.asc`);
        const flags = secret ? ["--secret", "--armor"] : ["--armor"];
        succeeded(await cli(user, ["key", "export", ...flags, fingerprint, out]));
        const result = await importer.run(["--import", out], { check: false });
        if (imported(result.status).every((i) => i.fingerprint !== fingerprint)) {
          const length = (secret ? key.write() : key.toPublic().write()).length;
          failures.push(
            `${secret ? "secret" : "public"} key of ${length} bytes (${length % 3} mod 3): ` +
              result.stderr.split("\n").filter((l) => /radix64|invalid|failed/.test(l))
                .slice(-2).join(" / "),
          );
        }
      }
    }
    assertEquals(failures, [], "gpg could not import these armored exports");
  } finally {
    await importer.cleanup();
  }
});

// ------------------------------------------------------------------------------------------
// 5. --global

const globalKeyring = (user: UserDirs) => join(user.sysconfDir, "apptainer", "global-pgp-public");

peerTest(
  "key list --global lists the global keyring, verify uses it; --global --secret is refused",
  [
    "gpg",
  ],
  async () => {
    const f = await fixture();
    const { key, pubBin } = await f.material("rsa2048");
    const user = await f.user();
    // Installed by hand, as a package or an administrator would.
    await Deno.writeFile(globalKeyring(user), await Deno.readFile(pubBin), { mode: 0o644 });
    const listing = await cli(user, ["key", "list", "--global"]);
    succeeded(listing);
    ok(listing.stdout.startsWith(`Public key listing (${globalKeyring(user)}):\n\n`));
    assertEquals(listed(listing.stdout).map((k) => [k.users, k.fingerprint, k.bits]), [
      [[listedUser(key.userId)], key.fingerprint, 2048],
    ]);
    assertEquals(
      await readOrEmpty(pgpPublic(user)),
      new Uint8Array(),
      "the user's keyring is empty",
    );

    // verify finds the signer in the global keyring.
    const signer = await f.importedUser("rsa2048");
    const image = await buildImage(f.path("global.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });
    succeeded(await cli(signer, ["sign", image]));
    const verified = await verifyJson(user, image);
    assertEquals([verified.code, verified.signers], [0, [key.fingerprint]], verified.result.stderr);

    const before = await Deno.readFile(globalKeyring(user));
    failedWith(
      await cli(user, ["key", "list", "--global", "--secret"]),
      2,
      /global keyring doesn't contain private keys/,
    );
    failedWith(
      await cli(user, ["key", "export", "--global", "--secret", key.fingerprint, f.path("no")]),
      2,
      /global keyring holds no secret keys/,
    );
    const exported = f.path("global-export.gpg");
    succeeded(await cli(user, ["key", "export", "--global", key.fingerprint, exported]));
    assertEquals(await Deno.readFile(exported), before);
    assertEquals(await Deno.readFile(globalKeyring(user)), before);
  },
);

peerTest("key import/remove --global: root only; public keys only; the file stays 0644", [
  "gpg",
], async () => {
  const f = await fixture();
  const { key, pubAsc, secBin } = await f.material("rsa2048");
  const user = await f.user();
  if (Deno.uid() !== 0) {
    for (const args of [["import", "--global", pubAsc], ["remove", "--global", key.fingerprint]]) {
      failedWith(
        await cli(user, ["key", ...args]),
        2,
        new RegExp(`"siftrust key ${args[0]}" with --global requires root privileges`),
      );
    }
    ok(!existsSync(globalKeyring(user)));
    return;
  }
  const result = await cli(user, ["key", "import", "--global", pubAsc]);
  succeeded(result);
  assertEquals(
    result.stdout,
    `Key with fingerprint ${key.fingerprint} successfully added to the public keyring\n`,
  );
  assertEquals(await modeOf(globalKeyring(user)), 0o644);
  assertEquals(await fingerprintsIn(globalKeyring(user)), [key.fingerprint]);
  assertEquals(
    await readOrEmpty(pgpPublic(user)),
    new Uint8Array(),
    "the user's keyring untouched",
  );
  const listing = await cli(user, ["key", "list", "--global"]);
  assertEquals(listed(listing.stdout).map((k) => k.fingerprint), [key.fingerprint]);

  const before = await Deno.readFile(globalKeyring(user));
  for (const file of [secBin, pubAsc]) {
    failedWith(
      await cli(user, ["key", "import", "--global", file]),
      2,
      file === secBin ? /secret key.*global keyring holds public keys only/ : /already belongs/,
    );
    assertEquals(await Deno.readFile(globalKeyring(user)), before);
  }

  const removed = await cli(user, ["key", "remove", "--global", key.fingerprint]);
  succeeded(removed);
  assertEquals((await readKeyringFile(globalKeyring(user))).blocks, []);
  assertEquals(await modeOf(globalKeyring(user)), 0o644);
  failedWith(
    await cli(user, ["key", "remove", "--global", "--secret", key.fingerprint]),
    2,
    /global keyring holds no secret keys/,
  );
});

/**
 * The refusal as a user who is not root. The tests run as root in CI, so the CLI runs as
 * `nobody` (setpriv), from the bundle (tests/helpers/unprivileged.ts).
 */
peerTest("--global import and remove as a user who is not root: exit 2, nothing written", [
  "gpg",
  "setpriv",
], async (t) => {
  if (Deno.uid() !== 0) {
    // Already not root: the test above checked the refusal with the usual runCli.
    await t.step({ name: "(not root: covered above)", ignore: true, fn: () => {} });
    return;
  }
  const f = await fixture();
  const { key, pubAsc } = await f.material("rsa2048");
  const dir = await Deno.makeTempDir({ prefix: "siftrust-nobody-" });
  try {
    await Deno.chmod(dir, 0o755);
    const keyFile = join(dir, "key.asc");
    await Deno.copyFile(pubAsc, keyFile);
    await Deno.chmod(keyFile, 0o644);
    const home = join(dir, "home");
    const etc = join(dir, "etc");
    await Deno.mkdir(join(etc, "apptainer"), { recursive: true, mode: 0o755 });
    const global = join(etc, "apptainer", "global-pgp-public");
    await Deno.writeFile(global, new Uint8Array(), { mode: 0o644 });
    const asNobody = (args: string[]) =>
      runCliAsNobody(args, {
        home,
        cwd: dir,
        env: { APPTAINER_KEYSDIR: join(home, "keys"), SIFTRUST_SYSCONFDIR: etc },
      });
    failedWith(
      await asNobody(["key", "import", "--global", keyFile]),
      2,
      /^ERROR: {3}"siftrust key import" with --global requires root privileges/,
    );
    failedWith(
      await asNobody(["key", "remove", "--global", key.fingerprint]),
      2,
      /^ERROR: {3}"siftrust key remove" with --global requires root privileges/,
    );
    assertEquals(await Deno.readFile(global), new Uint8Array());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------------------------------------
// 7. A keyring holding a key openpgp.js cannot parse

/** A new-format packet (RFC 4880 §4.2.2) with a one-octet length. */
function packet(tag: number, body: number[]): number[] {
  return [0xc0 | tag, body.length, ...body];
}

/** A v4 public key packet with the unknown algorithm id 99, then a user ID. */
const UNKNOWN_ALGORITHM_KEY = Uint8Array.from([
  ...packet(6, [4, 0x60, 0x00, 0x00, 0x00, 99, 0x00, 0x10, 0xbe, 0xef]),
  ...packet(13, [...new TextEncoder().encode("Algorithm 99 <a99@example.org>")]),
]);

/** A v3 RSA public key packet (old-format framing), then a user ID. */
const V3_KEY = (() => {
  const n = new Array(128).fill(0xa5);
  n[0] = 0xc3;
  const body = [3, 0x30, 0, 0, 0, 0, 0, 1, 0x04, 0x00, ...n, 0x00, 0x11, 1, 0, 1];
  const uid = [...new TextEncoder().encode("Version 3 <v3@example.org>")];
  return Uint8Array.from([
    0x99,
    body.length >> 8,
    body.length & 0xff,
    ...body,
    0xb4,
    uid.length,
    ...uid,
  ]);
})();

/** Where `needle` starts in `haystack`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function jsKey(name: string): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name.toLowerCase().replaceAll(" ", ".")}@example.org` }],
    format: "object",
  });
  return privateKey;
}

Deno.test("a keyring holding keys openpgp.js cannot parse: listed with a warning; import and remove keep them byte-identical", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-unusable-" });
  try {
    const user = await userDirs(root);
    const [good1, good2, good3] = await Promise.all(
      ["Good One", "Good Two", "Good Three"].map(jsKey),
    );
    const pub = (k: openpgp.PrivateKey) => k.toPublic().write();
    await Deno.writeFile(
      pgpPublic(user),
      keyringBytes([pub(good1), UNKNOWN_ALGORITHM_KEY, pub(good2), V3_KEY]),
      { mode: 0o600 },
    );
    await Deno.writeFile(pgpSecret(user), good2.write(), { mode: 0o600 });
    // Wrong modes on the way: fixed, with Apptainer's warnings.
    await Deno.chmod(pgpPublic(user), 0o644);
    await Deno.chmod(user.keysDir, 0o755);

    const listing = await cli(user, ["key", "list"]);
    succeeded(listing);
    match(
      listing.stderr,
      new RegExp(
        `WARNING: Directory mode \\(755\\) on ${
          escape(user.keysDir)
        } needs to be 700, fixing that\\.\\.\\.`,
      ),
    );
    match(
      listing.stderr,
      new RegExp(
        `WARNING: File mode \\(644\\) on ${
          escape(pgpPublic(user))
        } needs to be 600, fixing that\\.\\.\\.`,
      ),
    );
    assertEquals([await modeOf(user.keysDir), await modeOf(pgpPublic(user))], [0o700, 0o600]);
    const warnings = listing.stderr.split("\n").filter((line) =>
      line.startsWith(`WARNING: skipping a key in ${pgpPublic(user)} that siftrust cannot use: `)
    );
    assertEquals(warnings.length, 2, listing.stderr);
    assertEquals(
      listed(listing.stdout).map((k) => [k.users, k.fingerprint]),
      [
        [["Good One () <good.one@example.org>"], good1.getFingerprint().toUpperCase()],
        [["Good Two () <good.two@example.org>"], good2.getFingerprint().toUpperCase()],
      ],
    );
    match(listing.stdout, /^0\) {2}User: .*Good One/m);
    match(listing.stdout, /^1\) {2}User: .*Good Two/m);

    // Import one more key: appended; the unusable blocks are carried over byte for byte.
    const asc = join(root, "good3.asc");
    await Deno.writeTextFile(asc, good3.toPublic().armor());
    succeeded(await cli(user, ["key", "import", asc]));
    assertEquals(
      await Deno.readFile(pgpPublic(user)),
      keyringBytes([pub(good1), UNKNOWN_ALGORITHM_KEY, pub(good2), V3_KEY, pub(good3)]),
    );

    // Remove a good key: only its block goes.
    succeeded(await cli(user, ["key", "remove", good1.getFingerprint()]));
    const after = await Deno.readFile(pgpPublic(user));
    assertEquals(after, keyringBytes([UNKNOWN_ALGORITHM_KEY, pub(good2), V3_KEY, pub(good3)]));
    ok(indexOfBytes(after, UNKNOWN_ALGORITHM_KEY) >= 0 && indexOfBytes(after, V3_KEY) >= 0);

    // Signing and verifying still work around them (with the warning).
    const image = await buildImage(join(root, "image.sif"), {
      partition: new Uint8Array(4096).fill(7),
    });
    succeeded(await cli(user, ["sign", image]));
    const verified = await verifyJson(user, image);
    assertEquals(verified.signers, [good2.getFingerprint().toUpperCase()]);
    match(
      verified.result.stderr,
      /WARNING: skipping a key in .*pgp-public that siftrust cannot use/,
    );

    // A file holding such a key is not imported (nothing else from it either).
    const mixed = join(root, "mixed.gpg");
    const good4 = await jsKey("Good Four");
    await Deno.writeFile(mixed, keyringBytes([pub(good4), UNKNOWN_ALGORITHM_KEY]));
    failedWith(
      await cli(user, ["key", "import", mixed]),
      2,
      /key import command failed: the file holds a key siftrust cannot use/,
    );
    assertEquals(await Deno.readFile(pgpPublic(user)), after);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ------------------------------------------------------------------------------------------
// 6 (part). Garbage input

Deno.test("key import of garbage is refused with exit 2 and leaves the keyrings byte-identical", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-garbage-" });
  try {
    const user = await userDirs(root);
    const present = await jsKey("Present");
    await Deno.writeFile(pgpPublic(user), present.toPublic().write(), { mode: 0o600 });
    await Deno.writeFile(pgpSecret(user), present.write(), { mode: 0o600 });
    const before = [await Deno.readFile(pgpPublic(user)), await Deno.readFile(pgpSecret(user))];

    const fresh = await jsKey("Fresh");
    const whole = fresh.toPublic().write();
    const armored = fresh.toPublic().armor();
    const inputs: Record<string, Uint8Array | string> = {
      "random-16": crypto.getRandomValues(new Uint8Array(16)),
      "random-4k": crypto.getRandomValues(new Uint8Array(4096)),
      "random-64k": crypto.getRandomValues(new Uint8Array(65536)),
      "random-after-a-key-header": Uint8Array.from([
        0x99,
        0x01,
        0x0d,
        ...crypto.getRandomValues(new Uint8Array(269)),
      ]),
      "text.txt": "Hello, this is a text file.\nIt holds no OpenPGP key.\n",
      "truncated.gpg": whole.subarray(0, Math.floor(whole.length / 2)),
      "truncated.asc": armored.slice(0, Math.floor(armored.length / 2)),
      "bad-base64.asc": armored.replace(/\n\n([A-Za-z0-9+/]{16})/, "\n\n!!!!****@@@@%%%%"),
      "empty-armor.asc":
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n",
      "empty": new Uint8Array(),
      "signature-only.gpg": Uint8Array.from([0xc2, 0x03, 0x04, 0x00, 0x00]),
      "unknown-algorithm.gpg": UNKNOWN_ALGORITHM_KEY,
    };
    ok((inputs["bad-base64.asc"] as string) !== armored);
    const paths = await Promise.all(
      Object.entries(inputs).map(async ([name, content]) => {
        const path = join(root, name);
        if (typeof content === "string") await Deno.writeTextFile(path, content);
        else await Deno.writeFile(path, content);
        return path;
      }),
    );
    paths.push(join(root, "does-not-exist"), root /* a folder */);
    const results = await Promise.all(paths.map((path) => cli(user, ["key", "import", path])));
    for (const [i, result] of results.entries()) {
      const name = paths[i].slice(root.length + 1) || "(folder)";
      const content = inputs[name];
      const detail = content instanceof Uint8Array && name.startsWith("random")
        ? ` (input: ${
          [...content.subarray(0, 64)].map((b) => b.toString(16).padStart(2, "0")).join("")
        }…)`
        : "";
      try {
        failedWith(result, 2, /^ERROR: {3}key import command failed: /);
      } catch (error) {
        throw new Error(`${name}${detail}: ${(error as Error).message}`);
      }
      assertEquals(
        [await Deno.readFile(pgpPublic(user)), await Deno.readFile(pgpSecret(user))],
        before,
        name,
      );
    }
    assertEquals([...Deno.readDirSync(user.keysDir)].map((e) => e.name).sort(), [
      "pgp-public",
      "pgp-secret",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
