/**
 * The `key`, `sign` and `verify` commands as an Apptainer user types them (issue 14): answers
 * piped on stdin, one line each (newpair's questions and passphrases, key numbers, sign's
 * passphrase); `key list` of a name-only user ID in the local time zone; `key export FILE`;
 * `key newpair -b` sizes; the deprecated flags' notices; `verify --json-format apptainer`.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { readKeyringFile } from "../../core/keys/mod.ts";
import { openpgpKey } from "../../core/keys/pgp_key.ts";
import { DataType, SifImage } from "../../core/sif/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { type UserDirs, userDirs } from "../helpers/gpg.ts";
import { buildImage } from "../helpers/images.ts";

async function withUser(fn: (user: UserDirs, root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "siftrust-parity-" });
  try {
    await fn(await userDirs(root), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const cli = (user: UserDirs, args: string[], stdin?: string, env: Record<string, string> = {}) =>
  runCli(args, { env: { ...user.env, ...env }, stdin });

/** `key newpair` of a small Ed25519 key, its answers piped: name, email, comment, passphrase twice. */
const newpair = (user: UserDirs, answers: string, args: string[] = []) =>
  cli(user, ["key", "newpair", "--key-type", "ed25519", ...args], answers);

const secretKeys = async (user: UserDirs) =>
  (await readKeyringFile(join(user.keysDir, "pgp-secret"))).keys.map(({ key }) => key);

Deno.test("key newpair reads its questions and passphrase from piped stdin; key list shows `rajesh () <>` in local time", async () => {
  await withUser(async (user) => {
    // Seed 003: a name, an empty email and comment; then the passphrase, twice.
    const made = await newpair(user, "rajesh\n\n\nrajpass\nrajpass\n");
    assertEquals(made.code, 0, made.stderr);
    assertEquals(made.stdout, "Generating Entity and OpenPGP Key Pair... done\n");
    match(made.stderr, /^Enter your name \(e\.g\., John Doe\) : \nEnter your email address/);
    const [key] = await secretKeys(user);
    const secret = openpgpKey(key) as openpgp.PrivateKey;
    ok(!secret.isDecrypted(), "encrypted with the piped passphrase");
    await openpgp.decryptKey({ privateKey: secret, passphrase: "rajpass" });

    const listed = await cli(user, ["key", "list"], undefined, { TZ: "America/New_York" });
    assertEquals(listed.code, 0, listed.stderr);
    match(listed.stdout, /\n0\) {2}User: {14}rajesh \(\) <>\n/);
    match(
      listed.stdout,
      /Creation time: {5}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d -0[45]00 E[DS]T\n/,
    );
    const utc = await cli(user, ["key", "list"], undefined, { TZ: "UTC" });
    match(utc.stdout, /Creation time: {5}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\n/);

    // Passphrases that differ three times: Apptainer's retries, then its error; nothing made.
    const again = await newpair(
      user,
      "x\nx@example.org\n\na\nb\nc\nd\ne\nf\n",
      ["--keysdir", join(user.home, "other")],
    );
    assertEquals(again.code, 2);
    assertEquals(again.stderr.match(/WARNING: passphrases do not match/g)?.length, 3);
    match(again.stderr, /ERROR: {3}too many retries while getting a passphrase\n$/);
    // An empty passphrase needs a `y`.
    const empty = await newpair(user, "e\ne@example.org\n\n\n\ny\n", [
      "--keysdir",
      join(user.home, "empty"),
    ]);
    assertEquals(empty.code, 0, empty.stderr);
    const refused = await newpair(user, "e\ne@example.org\n\n\n\nmaybe\n", [
      "--keysdir",
      join(user.home, "refused"),
    ]);
    assertEquals(refused.code, 2);
    match(refused.stderr, /ERROR: {3}invalid answer: "maybe": the key was not created/);
  });
});

Deno.test("key newpair -b: 0 is go-crypto's 2048, under 1024 is its error, and no half-printed line", async () => {
  await withUser(async (user) => {
    const flags = ["key", "newpair", "-N", "B", "-E", "b@example.org", "-C", "", "-P", ""];
    const zero = await cli(user, [...flags, "-b", "0"]);
    assertEquals(zero.code, 0, zero.stderr);
    assertEquals((await secretKeys(user))[0].info.bits, 2048);
    for (const bits of ["100", "-1", "1023"]) {
      const small = await cli(user, [...flags, "-b", bits, "-d", join(user.home, bits)]);
      assertEquals([small.code, small.stdout], [2, ""], small.stderr);
      match(
        small.stderr,
        /^ERROR: {3}creating newpair failed: openpgp: invalid argument: bits must be >= 1024\n$/,
      );
    }
    const weak = await cli(user, [...flags, "-b", "1024", "-d", join(user.home, "weak")]);
    assertEquals([weak.code, weak.stdout], [2, ""]);
    match(weak.stderr, /choose from 2048 to 8192/);
    // A failure after the line began: it is ended before the error.
    const blocker = join(user.home, "a-file");
    await Deno.writeTextFile(blocker, "");
    const failed = await cli(user, [
      ...flags,
      "--key-type",
      "ed25519",
      "-d",
      join(blocker, "keys"),
    ]);
    assertEquals(failed.code === 0, false, failed.stderr);
    ok(
      failed.stdout === "" || failed.stdout === "Generating Entity and OpenPGP Key Pair... \n",
      JSON.stringify(failed.stdout),
    );
  });
});

