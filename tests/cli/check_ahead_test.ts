/**
 * The early steps of commands that hash (cli/check_args.ts, cli/worker_ahead.ts,
 * cli/check_ahead.ts, policy/open_ahead.ts): the plain `check` command lines they read, which
 * runs get hashing workers from the bundle's entry, which start hashing the first image ahead
 * (`-j 2` and up, a file), and that a check given the image opened ahead decides as one that
 * opens it itself, taking the digests computed ahead, or cancelling them when a rule decides by
 * path.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { signImage } from "../../core/integrity/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { plainCheck } from "../../cli/check_args.ts";
import { dropCheckAhead, startCheckAhead, takeCheckAhead } from "../../cli/check_ahead.ts";
import { hashWorkersAhead } from "../../cli/worker_ahead.ts";
import { startHashingAhead } from "../../cli/image_ahead.ts";
import { HashPool } from "../../core/integrity/hash_pool.ts";
import { checkImage, loadPolicy, policyKeys } from "../../policy/mod.ts";
import { openAhead } from "../../policy/open_ahead.ts";
import { withTempDir } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";
import { fingerprintOf, newKey } from "../helpers/keys.ts";

Deno.test("plain check command lines, and the forms left to commander", () => {
  assertEquals(plainCheck(["check", "--policy", "p.yaml", "-j", "3", "a.sif", "b.sif"]), {
    policyFile: "p.yaml",
    images: ["a.sif", "b.sif"],
    jobs: 3,
    flags: new Set(),
  });
  assertEquals(
    plainCheck(["check", "--no-cache", "--json", "--explain", "--audit-log=x", "--jobs=2", "a"]),
    {
      images: ["a"],
      jobs: 2,
      flags: new Set(["--no-cache", "--json", "--explain", "--audit-log"]),
    },
  );
  assertEquals(plainCheck(["check", "--policy=p", "a"])?.policyFile, "p");
  for (
    const args of [
      ["verify", "a.sif"],
      ["check"],
      ["check", "-r", "dir"],
      ["check", "--help"],
      ["check", "a*.sif"],
      ["check", "-j", "0", "a"],
      ["check", "-j2", "a"],
      ["check", "-j=2", "a"],
      ["check", "--policy", "a", "--policy", "b", "c"],
      ["check", "--policy", "-x", "a"],
      ["check", "--policy=", "a"],
      ["check", "a", "--policy"],
      ["check", "--json=yes", "a"],
      ["check", "--", "a"],
    ]
  ) {
    assertEquals(plainCheck(args), undefined, args.join(" "));
  }
});

/** A signed 9 MiB image (above the pool's threshold) and a policy trusting its signer. */
async function signedLab(dir: string, rules: unknown[] = []) {
  const key = await newKey("ahead");
  const image = await buildImage(`${dir}/image.sif`, { partition: new Uint8Array(9 << 20) });
  {
    using sif = await SifImage.open(image, { write: true });
    await signImage(sif, { kind: "pgp", key: wrapKey(key) });
  }
  await Deno.writeFile(`${dir}/keyring.gpg`, key.toPublic().write());
  const policyPath = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    policyPath,
    JSON.stringify({
      version: 1,
      signers: { ahead: { fingerprint: fingerprintOf(key) } },
      keys: { files: ["keyring.gpg"], local: false, offline: true },
      rules,
    }),
  );
  const policy = await loadPolicy(policyPath);
  const keys = await policyKeys(policy, { env: {}, uid: 0, euid: 0 }, () => {
    throw new Error("an offline policy asked for keyservers");
  });
  return { image, context: { policy, keys } };
}

Deno.test("the first image is hashed ahead with -j 2 and up, never with -j 1", async () => {
  await withTempDir(async (dir) => {
    const { image } = await signedLab(dir);
    const cpus = navigator.hardwareConcurrency || 1;
    const started = async (args: string[]) => {
      await startCheckAhead(args);
      const ahead = takeCheckAhead();
      for (const { opened } of ahead) opened.close();
      assertEquals(ahead.length < 2, true);
      return ahead[0]?.path;
    };
    assertEquals(await started(["check", "-j", "1", image]), undefined);
    assertEquals(await started(["check", "-r", image]), undefined);
    assertEquals(await started(["check", "-j", "2", `${dir}/missing.sif`, image]), undefined);
    assertEquals(await started(["check", "-j", "2", dir]), undefined);
    assertEquals(await started(["check", "-j", "2", image]), cpus > 1 ? image : undefined);
    assertEquals(await started(["check", image]), cpus > 1 ? image : undefined);
    // Not taken: dropped (closed, its hashing stopped).
    await startCheckAhead(["check", "-j", "2", image]);
    dropCheckAhead();
    assertEquals(takeCheckAhead(), []);
  });
});

