/**
 * Files that decide what runs (the policy, its key files, the global keyring) must be writable
 * by root alone: `writersBesidesRoot` says who else can write one, `decidingFiles` lists them;
 * a user's `check` warns on stderr about each one others can write, and an enforcing run
 * (root's `check`, `exec`) refuses it with exit 2; `checkTrustedPath` is the check itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  checkTrustedPath,
  decidingFiles,
  loadPolicy,
  trustFileWarnings,
} from "../../policy/mod.ts";
import { writersBesidesRoot } from "../../policy/file_trust.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { tempDir, testEnv } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { runtimeCommand, writeFakeRuntime } from "../helpers/runtime.ts";

const IS_ROOT = Deno.uid() === 0;

/** A FileInfo with only what writersBesidesRoot reads. */
function info(mode: number | null, uid: number | null): Deno.FileInfo {
  return { mode, uid } as Deno.FileInfo;
}

const REGULAR = 0o100000;

Deno.test("writersBesidesRoot: anyone, the group, a non-root owner, or nobody", () => {
  const cases: [number, number | null, string | undefined][] = [
    [0o644, 0, undefined],
    [0o600, 0, undefined],
    [0o755, 0, undefined],
    [0o444, 0, undefined],
    [0o666, 0, "anyone can write it"],
    [0o646, 0, "anyone can write it"],
    [0o602, 0, "anyone can write it"],
    [0o777, 1000, "anyone can write it"],
    [0o664, 0, "its group can write it"],
    [0o660, 0, "its group can write it"],
    [0o674, 1000, "its group can write it"],
    [0o644, 1000, "its owner, uid 1000, can write it"],
    [0o600, 4242, "its owner, uid 4242, can write it"],
    // No owner known (not a POSIX system): only the mode bits can tell.
    [0o644, null, undefined],
    [0o666, null, "anyone can write it"],
  ];
  for (const [mode, uid, expected] of cases) {
    const what = `mode ${mode.toString(8)}, uid ${uid}`;
    assert.equal(writersBesidesRoot(info(mode, uid)), expected, what);
    assert.equal(writersBesidesRoot(info(REGULAR | mode, uid)), expected, `regular file, ${what}`);
  }
  // No mode at all (Windows): nothing to say.
  assert.equal(writersBesidesRoot(info(null, 0)), undefined);
  assert.equal(writersBesidesRoot(info(null, 1000)), undefined);
});

Deno.test("writersBesidesRoot: a non-root owner can write a read-only file (chmod is theirs)", () => {
  // The owner of a file may change its mode at any time, so mode 0444 does not keep uid 1000
  // from changing the policy.
  assert.equal(writersBesidesRoot(info(0o444, 1000)), "its owner, uid 1000, can write it");
  assert.equal(
    writersBesidesRoot(info(REGULAR | 0o400, 1000)),
    "its owner, uid 1000, can write it",
  );
});

/** A temp folder (its real path) with a copy of the example policy, key and signed image. */
interface Site {
  dir: string;
  policy: string;
  key: string;
  image: string;
  env: Record<string, string>;
  /** Where the global keyring is for this env. */
  globalKeyring: string;
}

async function withSite(fn: (site: Site) => Promise<void>): Promise<void> {
  await using box = await testEnv("siftrust-file-trust-", { folders: true });
  const dir = box.dir;
  await Deno.mkdir(`${dir}/etc/apptainer`);
  const site: Site = {
    dir,
    policy: `${dir}/site.yaml`,
    key: `${dir}/example-key.pub.asc`,
    image: `${dir}/signed.sif`,
    globalKeyring: `${dir}/etc/apptainer/global-pgp-public`,
    env: box.env,
  };
  await Deno.copyFile(`${REPO_ROOT}examples/site.yaml`, site.policy);
  await Deno.copyFile(`${REPO_ROOT}examples/example-key.pub.asc`, site.key);
  await Deno.copyFile(`${REPO_ROOT}examples/example-signed.sif`, site.image);
  await Deno.chmod(site.policy, 0o644);
  await Deno.chmod(site.key, 0o644);
  await fn(site);
}

