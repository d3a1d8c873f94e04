/**
 * Hashing before the program has loaded (cli/image_ahead.ts) against a user who swaps the image
 * meanwhile (docs/security.md): `nobody` exchanges two folders (`renameat2` RENAME_EXCHANGE),
 * one holding a signed 12 MiB image, the other the same image with one byte of its partition
 * changed (the same layout, the same signature), while root's `check -j 2` runs again and again
 * on one path with its decision cache. The worker that hashes ahead and the command open the path
 * at different moments, so they often find different files: a run that paired one file's digests
 * with the other file's descriptors would cache an ALLOW for the changed image (or a DENY for the
 * signed one). After each run, the path it decided is checked again with either image there, so
 * that one of the two hits the run's cached decision.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import { signImage } from "../../core/integrity/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { CLI_ENTRY, DENO_DIR, PERMISSIONS } from "../helpers/cli.ts";
import { buildImage } from "../helpers/images.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { CAN_DROP_PRIVILEGES, NOBODY } from "../helpers/unprivileged.ts";
import { exchanges, giveToNobody, type Lab, lab, sameBytes, startExchange } from "./lab.ts";

/** A 12 MiB image signed by the example key, and a copy with one partition byte changed. */
async function bigImages(dir: string): Promise<{ signed: string; changed: string }> {
  const signed = `${dir}/big-signed.sif`;
  const partition = new Uint8Array(12 << 20).map((_, i) => (i * 7) & 0xff);
  await buildImage(signed, { partition });
  const key = await openpgp.readPrivateKey({
    armoredKey: await Deno.readTextFile(`${REPO_ROOT}examples/example-key.sec.asc`),
  });
  {
    using image = await SifImage.open(signed, { write: true });
    await signImage(image, { kind: "pgp", key: wrapKey(key) });
  }
  const changed = `${dir}/big-changed.sif`;
  await Deno.copyFile(signed, changed);
  using image = await SifImage.open(changed);
  const data = image.descriptors.find((d) => d.size === partition.length)!;
  using file = await Deno.open(changed, { write: true });
  await file.seek(data.offset + 4096, Deno.SeekMode.Start);
  await file.write(new Uint8Array([partition[4096] ^ 0xff]));
  return { signed, changed };
}

/** Root's `check -j 2 --json` of `image` from the command line: its exit code and the path decided. */
async function rootCheck(
  l: Lab,
  image: string,
  env: Record<string, string>,
  ...flags: string[]
): Promise<{ code: number; image: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--quiet", ...PERMISSIONS, CLI_ENTRY, "check", "--policy", l.policy, "-j", "2"],
      ...["--json", ...flags, image],
    ],
    env: { NO_COLOR: "1", DENO_DIR, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  return { code: out.code, image: report.results[0].image };
}

/** How many runs are raced. */
const RUNS = 8;

Deno.test({
  name: "an image exchanged while it is hashed ahead is never decided with the other's digests",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const cache = `${l.dir}/cache`;
    const env = { ...l.env, SIFTRUST_CACHEDIR: cache };
    const { signed, changed } = await bigImages(l.dir);
    assert.equal((await rootCheck(l, signed, env, "--no-cache")).code, 0);
    assert.equal((await rootCheck(l, changed, env, "--no-cache")).code, 1);
    const [x, y] = [`${l.user}/x`, `${l.user}/y`];
    for (const [folder, from] of [[x, signed], [y, changed]]) {
      await Deno.mkdir(folder);
      await Deno.chown(folder, NOBODY, NOBODY);
      await giveToNobody(from, `${folder}/img.sif`);
    }
    // The cache only keeps entries of images unchanged for a second (policy/cache.ts).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    let swaps = 0;
    for (let run = 0; run < RUNS; run++) {
      // An empty cache, so that the check hashes (the cache would answer it without hashing).
      await Deno.remove(cache, { recursive: true }).catch(() => {});
      // Every 20 ms: slow enough for most opens to get through, fast enough that the worker
      // and the command (some 100 ms apart) often find different images.
      const swapper = await startExchange(l, x, y, { pauseMs: 20, seconds: 0.6 });
      const decided = await rootCheck(l, `${x}/img.sif`, env);
      assert.ok(decided.code === 0 || decided.code === 1, `exit ${decided.code}`);
      swaps += await exchanges(swapper);
      // The run cached its decision under the path it decided and the file it opened. That path
      // is asked again, holding one image and then the other: whichever image the run decided,
      // its cached decision must be that image's own.
      for (let turn = 0; turn < 2; turn++) {
        const expected = await sameBytes(decided.image, signed) ? 0 : 1;
        const again = await rootCheck(l, decided.image, env);
        assert.equal(again.code, expected, `run ${run}, ${again.image}`);
        await exchanges(await startExchange(l, x, y, { seconds: 0 }));
      }
    }
    assert.ok(swaps > RUNS * 5, `only ${swaps} exchanges`);
  },
});