Deno.test("a check of an image opened ahead decides as one that opens it", async () => {
  await withTempDir(async (dir) => {
    const { image, context } = await signedLab(dir);
    const usual = await checkImage(image, context);
    assertEquals(usual.decision.decision, "allow");
    const opened = await openAhead(image);
    ok(opened?.digestsAhead !== undefined);
    try {
      const known = await opened.digestsAhead.digests;
      ok(known !== undefined && known.objects.size > 0, "the digests were computed ahead");
      assertEquals(await checkImage(image, context, undefined, opened), usual);
    } finally {
      opened.close();
    }
    assertEquals(await openAhead(`${dir}/missing.sif`), undefined);
    assertEquals(await openAhead(dir), undefined);
  });
});

Deno.test("a rule that decides by path cancels the hashing ahead", async () => {
  await withTempDir(async (dir) => {
    const { image, context } = await signedLab(dir, [
      { name: "by-path", paths: [`${await Deno.realPath(dir)}/*.sif`], action: "deny" },
    ]);
    const opened = await openAhead(image);
    ok(opened !== undefined);
    try {
      const { decision } = await checkImage(image, context, undefined, opened);
      assertEquals([decision.decision, decision.rule], ["deny", "by-path"]);
      assertEquals(await opened.digestsAhead?.digests, undefined);
    } finally {
      opened.close();
    }
  });
});

Deno.test("the entry starts workers for what will hash a large file, and only for that", async () => {
  await withTempDir(async (dir) => {
    const big = `${dir}/big.sif`;
    const small = `${dir}/small.sif`;
    await Deno.writeFile(big, new Uint8Array(9 << 20));
    await Deno.writeFile(small, new Uint8Array(1 << 20));
    const cpus = navigator.hardwareConcurrency || 1;
    const count = (args: string[]) => {
      const workers = hashWorkersAhead(args);
      for (const { worker } of workers) worker.terminate();
      return workers.length;
    };
    assertEquals(count(["check", big, small, big]), Math.min(2, cpus));
    assertEquals(count(["check", "-j", "1", big, small]), 1);
    assertEquals(count(["check", "--json", "-j", "4", big]), 1);
    assertEquals(count(["verify", "--keyring", small, big]), 1);
    assertEquals(count(["sign", big]), 1);
    for (
      const args of [
        ["check", small, big],
        ["check", "-r", dir],
        ["check", dir],
        ["check", `${dir}/missing.sif`],
        ["verify", big, "--json"],
        ["verify", "--keyring", big, small],
        ["sign"],
        ["sif", "list", big],
        ["admit", big, dir],
      ]
    ) {
      assertEquals(count(args), 0, args.join(" "));
    }
  });
});

Deno.test("images hashed before the program loads are opened ahead and decided as usual", async () => {
  await withTempDir(async (dir) => {
    const { image, context } = await signedLab(dir);
    const second = `${dir}/second.sif`;
    await Deno.copyFile(image, second);
    const usual = await checkImage(image, context);
    assertEquals(usual.decision.decision, "allow");
    const args = ["check", "-j", "2", image, second, image];
    const workers = hashWorkersAhead(args);
    const { ahead, workers: left } = await startHashingAhead(args, workers);
    if ((navigator.hardwareConcurrency || 1) < 2) {
      // One CPU: -j 2 hashes nothing beside the loading.
      assertEquals(ahead, undefined);
      for (const { worker } of left) worker.terminate();
      return;
    }
    assertEquals([ahead?.images.map((i) => i.path), left.length], [[image, second], 0]);
    // The program's pool takes the workers once they are done.
    using pool = new HashPool({ size: 2 });
    ahead!.pool.handOver((worker) => pool.adopt(worker));
    await startCheckAhead(args, ahead!.images);
    const opened = takeCheckAhead();
    try {
      assertEquals(opened.map((o) => o.path), [image, second]);
      for (const { path, opened: one } of opened) {
        const known = await one.digestsAhead?.digests;
        ok(known !== undefined && known.objects.size > 0, `${path}: the digests came ahead`);
        assertEquals((await checkImage(path, context, undefined, one)).decision, {
          ...usual.decision,
          image: (await checkImage(path, context)).decision.image,
        });
      }
    } finally {
      for (const { opened: one } of opened) one.close();
    }
    assertEquals(pool.workers, 2);
  });
});