const context = (result: CliResult) =>
  `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

/** The WARNING lines of stderr. */
const warnings = (result: CliResult) =>
  result.stderr.split("\n").filter((line) => line.startsWith("WARNING:"));

/** `siftrust check --policy POLICY IMAGE`. */
function run(site: Site): Promise<CliResult> {
  return runCli(["check", "--policy", site.policy, site.image], { env: site.env });
}

/** `siftrust check --policy POLICY IMAGE`, which must allow the image. */
async function check(site: Site): Promise<CliResult> {
  const result = await run(site);
  assert.equal(result.code, 0, context(result));
  assert.match(result.stdout, /^ALLOW /, context(result));
  return result;
}

/** Asserts there is one warning about `path` that names `who` and the fix. */
function assertWarned(result: CliResult, path: string, who: string): void {
  const about = warnings(result).filter((line) => line.includes(`${path}:`));
  assert.equal(about.length, 1, `one warning about ${path}\n${context(result)}`);
  assert.ok(about[0].includes(who), `the warning does not say "${who}"\n${context(result)}`);
  assert.match(about[0], /decides what runs/, context(result));
  assert.match(about[0], /chmod go-w|owned by root/, context(result));
}

/** Asserts an enforcing run refused (exit 2) with one line naming `path` and `why`. */
function assertRefused(result: CliResult, path: string, why: string): void {
  assert.equal(result.code, 2, context(result));
  assert.equal(result.stdout, "", context(result));
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, context(result));
  assert.ok(lines[0].includes(`refusing to trust ${path}:`), context(result));
  assert.ok(lines[0].includes(why), `the line does not say "${why}"\n${context(result)}`);
}

/**
 * A writable trust input: root's run (enforcing) refuses it, saying `refusal`; a user's run
 * allows the image and warns, saying `who`.
 */
async function assertUntrusted(site: Site, path: string, who: string, refusal: string) {
  if (IS_ROOT) assertRefused(await run(site), path, refusal);
  else assertWarned(await check(site), path, who);
}

/** What a file of the current user with mode 0644 gets: nothing as root, else its owner. */
function assertOwnFileVerdict(result: CliResult, path: string): void {
  if (IS_ROOT) {
    assert.deepEqual(warnings(result), [], context(result));
  } else {
    assertWarned(result, path, `its owner, uid ${Deno.uid()}, can write it`);
  }
}

Deno.test("check: a policy file of mode 0666 is refused as root, reported otherwise", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o666);
    await assertUntrusted(site, site.policy, "anyone can write it", "anyone can write it");
  });
});

Deno.test("check: a policy file of mode 0664 is refused as root, reported otherwise", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o664);
    await assertUntrusted(site, site.policy, "its group can write it", "its group can write it");
  });
});

Deno.test("check: a key file of mode 0646 is refused as root, reported otherwise", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.key, 0o646);
    await assertUntrusted(site, site.key, "anyone can write it", "anyone can write it");
  });
});

Deno.test("check: mode 0644 owned by root gives no warning (else: its owner can write it)", async () => {
  await withSite(async (site) => {
    const result = await check(site);
    assertOwnFileVerdict(result, site.policy);
    // Asked again (now from the cache): still nothing.
    assertOwnFileVerdict(await check(site), site.policy);
  });
});

Deno.test({
  name: "check: a 0644 policy owned by another user is refused by root",
  ignore: !IS_ROOT, // only root may give a file away
  fn: async () => {
    await withSite(async (site) => {
      await Deno.chown(site.policy, 4242, 0);
      assertRefused(await run(site), site.policy, "it belongs to uid 4242");
    });
  },
});

Deno.test({
  name: "check: a policy in a folder its group can write is refused by root",
  ignore: !IS_ROOT,
  fn: async () => {
    await withSite(async (site) => {
      await Deno.chmod(site.dir, 0o770);
      assertRefused(await run(site), site.policy, `the group of the folder ${site.dir}`);
    });
  },
});

Deno.test("check: the global keyring counts only when the policy uses local keyrings", async () => {
  await withSite(async (site) => {
    await Deno.writeTextFile(site.globalKeyring, "");
    await Deno.chmod(site.globalKeyring, 0o666);
    // local: false (the example): the global keyring decides nothing.
    assertOwnFileVerdict(await check(site), site.policy);
    // local: true: it does.
    const text = await Deno.readTextFile(site.policy);
    await Deno.writeTextFile(site.policy, text.replace(/^ {2}local: false$/m, "  local: true"));
    await assertUntrusted(site, site.globalKeyring, "anyone can write it", "anyone can write it");
  });
});

Deno.test("exec: refuses a writable policy (exit 2) and runs nothing", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o666);
    const runtime = await writeFakeRuntime(site.dir);
    const result = await runCli(
      ["exec", "--policy", site.policy, "--", ...runtimeCommand(runtime, site.image)],
      { env: site.env },
    );
    assertRefused(result, site.policy, "anyone can write it");
  });
});

Deno.test("decidingFiles: the policy, its key files, and the global keyring with local: true", async () => {
  await withSite(async (site) => {
    const env = (name: string) => site.env[name];
    const policy = await loadPolicy(site.policy);
    assert.deepEqual(decidingFiles(policy, env), [site.policy, site.key]);
    const text = await Deno.readTextFile(site.policy);
    await Deno.writeTextFile(site.policy, text.replace(/^ {2}local: false$/m, "  local: true"));
    const local = await loadPolicy(site.policy);
    assert.deepEqual(decidingFiles(local, env), [site.policy, site.key, site.globalKeyring]);
  });
});

Deno.test("trustFileWarnings: one per writable file, none for missing files", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o664);
    await Deno.chmod(site.key, 0o646);
    const missing = `${site.dir}/missing.asc`;
    const found = await trustFileWarnings([site.policy, missing, site.key]);
    assert.equal(found.length, 2, found.join("\n"));
    assert.ok(found[0].startsWith(`${site.policy}: its group can write it`), found[0]);
    assert.ok(found[1].startsWith(`${site.key}: anyone can write it`), found[1]);
    await Deno.chmod(site.policy, 0o644);
    await Deno.chmod(site.key, 0o644);
    const none = await trustFileWarnings([site.policy, missing, site.key]);
    if (IS_ROOT) assert.deepEqual(none, []);
    else assert.equal(none.length, 2, none.join("\n"));
  });
});

Deno.test("checkTrustedPath: the file, then each folder above it, up to /", async () => {
  await using box = await tempDir("siftrust-strict-");
  const me = Deno.uid()!;
  const folder = `${box.dir}/conf`;
  const file = `${folder}/policy.yaml`;
  await Deno.mkdir(folder, { mode: 0o755 });
  await Deno.writeTextFile(file, "version: 1\n");
  await Deno.chmod(folder, 0o755);
  await Deno.chmod(file, 0o644);
  assert.equal(await checkTrustedPath(file, [0, me]), undefined);
  await Deno.chmod(file, 0o664);
  assert.deepEqual(await checkTrustedPath(file, [0, me]), {
    kind: "group-writable",
    input: file,
    path: file,
    uid: me,
    owners: [0, me],
  });
  await Deno.chmod(file, 0o646);
  assert.equal((await checkTrustedPath(file, [0, me]))?.kind, "other-writable");
  await Deno.chmod(file, 0o644);
  await Deno.chmod(folder, 0o775);
  assert.deepEqual(await checkTrustedPath(file, [0, me]), {
    kind: "parent-group-writable",
    input: file,
    path: folder,
    uid: me,
    owners: [0, me],
  });
  await Deno.chmod(folder, 0o757);
  assert.equal((await checkTrustedPath(file, [0, me]))?.kind, "parent-other-writable");
  // A missing input is judged by the folders that could create it.
  assert.equal((await checkTrustedPath(`${folder}/a/b`, [0, me]))?.kind, "parent-other-writable");
  await Deno.chmod(folder, 0o755);
  assert.equal(await checkTrustedPath(`${folder}/a/b`, [0, me]), undefined);
  // An owner the run does not trust.
  assert.deepEqual(await checkTrustedPath(file, [4242]), {
    kind: "owner",
    input: file,
    path: file,
    uid: me,
    owners: [4242],
  });
});

Deno.test({
  name: "checkTrustedPath: a sticky world-writable folder is accepted above a trusted child only",
  ignore: !IS_ROOT, // only root may give a file away
  fn: async () => {
    await using box = await tempDir("siftrust-sticky-");
    const sticky = `${box.dir}/tmp`;
    await Deno.mkdir(sticky);
    await Deno.chmod(sticky, 0o1777);
    const mine = `${sticky}/policy.yaml`;
    await Deno.writeTextFile(mine, "version: 1\n");
    await Deno.chmod(mine, 0o644);
    assert.equal(await checkTrustedPath(mine, [0]), undefined);
    // Someone else's entry in it: its owner.
    await Deno.chown(mine, 4242, 4242);
    assert.equal((await checkTrustedPath(mine, [0]))?.kind, "owner");
    // A missing entry in it: anyone could create it.
    assert.equal(
      (await checkTrustedPath(`${sticky}/missing`, [0]))?.kind,
      "parent-other-writable",
    );
    // Without the sticky bit, anyone could replace even root's entry.
    await Deno.chown(mine, 0, 0);
    await Deno.chmod(sticky, 0o777);
    assert.equal((await checkTrustedPath(mine, [0]))?.path, sticky);
    // A folder that belongs to another user: they can replace what is in it.
    await Deno.chmod(sticky, 0o755);
    await Deno.chown(sticky, 4242, 4242);
    assert.deepEqual(await checkTrustedPath(mine, [0]), {
      kind: "parent-owner",
      input: mine,
      path: sticky,
      uid: 4242,
      owners: [0],
    });
  },
});

Deno.test({
  name: "checkTrustedPath: a symbolic link is followed, and its target's folders are checked",
  ignore: !IS_ROOT,
  fn: async () => {
    await using box = await tempDir("siftrust-link-");
    const theirs = `${box.dir}/theirs`;
    await Deno.mkdir(theirs);
    await Deno.writeTextFile(`${theirs}/policy.yaml`, "version: 1\n");
    await Deno.chmod(`${theirs}/policy.yaml`, 0o644);
    await Deno.chown(theirs, 4242, 4242);
    await Deno.symlink(`${theirs}/policy.yaml`, `${box.dir}/policy.yaml`);
    const problem = await checkTrustedPath(`${box.dir}/policy.yaml`, [0]);
    assert.equal(problem?.kind, "parent-owner");
    assert.equal(problem?.path, theirs);
  },
});
