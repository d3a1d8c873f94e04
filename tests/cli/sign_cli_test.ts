/**
 * `siftrust sign` as a user meets it: key choice, passphrases (environment, file, a prompt
 * with no echo on a terminal, a clear error without one), DSSE keys, refusals that leave the
 * image untouched, and the hashing progress line on a terminal.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import * as openpgp from "openpgp";
import { createImage, DataType, FsType, partitionExtra, PartType } from "../../core/sif/mod.ts";
import { CLI_ENTRY, DENO_DIR, runCli } from "../helpers/cli.ts";
import { peerTest } from "../helpers/peers.ts";
import { buildImage } from "../helpers/images.ts";
import { testEnv } from "../helpers/env.ts";

interface Home {
  dir: string;
  env: Record<string, string>;
  image: string;
}

/** A temp home with an Apptainer key folder holding these secret keys, and a small image. */
async function home(keys: openpgp.PrivateKey[]): Promise<Home> {
  const { dir, env } = await testEnv("siftrust-sign-");
  const keysDir = env.APPTAINER_KEYSDIR;
  await Deno.mkdir(keysDir, { mode: 0o700 });
  const secret = keys.flatMap((key) => [...key.write()]);
  const pub = keys.flatMap((key) => [...key.toPublic().write()]);
  await Deno.writeFile(`${keysDir}/pgp-secret`, Uint8Array.from(secret), { mode: 0o600 });
  await Deno.writeFile(`${keysDir}/pgp-public`, Uint8Array.from(pub), { mode: 0o600 });
  const image = `${dir}/image.sif`;
  await buildImage(image);
  return { dir, image, env };
}

async function newKey(name: string, passphrase?: string): Promise<openpgp.PrivateKey> {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
    passphrase,
    format: "object",
  });
  return privateKey;
}

const signed = async (h: Home) => (await runCli(["verify", "--json", h.image], { env: h.env }));
const signers = async (h: Home) =>
  JSON.parse((await signed(h)).stdout).signatures.map((s: { signer: string }) => s.signer);