Deno.test("key export FILE (Apptainer's form): the key chosen by a piped number; the fingerprint form still works", async () => {
  await withUser(async (user, root) => {
    for (const name of ["First", "Second"]) {
      const made = await newpair(user, `${name}\n${name.toLowerCase()}@example.org\n\npw\npw\n`);
      assertEquals(made.code, 0, made.stderr);
    }
    const keys = await secretKeys(user);
    const out = join(root, "second.asc");
    const exported = await cli(user, ["key", "export", "-a", out], "1\n");
    assertEquals(exported.code, 0, exported.stderr);
    match(exported.stdout, /^0\) {2}User: +First \(\) <first@example\.org>\n/);
    match(exported.stdout, /\n1\) {2}User: +Second \(\) <second@example\.org>\n/);
    ok(
      exported.stdout.endsWith(
        `Public key with fingerprint ${keys[1].fingerprint} correctly exported to file: ${out}\n`,
      ),
      exported.stdout,
    );
    match(exported.stderr, /Enter # of public key to use : \n/);
    const read = await openpgp.readKey({ armoredKey: await Deno.readTextFile(out) });
    assertEquals(read.getFingerprint().toUpperCase(), keys[1].fingerprint);
    ok(!read.isPrivate());

    const secretOut = join(root, "first.gpg");
    const secret = await cli(user, ["key", "export", "--secret", secretOut], "0\n");
    assertEquals(secret.code, 0, secret.stderr);
    match(secret.stderr, /Enter # of private key to use : \n/);
    const secretRead = await openpgp.readPrivateKey({
      binaryKey: await Deno.readFile(secretOut),
    });
    assertEquals(secretRead.getFingerprint().toUpperCase(), keys[0].fingerprint);
    assertEquals((await Deno.stat(secretOut)).mode! & 0o777, 0o600);

    for (const [answer, shown] of [["", ""], ["2", "2"], ["x", "x"]]) {
      const bad = await cli(user, ["key", "export", join(root, "bad.asc")], `${answer}\n`);
      assertEquals(bad.code, 2);
      match(
        bad.stderr,
        new RegExp(
          `key export command failed: invalid choice "${shown}": give a key number from 0 to 1`,
        ),
      );
    }
    const byFingerprint = await cli(user, ["key", "export", keys[0].fingerprint, join(root, "f")]);
    assertEquals(byFingerprint.code, 0, byFingerprint.stderr);
    match(byFingerprint.stdout, /^Public key with fingerprint [0-9A-F]{40} correctly exported/);
    const empty = await cli(user, ["key", "export", "--keysdir", join(root, "none"), "x.asc"]);
    assertEquals(empty.code, 2);
    match(empty.stderr, /key export command failed: keyring is empty/);
  });
});

Deno.test("sign and verify: the deprecated --id, --groupid and --all print Apptainer's notices", async () => {
  await withUser(async (user, root) => {
    const made = await newpair(user, "Dep\ndep@example.org\n\n\n\ny\n");
    assertEquals(made.code, 0, made.stderr);
    const path = await buildImage(join(root, "image.sif"), {
      partition: new Uint8Array(4096).fill(3),
    });
    const notice = (flag: string, advice: string) =>
      `WARNING: Flag --${flag} has been deprecated, ${advice}\n`;
    const signed = await cli(user, ["sign", "--groupid", "1", "--all", path]);
    assertEquals(signed.code, 0, signed.stderr);
    ok(
      signed.stderr.startsWith(
        notice("groupid", "use '--group-id'") + notice("all", "now the default behavior"),
      ),
      signed.stderr,
    );
    const byId = await cli(user, ["sign", "--id", "1", path]);
    assertEquals(byId.code, 0, byId.stderr);
    ok(byId.stderr.startsWith(notice("id", "use '--sif-id'")), byId.stderr);
    const verified = await cli(user, ["verify", "--local", "--id", "1", "--groupid", "1", path]);
    ok(
      verified.stderr.startsWith(
        notice("id", "use '--sif-id'") + notice("groupid", "use '--group-id'"),
      ),
      verified.stderr,
    );
    const plain = await cli(user, ["verify", "--local", "--all", "--legacy-insecure", path]);
    ok(!plain.stderr.includes("deprecated"), "verify's --all is not deprecated in Apptainer");
  });
});

