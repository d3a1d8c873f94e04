/**
 * Large images are hashed on worker threads (core/integrity/hash_pool.ts), whose code is
 * started from a Blob URL so that it survives bundling: `sign` and `verify` of an image above
 * the pool's threshold work from the command line, from source and (`SIFTRUST_CLI`) from the
 * bundle, hashed before the program has loaded (cli/image_ahead.ts), and a changed byte is
 * still caught; so does `check`, whose first image is hashed
 * ahead (cli/check_ahead.ts) on a worker the bundle's entry started (cli/worker_ahead.ts).
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import * as openpgp from "openpgp";
import { createImage, DataType, FsType, partitionExtra, PartType } from "../../core/sif/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { isolatedEnv, tempDir } from "../helpers/env.ts";

const KEYS = `${REPO_ROOT}examples`;

/** A 12 MiB image in `dir`, with a partition of repeated random bytes. */
async function bigImage(dir: string): Promise<string> {
  const image = `${dir}/big.sif`;
  const data = new Uint8Array(12 << 20);
  crypto.getRandomValues(data.subarray(0, 65536));
  data.copyWithin(65536, 0);
  (await createImage(image, {
    objects: [{
      dataType: DataType.Partition,
      data,
      extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
    }],
  })).close();
  return image;
}

/** Changes three bytes of the image's last MiB. */
async function tamper(image: string): Promise<void> {
  const file = await Deno.open(image, { write: true });
  await file.seek(-(1 << 20), Deno.SeekMode.End);
  await file.write(new Uint8Array([1, 2, 3]));
  file.close();
}

Deno.test("sign and verify of a 12 MiB image hash on workers, from the CLI", async () => {
  await using temp = await tempDir("siftrust-pool-cli-");
  const dir = temp.dir;
  // The example key in an Apptainer key folder, as `siftrust sign` finds it.
  const key = await openpgp.readPrivateKey({
    armoredKey: await Deno.readTextFile(`${KEYS}/example-key.sec.asc`),
  });
  await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
  await Deno.writeFile(`${dir}/keys/pgp-secret`, key.write(), { mode: 0o600 });
  await Deno.writeFile(`${dir}/keys/pgp-public`, key.toPublic().write(), { mode: 0o600 });
  const env = isolatedEnv(dir);
  const image = await bigImage(dir);
  const sign = await runCli(["sign", image], { env });
  assertEquals(sign.code, 0, sign.stderr);
  const verify = () =>
    runCli(["verify", "--local", "--keyring", `${KEYS}/example-key.pub.asc`, image], { env });
  const good = await verify();
  assertEquals(good.code, 0, good.stderr);
  // One group asked for: it takes the digests of the group hashed ahead (cli/image_ahead.ts).
  const group = await runCli(
    ["verify", "--local", "--keyring", `${KEYS}/example-key.pub.asc`, "--group-id", "1", image],
    { env },
  );
  assertEquals(group.code, 0, group.stderr);

  await tamper(image);
  const bad = await verify();
  ok(bad.code !== 0, "a changed image fails");
  ok(!bad.stderr.includes("internal error"), bad.stderr);
});

Deno.test("check of a 12 MiB image hashed ahead allows it signed, and denies it changed", async () => {
  await using temp = await tempDir("siftrust-pool-cli-");
  const dir = temp.dir;
  const armoredKey = await Deno.readTextFile(`${KEYS}/example-key.sec.asc`);
  const key = await openpgp.readPrivateKey({ armoredKey });
  await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
  await Deno.writeFile(`${dir}/keys/pgp-secret`, key.write(), { mode: 0o600 });
  await Deno.writeFile(`${dir}/keys/pgp-public`, key.toPublic().write(), { mode: 0o600 });
  await Deno.writeFile(`${dir}/trusted.asc`, key.toPublic().write());
  const policy = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      version: 1,
      signers: { example: { fingerprint: key.getFingerprint().toUpperCase() } },
      keys: { files: ["trusted.asc"], local: false, offline: true },
    }) + "\n",
  );
  const env = isolatedEnv(dir);
  const image = await bigImage(dir);
  const small = `${dir}/small.sif`;
  await Deno.copyFile(`${KEYS}/example-signed.sif`, small);
  const sign = await runCli(["sign", image], { env });
  assertEquals(sign.code, 0, sign.stderr);
  // -j 2 hashes the first image ahead, -j 1 does not; the cache is bypassed, or used.
  const forms = [["-j", "2"], ["-j", "1"], ["--no-cache", "-j", "2"], ["--json"]];
  const check = (form: string[], images: string[]) =>
    runCli(["check", "--policy", policy, ...form, ...images], { env });
  for (const form of forms) {
    const result = await check(form, [image, small]);
    assertEquals(result.code, 0, `${form.join(" ")}: ${result.stdout}${result.stderr}`);
  }
  await tamper(image);
  for (const form of forms) {
    const result = await check(form, [image, small]);
    assertEquals(result.code, 1, `${form.join(" ")}: ${result.stdout}${result.stderr}`);
    ok(!result.stderr.includes("internal error"), result.stderr);
    if (form[0] !== "--json") ok(result.stdout.startsWith("DENY"), result.stdout);
  }
});
