/**
 * `check -r` and glob arguments never give an all-clear for images they did not check:
 * symlinked images and folders are followed, unreadable folders and patterns that match
 * nothing are reported, invalid patterns are usage errors (policy/image_set.ts, cli/images.ts).
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { expandImageSet } from "../../policy/mod.ts";
import type { ImageSetFs } from "../../policy/image_set.ts";
import { createImage, DataType } from "../../core/sif/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir, testEnv } from "../helpers/env.ts";

const touch = (path: string) => Deno.writeTextFile(path, "");

Deno.test("a recursive search follows symlinked images and folders, once each, and keeps dangling ones", async () => {
  await using box = await tempDir("siftrust-imageset-");
  const d = box.dir;
  await Deno.mkdir(`${d}/tree/sub`, { recursive: true });
  await Deno.mkdir(`${d}/elsewhere`);
  await touch(`${d}/tree/a.sif`);
  await touch(`${d}/tree/sub/b.sif`);
  await touch(`${d}/tree/notes.txt`);
  await touch(`${d}/elsewhere/c.sif`);
  await Deno.symlink(`${d}/elsewhere/c.sif`, `${d}/tree/link.sif`);
  await Deno.symlink(`${d}/elsewhere`, `${d}/tree/linked-folder`);
  await Deno.symlink(`${d}/tree`, `${d}/tree/sub/loop`);
  await Deno.symlink(`${d}/gone.sif`, `${d}/tree/dangling.sif`);
  const set = await expandImageSet([`${d}/tree`], true);
  assertEquals(set.problems, []);
  assertEquals(set.images, [
    `${d}/tree/a.sif`,
    `${d}/tree/dangling.sif`,
    `${d}/tree/link.sif`,
    `${d}/tree/linked-folder/c.sif`,
    `${d}/tree/sub/b.sif`,
  ]);
});

Deno.test("an unreadable folder is reported, and the rest is still found", async () => {
  await using box = await tempDir("siftrust-imageset-");
  const d = box.dir;
  await Deno.mkdir(`${d}/tree/locked`, { recursive: true });
  await touch(`${d}/tree/a.sif`);
  await touch(`${d}/tree/locked/hidden.sif`);
  // Root reads any folder: the failure is injected.
  const fs: ImageSetFs = {
    stat: Deno.stat,
    realPath: Deno.realPath,
    cwd: Deno.cwd,
    readDir: (path) => {
      if (path.endsWith("/locked")) throw new Deno.errors.PermissionDenied("Permission denied");
      return Deno.readDir(path);
    },
  };
  const set = await expandImageSet([`${d}/tree`], true, fs);
  assertEquals(set.images, [`${d}/tree/a.sif`]);
  assertEquals(set.problems, [
    { kind: "unreadable", path: `${d}/tree/locked`, detail: "Permission denied" },
  ]);
  // The same through a glob pattern.
  const glob = await expandImageSet([`${d}/tree/**/*.sif`], false, fs);
  assertEquals(glob.images, [`${d}/tree/a.sif`]);
  assertEquals(glob.problems.map((p) => p.kind), ["unreadable"]);
});

Deno.test("patterns: no match and invalid patterns are problems; a folder needs recursive", async () => {
  await using box = await tempDir("siftrust-imageset-");
  const d = box.dir;
  await Deno.mkdir(`${d}/tree`);
  await touch(`${d}/tree/a.sif`);
  assertEquals(await expandImageSet([`${d}/tree/*.sif`], false), {
    images: [`${d}/tree/a.sif`],
    problems: [],
  });
  assertEquals(await expandImageSet([`${d}/tree/*.img`, `${d}/tree/a.sif`], false), {
    images: [`${d}/tree/a.sif`],
    problems: [{ kind: "no-match", pattern: `${d}/tree/*.img` }],
  });
  const invalid = await expandImageSet([`${d}/tree/[z-a]*.sif`], false);
  assertEquals(invalid.images, []);
  assertEquals(invalid.problems.map((p) => p.kind), ["invalid-pattern"]);
  assertEquals((await expandImageSet([`${d}/tree`], false)).problems, [
    { kind: "folder-not-recursive", path: `${d}/tree` },
  ]);
});

Deno.test("CLI: check -r checks a symlinked image; a pattern matching nothing exits 3; an invalid one 2", async () => {
  await using box = await testEnv("siftrust-imageset-");
  const d = box.dir;
  await Deno.mkdir(`${d}/tree`);
  await Deno.mkdir(`${d}/store`);
  (await createImage(`${d}/store/real.sif`, {
    objects: [{ dataType: DataType.Deffile, data: new TextEncoder().encode("Bootstrap: x\n") }],
  })).close();
  await Deno.symlink(`${d}/store/real.sif`, `${d}/tree/linked.sif`);
  const policy = `${d}/policy.yaml`;
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      version: 1,
      signers: { alice: { fingerprint: "0".repeat(40) } },
      keys: { files: [], local: false, offline: true },
      rules: [{ name: "store", paths: [`${d}/store/**`], action: "allow" }],
    }),
  );
  const run = (...args: string[]) =>
    runCli(["check", "--no-cache", "--policy", policy, ...args], { env: box.env });
  const recursive = await run("-r", `${d}/tree`);
  assertEquals(recursive.code, 0, recursive.stderr);
  match(recursive.stdout, new RegExp(`ALLOW  ${d}/store/real\\.sif`));

  const none = await run(`${d}/tree/*.img`, `${d}/tree/linked.sif`);
  assertEquals(none.code, 3, none.stderr);
  match(none.stderr, /no file matches .*\*\.img: nothing was checked for it/);
  match(none.stdout, /ALLOW/);
  match(none.stdout, /1 images: 1 allowed, 0 denied, 0 not readable; 1 not searched/);

  const invalid = await run(`${d}/tree/[z-a].sif`);
  assertEquals(invalid.code, 2, invalid.stderr);
  match(invalid.stderr, /invalid glob pattern/);
  ok(!/internal error/.test(invalid.stderr));
});
