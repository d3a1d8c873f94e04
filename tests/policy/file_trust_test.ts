/**
 * Files that decide what runs (the policy, its key files, the global keyring) must be writable
 * by root alone: `writersBesidesRoot` says who else can write one, `decidingFiles` lists them,
 * and `check` and `exec` warn on stderr about each one others can write.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decidingFiles, loadPolicy, trustFileWarnings } from "../../policy/mod.ts";
import { writersBesidesRoot } from "../../policy/file_trust.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { testEnv } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";

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

/** `siftrust check --policy POLICY IMAGE`, which must allow the image. */
async function check(site: Site): Promise<CliResult> {
  const result = await runCli(["check", "--policy", site.policy, site.image], { env: site.env });
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

/** What a file of the current user with mode 0644 gets: nothing as root, else its owner. */
function assertOwnFileVerdict(result: CliResult, path: string): void {
  if (IS_ROOT) {
    assert.deepEqual(warnings(result), [], context(result));
  } else {
    assertWarned(result, path, `its owner, uid ${Deno.uid()}, can write it`);
  }
}

Deno.test("check: a policy file of mode 0666 is reported: anyone can write it", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o666);
    const result = await check(site);
    assertWarned(result, site.policy, "anyone can write it");
    if (IS_ROOT) assert.equal(warnings(result).length, 1, context(result));
  });
});

Deno.test("check: a policy file of mode 0664 is reported: its group can write it", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o664);
    const result = await check(site);
    assertWarned(result, site.policy, "its group can write it");
    if (IS_ROOT) assert.equal(warnings(result).length, 1, context(result));
  });
});

Deno.test("check: a key file of mode 0646 is reported: anyone can write it", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.key, 0o646);
    const result = await check(site);
    assertWarned(result, site.key, "anyone can write it");
    if (IS_ROOT) assert.equal(warnings(result).length, 1, context(result));
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
  name: "check: a 0644 policy owned by another user is reported: its owner can write it",
  ignore: !IS_ROOT, // only root may give a file away
  fn: async () => {
    await withSite(async (site) => {
      await Deno.chown(site.policy, 4242, 0);
      const result = await check(site);
      assertWarned(result, site.policy, "its owner, uid 4242, can write it");
      assert.equal(warnings(result).length, 1, context(result));
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
    const result = await check(site);
    assertWarned(result, site.globalKeyring, "anyone can write it");
  });
});

Deno.test("exec: warns like check, and still runs an allowed image", async () => {
  await withSite(async (site) => {
    await Deno.chmod(site.policy, 0o666);
    await Deno.chmod(site.key, 0o664);
    const result = await runCli(
      ["exec", "--policy", site.policy, "--", "/bin/sh", "-c", "echo ran", "sh", site.image],
      { env: site.env },
    );
    assert.equal(result.code, 0, context(result));
    assert.equal(result.stdout, "ran\n", context(result));
    assertWarned(result, site.policy, "anyone can write it");
    assertWarned(result, site.key, "its group can write it");
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