Deno.test("verify --json-format apptainer prints Apptainer's document; --json keeps siftrust's", async () => {
  await withUser(async (user, root) => {
    const made = await newpair(user, "Json <b> & co\njson@example.org\n\n\n\ny\n");
    assertEquals(made.code, 0, made.stderr);
    const [key] = await secretKeys(user);
    const path = await buildImage(join(root, "image.sif"), {
      partition: new Uint8Array(4096).fill(3),
    });
    assertEquals((await cli(user, ["sign", path])).code, 0);

    const apptainer = await cli(user, ["verify", "--local", "--json-format", "apptainer", path]);
    assertEquals(apptainer.code, 0, apptainer.stderr);
    const entry = (partition: string, dataCheck: boolean) =>
      `    {\n      "Signer": {\n        "Partition": "${partition}",\n` +
      `        "Name": "Json \\u003cb\\u003e \\u0026 co \\u003cjson@example.org\\u003e",\n` +
      `        "Fingerprint": "${key.fingerprint.toLowerCase()}",\n` +
      `        "KeyLocal": true,\n        "KeyCheck": true,\n        "DataCheck": ${dataCheck}\n` +
      "      }\n    }";
    assertEquals(
      apptainer.stdout,
      `{\n  "Signatures": 1,\n  "SignerKeys": [\n${entry("Def.FILE", true)},\n${
        entry("FS", true)
      }\n  ]\n}\n`,
    );
    assertEquals(
      JSON.parse(apptainer.stdout).SignerKeys[0].Signer.Name,
      "Json <b> & co <json@example.org>",
    );
    const ours = await cli(user, ["verify", "--local", "--json", path]);
    assertEquals(JSON.parse(ours.stdout).verified, true);

    // Tampered data: the objects verified before it, then the one that no longer matches,
    // DataCheck false; exit 1.
    let offset = 0;
    {
      using sif = await SifImage.open(path);
      offset = sif.descriptors.find((d) => d.dataType === DataType.Partition)!.offset;
    }
    using file = await Deno.open(path, { write: true });
    await file.seek(offset + 10, Deno.SeekMode.Start);
    await file.write(Uint8Array.of(0x42));
    const tampered = await cli(user, ["verify", "--local", "--json-format", "apptainer", path]);
    assertEquals(tampered.code, 1);
    const report = JSON.parse(tampered.stdout);
    assertEquals(report.Signatures, 1);
    assertEquals(
      report.SignerKeys.map((k: { Signer: { Partition: string; DataCheck: boolean } }) => [
        k.Signer.Partition,
        k.Signer.DataCheck,
      ]),
      [["Def.FILE", true], ["FS", false]],
    );

    // Unsigned: no signature examined, `null` entries.
    const unsigned = await buildImage(join(root, "unsigned.sif"), {
      partition: new Uint8Array(4096).fill(3),
    });
    const none = await cli(user, ["verify", "--local", "--json-format", "apptainer", unsigned]);
    assertEquals([none.code, none.stdout], [1, '{\n  "Signatures": 0,\n  "SignerKeys": null\n}\n']);
  });
});

Deno.test("key import --new-password reads the old and the new passphrase from piped stdin", async () => {
  await withUser(async (user, root) => {
    const made = await newpair(user, "Imp\nimp@example.org\n\nold pass\nold pass\n");
    assertEquals(made.code, 0, made.stderr);
    const [key] = await secretKeys(user);
    const file = join(root, "secret.gpg");
    assertEquals((await cli(user, ["key", "export", "-s", key.fingerprint, file])).code, 0);
    const other = await userDirs(join(root, "other"));
    const imported = await cli(
      other,
      ["key", "import", "--new-password", file],
      "old pass\nnew pass\nnew pass\n",
    );
    assertEquals(imported.code, 0, imported.stderr);
    match(
      imported.stderr,
      /^Enter your key password : \nEnter a new password for this key : \nRetype your passphrase : \n$/,
    );
    const [reimported] = await secretKeys(other);
    await openpgp.decryptKey({
      privateKey: openpgpKey(reimported) as openpgp.PrivateKey,
      passphrase: "new pass",
    });
    const wrong = await cli(
      await userDirs(join(root, "third")),
      ["key", "import", "--new-password", file],
      "not it\n",
    );
    assertEquals(wrong.code, 4);
    match(wrong.stderr, /ERROR: {3}wrong passphrase for key [0-9A-F]{40}\n$/);
  });
});
