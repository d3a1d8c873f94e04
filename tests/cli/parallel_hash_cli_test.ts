/**
 * Large images are hashed on worker threads (core/integrity/hash_pool.ts), whose code is
 * started from a Blob URL so that it survives bundling: `sign` and `verify` of an image above
 * the pool's threshold work from the command line, from source and (`SIFTRUST_CLI`) from the
 * bundle, and a changed byte is still caught.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import * as openpgp from "openpgp";
import { createImage, DataType, FsType, partitionExtra, PartType } from "../../core/sif/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";

const KEYS = `${REPO_ROOT}examples`;

Deno.test("sign and verify of a 12 MiB image hash on workers, from the CLI", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-pool-cli-" });
  try {
    // The example key in an Apptainer key folder, as `siftrust sign` finds it.
    const key = await openpgp.readPrivateKey({
      armoredKey: await Deno.readTextFile(`${KEYS}/example-key.sec.asc`),
    });
    await Deno.mkdir(`${dir}/keys`, { mode: 0o700 });
    await Deno.writeFile(`${dir}/keys/pgp-secret`, key.write(), { mode: 0o600 });
    await Deno.writeFile(`${dir}/keys/pgp-public`, key.toPublic().write(), { mode: 0o600 });
    const env = { HOME: dir, APPTAINER_KEYSDIR: `${dir}/keys`, SIFTRUST_SYSCONFDIR: `${dir}/etc` };
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
    const sign = await runCli(["sign", image], { env });
    assertEquals(sign.code, 0, sign.stderr);
    const verify = () =>
      runCli(["verify", "--local", "--keyring", `${KEYS}/example-key.pub.asc`, image], { env });
    const good = await verify();
    assertEquals(good.code, 0, good.stderr);

    const file = await Deno.open(image, { write: true });
    await file.seek(-(1 << 20), Deno.SeekMode.End);
    await file.write(new Uint8Array([1, 2, 3]));
    file.close();
    const bad = await verify();
    ok(bad.code !== 0, "a changed image fails");
    ok(!bad.stderr.includes("internal error"), bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