Deno.test("an encrypted key signs with SIFTRUST_PASSPHRASE or --passphrase-file, and never hangs without one", async () => {
  const key = await newKey("Locked", "s3cret");
  const h = await home([key]);
  try {
    const noTerminal = await runCli(["sign", h.image], { env: h.env });
    assertEquals(noTerminal.code, 4);
    match(
      noTerminal.stderr,
      /no passphrase on stdin \(not a terminal\): pipe it, set SIFTRUST_PASSPHRASE or use --passphrase-file/,
    );
    const wrongPiped = await runCli(["sign", h.image], { env: h.env, stdin: "nope\n" });
    assertEquals(wrongPiped.code, 4);
    match(wrongPiped.stderr, /Enter key passphrase : \nERROR: {3}wrong passphrase for key/);
    const wrong = await runCli(["sign", h.image], {
      env: { ...h.env, SIFTRUST_PASSPHRASE: "nope" },
    });
    assertEquals(wrong.code, 4);
    match(
      wrong.stderr,
      new RegExp(`wrong passphrase for key ${key.getFingerprint().toUpperCase()}`),
    );
    assertEquals((await signed(h)).code, 1, "nothing was signed yet");

    const viaEnv = await runCli(["sign", h.image], {
      env: { ...h.env, SIFTRUST_PASSPHRASE: "s3cret" },
    });
    assertEquals(viaEnv.code, 0, viaEnv.stderr);
    match(
      viaEnv.stderr,
      /INFO: {4}Signing image with PGP key material\nINFO: {4}Signature created and applied to image '/,
    );
    await Deno.writeTextFile(`${h.dir}/pass`, "s3cret\n");
    const viaFile = await runCli(["sign", "--passphrase-file", `${h.dir}/pass`, h.image], {
      env: h.env,
    });
    assertEquals(viaFile.code, 0, viaFile.stderr);
    // As Apptainer: the passphrase piped on stdin, one line.
    const viaStdin = await runCli(["sign", h.image], { env: h.env, stdin: "s3cret\r\n" });
    assertEquals(viaStdin.code, 0, viaStdin.stderr);
    assertEquals(await signers(h), [
      key.getFingerprint().toUpperCase(),
      key.getFingerprint().toUpperCase(),
      key.getFingerprint().toUpperCase(),
    ]);
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("with several keys: --keyidx picks one; without it, the number is read from stdin", async () => {
  const [first, second] = [await newKey("First"), await newKey("Second")];
  const h = await home([first, second]);
  try {
    const env = { ...h.env, TZ: "Asia/Kolkata" };
    const ask = await runCli(["sign", h.image], { env });
    assertEquals(ask.code, 2);
    // Apptainer's list: user IDs as `Name (Comment) <email>`, local creation times.
    match(
      ask.stdout,
      /^0\) U: First \(\) <first@example\.org>\n {3}C: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0530 IST\n {3}F: [0-9A-F]{40}\n {3}L: 256\n {3}--------\n1\) U: Second/,
    );
    match(
      ask.stderr,
      /Enter # of private key to use : \nERROR: {3}Failed to sign container: invalid choice "": give a key number from 0 to 1/,
    );
    const piped = await runCli(["sign", h.image], { env, stdin: "1\n" });
    assertEquals(piped.code, 0, piped.stderr);
    assertEquals(await signers(h), [second.getFingerprint().toUpperCase()]);
    const outOfRange = await runCli(["sign", "--keyidx", "2", h.image], { env: h.env });
    assertEquals(outOfRange.code, 2);
    match(outOfRange.stderr, /index out of range: --keyidx 2, the keyring holds 2 keys \(0 to 1\)/);
    const chosen = await runCli(["sign", "--keyidx", "1", h.image], { env: h.env });
    assertEquals(chosen.code, 0, chosen.stderr);
    assertEquals(await signers(h), Array(2).fill(second.getFingerprint().toUpperCase()));
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("sign refuses what it cannot do and leaves the image untouched", async () => {
  const h = await home([]);
  try {
    const before = await Deno.readFile(h.image);
    const empty = await runCli(["sign", h.image], { env: h.env });
    assertEquals(empty.code, 4);
    match(
      empty.stderr,
      /keyring is empty: .*pgp-secret holds no secret key; create one with `siftrust key newpair`/,
    );
    await Deno.writeFile(`${h.dir}/keys/pgp-secret`, (await newKey("Only")).write());
    const missing = await runCli(["sign", "--sif-id", "9", h.image], { env: h.env });
    assertEquals([missing.code, missing.stderr.trim().split("\n").at(-1)], [
      1,
      "ERROR:   Failed to sign container: integrity: object not found",
    ]);
    const badId = await runCli(["sign", "--group-id", "x", h.image], { env: h.env });
    assertEquals(badId.code, 2);
    assertEquals(await Deno.readFile(h.image), before);
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("--key signs a DSSE envelope that verify --key accepts", async () => {
  const h = await home([]);
  try {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    await Deno.writeTextFile(
      `${h.dir}/k.pem`,
      privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    );
    await Deno.writeTextFile(
      `${h.dir}/k.pub`,
      publicKey.export({ type: "spki", format: "pem" }) as string,
    );
    const sign = await runCli(["sign", "--key", `${h.dir}/k.pem`, h.image], { env: h.env });
    assertEquals(sign.code, 0, sign.stderr);
    match(sign.stderr, /Signing image with key material from '.*k\.pem'/);
    const info = JSON.parse((await runCli(["sif", "info", "--json", "3", h.image])).stdout);
    assertEquals(info.object.signature.entity, null, "DSSE signatures carry no fingerprint");
    const verify = await runCli(["verify", "--key", `${h.dir}/k.pub`, h.image], { env: h.env });
    assertEquals(verify.code, 0, verify.stderr);
    const withoutKey = await runCli(["verify", h.image], { env: h.env });
    assertEquals(withoutKey.code, 4);
    match(
      withoutKey.stderr,
      /key material not provided for DSSE envelope signature\nERROR: {3}the image has a DSSE signature: pass its signer's PEM public key with --key/,
    );
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

/**
 * Runs the CLI under a pseudo-terminal (util-linux `script`). When `prompt` appears in the
 * output, types `input` (typing earlier would let the terminal echo it before raw mode).
 */
async function onTerminal(
  args: string[],
  env: Record<string, string>,
  prompt?: string,
  input = "",
) {
  const cli = ["deno", "run", "--quiet", "--allow-all", CLI_ENTRY, ...args].map((a) => `'${a}'`)
    .join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", cli, "/dev/null"],
    env: { ...env, NO_COLOR: "1", DENO_DIR },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  let output = "";
  let typed = prompt === undefined;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    output += decoder.decode(chunk, { stream: true });
    if (!typed && output.includes(prompt!)) {
      typed = true;
      await writer.write(new TextEncoder().encode(input));
    }
  }
  await writer.close().catch(() => undefined);
  const { code } = await child.status;
  return { code, output };
}

peerTest("on a terminal the passphrase is asked for without echo, and hashing shows progress", [
  "script",
], async () => {
  const key = await newKey("Typed", "typed-secret");
  const h = await home([key]);
  try {
    const big = `${h.dir}/big.sif`;
    const chunk = new Uint8Array(4 << 20).fill(1);
    const data = async function* () {
      for (let i = 0; i < 64; i++) yield chunk;
    };
    (await createImage(big, {
      objects: [{
        dataType: DataType.Partition,
        data: data(),
        extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
      }],
    })).close();
    const sign = await onTerminal(
      ["sign", big],
      h.env,
      "Enter key passphrase : ",
      "typed-secret\r",
    );
    assertEquals(sign.code, 0, sign.output);
    match(sign.output, /Enter key passphrase : /);
    ok(!sign.output.includes("typed-secret"), `the passphrase was echoed: ${sign.output}`);
    // Progress shows once the key is ready: after a prompt, only if the hashing, which started
    // before it, is not done by then. With the passphrase given, the key is ready at once.
    const given = await onTerminal(["sign", big], {
      ...h.env,
      SIFTRUST_PASSPHRASE: "typed-secret",
    });
    assertEquals(given.code, 0, given.output);
    match(given.output, /Hashing: +\d+% \(/);
    const verify = await onTerminal(["verify", big], h.env);
    assertEquals(verify.code, 0, verify.output);
    match(verify.output, /Hashing: 100% \(256 MiB of 256 MiB\)/);
    const piped = await runCli(["verify", big], { env: h.env });
    assertEquals(piped.code, 0);
    ok(!piped.stderr.includes("Hashing"), "no progress line when stderr is not a terminal");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});
