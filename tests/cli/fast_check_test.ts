/**
 * `check`'s cached fast path (cli/fast_check.ts, policy/fast_check.ts): once the full path has
 * decided and kept the decisions, a plain `check` gets the same stdout, stderr and exit code
 * without loading commander, the policy parser or OpenPGP (`SIFTRUST_DEBUG_FASTPATH=1` says
 * when it answered); every kind of miss falls back to the full path; and the modules it loads
 * import no heavy package, from the sources and from the shipped bundle (whose entry, all that
 * loads before the fast path answers, holds no part of the program).
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { pathToFileURL } from "node:url";
import * as openpgp from "openpgp";
import { signImage } from "../../core/integrity/mod.ts";
import { SYSTEM_CACHE_DIR, SYSTEM_POLICY } from "../../core/config/mod.ts";
import {
  createImage,
  DataType,
  FsType,
  partitionExtra,
  PartType,
  SifImage,
} from "../../core/sif/mod.ts";
import { rememberCheckSetup } from "../../policy/check_setup.ts";
import { FAST_SYSTEM_CACHE_DIR, FAST_SYSTEM_POLICY, fastCheck } from "../../policy/fast_check.ts";
import {
  checkImage,
  decidingFiles,
  loadPolicy,
  policyKeys,
  trustFileWarnings,
} from "../../policy/mod.ts";
import { type CliResult, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { type TestEnv, testEnv } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { buildBundle } from "../helpers/bundle.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";

const FAST = "INFO:    fast path:";

const { privateKey: alice } = await openpgp.generateKey({
  type: "ecc",
  curve: "ed25519Legacy",
  userIDs: [{ name: "alice", email: "alice@siftrust.test" }],
  format: "object",
});

async function makeImage(path: string, signed: boolean): Promise<string> {
  (await createImage(path, {
    objects: [{
      dataType: DataType.Partition,
      data: crypto.getRandomValues(new Uint8Array(4096)),
      extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
    }],
  })).close();
  if (signed) {
    using image = await SifImage.open(path, { write: true });
    await signImage(image, { kind: "pgp", key: wrapKey(alice) });
  }
  return path;
}

/** Waits into the next second: the cache keeps nothing about an image changed in this one. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
}

interface Lab extends TestEnv {
  policy: string;
  keyring: string;
  allowed: string;
  denied: string;
}

/** A policy trusting alice from a keyring beside it, offline; a signed and an unsigned image. */
async function lab(mode = "enforce", keys: Record<string, unknown> = {}): Promise<Lab> {
  const box = await testEnv("siftrust-fast-");
  const keyring = `${box.dir}/keyring.gpg`;
  await Deno.writeFile(keyring, alice.toPublic().write());
  const policy = `${box.dir}/policy.yaml`;
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      version: 1,
      mode,
      signers: { alice: { fingerprint: alice.getFingerprint().toUpperCase() } },
      keys: { files: ["keyring.gpg"], local: false, offline: true, ...keys },
    }) + "\n",
  );
  const allowed = await makeImage(`${box.dir}/allowed.sif`, true);
  const denied = await makeImage(`${box.dir}/denied.sif`, false);
  await settle();
  return { ...box, policy, keyring, allowed, denied };
}

function check(l: Lab, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(["check", "--policy", l.policy, ...args], {
    env: { ...l.env, SIFTRUST_DEBUG_FASTPATH: "1", ...env },
  });
}

/** The run without the fast path's debug line. */
function plain(result: CliResult) {
  const stderr = result.stderr.split("\n").filter((line) => !line.startsWith(FAST)).join("\n");
  return { code: result.code, stdout: result.stdout, stderr };
}

function fast(result: CliResult): boolean {
  return result.stderr.includes(FAST);
}

/**
 * The full path's cached answer (`--jobs` is no plain form here: `-j2` is left to commander)
 * and the fast path's, for the same arguments.
 */
async function bothPaths(l: Lab, images: string[]): Promise<[CliResult, CliResult]> {
  await check(l, images);
  const full = await check(l, ["-j2", ...images]);
  ok(!fast(full), "-j2 is not a plain form");
  const quick = await check(l, ["-j", "2", ...images]);
  return [full, quick];
}

Deno.test("fast path: the same output as the full path's cached answer", async (t) => {
  for (const mode of ["enforce", "warn"]) {
    await t.step(`mode ${mode}: allow, deny, several images`, async () => {
      await using l = await lab(mode);
      for (const images of [[l.allowed], [l.denied], [l.allowed, l.denied, l.allowed]]) {
        const [full, quick] = await bothPaths(l, images);
        ok(full.stdout.includes("(cached)"), full.stdout + full.stderr);
        ok(fast(quick), `the fast path answered: ${quick.stderr}`);
        assertEquals(plain(quick), plain(full));
      }
    });
  }
});

Deno.test("fast path: a keyring others can write: the same refusal, or the same warnings", async () => {
  await using l = await lab();
  await check(l, [l.allowed]);
  await Deno.chmod(l.keyring, 0o666);
  const [full, quick] = await bothPaths(l, [l.allowed]);
  if (Deno.uid() === 0) {
    // Root's run enforces: the full path refuses, and so the fast path does not answer.
    assertEquals(full.code, 2, full.stderr);
    ok(!fast(quick), quick.stderr);
  } else {
    ok(full.stderr.includes("anyone can write it"), full.stderr);
    ok(fast(quick), quick.stderr);
  }
  assertEquals(plain(quick), plain(full));
});

Deno.test("fast path: a user's run warns about the files others can write, as they are now", async () => {
  await using l = await lab();
  const user = { env: l.env, uid: 4321, euid: 4321, command: "check", policyFile: l.policy };
  const policy = await loadPolicy(l.policy);
  const keys = await policyKeys(policy, user, () => ({ find: () => Promise.resolve([]) }) as never);
  const dir = `${l.dir}/cache/siftrust/decisions`;
  const context = { policy, keys, cacheDir: dir };
  assertEquals((await checkImage(l.allowed, context)).cached, false);
  await rememberCheckSetup(policy, keys);
  const run = { policyFile: l.policy, images: [l.allowed], env: l.env, uid: 4321, euid: 4321 };
  assertEquals((await fastCheck(run))?.warnings, []);
  await Deno.chmod(l.keyring, 0o666);
  const env = (name: string) => l.env[name];
  const expected = await trustFileWarnings(decidingFiles(policy, env));
  assertEquals(expected.length, 1);
  const answer = await fastCheck(run);
  assertEquals(answer?.warnings, expected);
  assertEquals(answer?.checks.map((c) => c.decision.decision), ["allow"]);
  // Another user, or root, finds no set-up of this one.
  assertEquals(await fastCheck({ ...run, uid: 0, euid: 0 }), undefined);
});

Deno.test("fast path: every miss falls back to the full path", async (t) => {
  await using l = await lab();
  const warm = async () => {
    await check(l, [l.allowed]);
    const hit = await check(l, [l.allowed]);
    ok(fast(hit), `warm: ${hit.stderr}`);
    return hit;
  };
  const expectFull = async (why: string, args = [l.allowed], env = {}) => {
    const result = await check(l, args, env);
    ok(!fast(result), `${why}: the full path answers`);
    return result;
  };
  await t.step("no set-up kept yet", async () => {
    await expectFull("first run");
  });
  await t.step("forms that are not plain", async () => {
    const hit = await warm();
    for (const extra of [["--json"], ["--explain"], ["--no-cache"], ["-r"], ["-j", "0"]]) {
      await expectFull(extra.join(" "), [...extra, l.allowed]);
    }
    const audit = await expectFull("--audit-log", [l.allowed], {
      SIFTRUST_AUDIT_LOG: `${l.dir}/audit.log`,
    });
    assertEquals(audit.stdout, hit.stdout);
  });
  await t.step("an image not in the cache", async () => {
    await warm();
    const other = await makeImage(`${l.dir}/other.sif`, true);
    await settle();
    await expectFull("new image", [l.allowed, other]);
    await expectFull("missing image", [`${l.dir}/missing.sif`]);
  });
  await t.step("the image changed", async () => {
    await warm();
    await Deno.utime(l.allowed, new Date(), new Date(Date.now() - 5000));
    await settle();
    await expectFull("touched image");
  });
  await t.step("the policy changed", async () => {
    await warm();
    await Deno.writeTextFile(l.policy, (await Deno.readTextFile(l.policy)) + "# changed\n");
    await expectFull("policy edited");
  });
  await t.step("a key file changed", async () => {
    await warm();
    await Deno.writeFile(l.keyring, new Uint8Array([...alice.toPublic().write()]));
    const { privateKey: bob } = await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name: "bob" }],
      format: "object",
    });
    await Deno.writeFile(
      l.keyring,
      Uint8Array.from([...alice.toPublic().write(), ...bob.toPublic().write()]),
    );
    await expectFull("keyring edited");
  });
  await t.step("the same policy bytes in another folder (other key files)", async () => {
    await warm();
    await Deno.mkdir(`${l.dir}/other`);
    await Deno.copyFile(l.policy, `${l.dir}/other/policy.yaml`);
    await Deno.writeFile(`${l.dir}/other/keyring.gpg`, new Uint8Array());
    const run = (cwd: string) =>
      runCli(["check", "--policy", "policy.yaml", l.allowed], {
        cwd,
        env: { ...l.env, SIFTRUST_DEBUG_FASTPATH: "1" },
      });
    await run(l.dir);
    ok(fast(await run(l.dir)), "the policy's own folder: the fast path");
    const other = await run(`${l.dir}/other`);
    ok(!fast(other), other.stderr);
  });
  await t.step("an environment variable the resolution read changed", async () => {
    await warm();
    await expectFull("other keys folder", [l.allowed], { APPTAINER_KEYSDIR: `${l.dir}/k2` });
  });
  await t.step("a corrupt decision or set-up", async () => {
    await warm();
    const dir = `${l.dir}/cache/siftrust/decisions`;
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.startsWith("setup-")) await Deno.writeTextFile(`${dir}/${entry.name}`, "{");
    }
    const result = await expectFull("corrupt decision");
    ok(result.stderr.includes("WARNING"), result.stderr);
    await warm();
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("setup-")) await Deno.writeTextFile(`${dir}/${entry.name}`, "[");
    }
    await expectFull("corrupt set-up");
  });
});

Deno.test("fast path: not kept when keyservers may come from discovery", async () => {
  await using l = await lab("enforce", { offline: false });
  await check(l, [l.allowed]);
  const again = await check(l, [l.allowed]);
  ok(!fast(again), again.stderr);
});

/**
 * The modules `deno info` finds from `root` by code imports (type imports are erased at run
 * time), each with whether it is reached only through `import()` (loaded when that line runs).
 */
async function codeGraph(root: string): Promise<Map<string, boolean>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    env: { DENO_DIR },
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  type Dependency = { code?: { specifier: string }; isDynamic?: boolean };
  const modules = new Map<string, { dependencies?: Dependency[] }>(
    info.modules.map((m: { specifier: string }) => [m.specifier, m]),
  );
  const reached = new Map<string, boolean>();
  const stack: [string, boolean][] = info.roots.map((r: string) => [r, false]);
  while (stack.length > 0) {
    const [raw, dynamic] = stack.pop()!;
    const specifier = info.redirects?.[raw] ?? raw;
    if (reached.has(specifier) && (dynamic || !reached.get(specifier))) continue;
    reached.set(specifier, dynamic);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code !== undefined) {
        stack.push([dep.code.specifier, dynamic || dep.isDynamic === true]);
      }
    }
  }
  return reached;
}

/** Asserts that a graph holds no npm package, and no node: module loaded at start. */
function assertNothingHeavyAtStart(reached: Map<string, boolean>): void {
  const external = [...reached.keys()].filter((s) => !s.startsWith("file:"));
  assertEquals(external.filter((s) => !s.startsWith("node:")), [], "no npm package");
  const statically = external.filter((s) => !reached.get(s));
  assertEquals(statically, [], "no node: module loaded at start");
}

Deno.test("fast path: its modules load no package, and not Deno's Node layer", async () => {
  const reached = await codeGraph(`${REPO_ROOT}cli/fast_check.ts`);
  ok(reached.size > 5, `the graph was read: ${[...reached.keys()]}`);
  assertNothingHeavyAtStart(reached);
});

Deno.test("the sources' entry leaves the commands out of Deno's start-up; the bundle's program has them", async () => {
  // Deno resolves, before the first line runs, every module a literal import() names: the
  // sources' entry must not name the commands (the whole program and its npm packages) so.
  const program = pathToFileURL(`${REPO_ROOT}cli/program.ts`).href;
  const fromSources = await codeGraph(`${REPO_ROOT}cli/main.ts`);
  ok(fromSources.has(pathToFileURL(`${REPO_ROOT}cli/fast_check.ts`).href), "the graph was read");
  ok(!fromSources.has(program), "cli/main.ts names the commands literally");
  const packages = [...fromSources.keys()].filter((s) => s.startsWith("npm:"));
  assertEquals(packages.map((s) => s.split("@")[1]), ["commander-js/extra-typings"]);
  // `deno bundle` and `deno compile` follow literal specifiers only: the entry they start from
  // must name the commands, and so reach every package.
  const full = await codeGraph(`${REPO_ROOT}cli/full_entry.ts`);
  ok(full.has(program), "cli/full_entry.ts does not reach the commands");
  ok([...full.keys()].some((s) => s.startsWith("npm:/openpgp@")), "OpenPGP is not reached");
});

Deno.test("fast path: its copies of the resolution's constants are the same", () => {
  assertEquals(FAST_SYSTEM_POLICY, SYSTEM_POLICY);
  assertEquals(FAST_SYSTEM_CACHE_DIR, SYSTEM_CACHE_DIR);
});

Deno.test("the shipped bundle: the same answers, fast and full; its entry loads nothing heavy", async () => {
  await using l = await lab();
  // The bundle task's files, in a folder of this test's own; run through a symbolic link, as
  // when installed as /usr/local/bin/siftrust.
  const entry = await buildBundle(`${l.dir}/dist`);
  await Deno.mkdir(`${l.dir}/bin`);
  await Deno.symlink(entry, `${l.dir}/bin/siftrust`);
  const reached = await codeGraph(entry);
  const files = [...reached.keys()].filter((s) => s.startsWith("file:"));
  assertEquals(files, [pathToFileURL(entry).href], "the entry alone: the program is not in it");
  assertNothingHeavyAtStart(reached);
  const bundled = async (args: string[]): Promise<CliResult> => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSIONS, `${l.dir}/bin/siftrust`, ...args],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", DENO_DIR, ...l.env, SIFTRUST_DEBUG_FASTPATH: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr), stdoutBytes: stdout };
  };
  const images = [l.allowed, l.denied];
  const first = await bundled(["check", "--policy", l.policy, ...images]);
  ok(!fast(first), first.stderr);
  const quick = await bundled(["check", "--policy", l.policy, ...images]);
  ok(fast(quick), quick.stderr);
  const fromSource = await check(l, ["-j2", ...images]);
  assertEquals(plain(quick), plain(fromSource));
  assertEquals(plain(first).stdout, plain(fromSource).stdout.replaceAll(" (cached)", ""));
  // The entry answers `--version` alone, with the program's own line.
  const version = await bundled(["--version"]);
  assertEquals(version.code, 0, version.stderr);
  assertEquals(version.stdout, (await runCli(["--version"])).stdout);
  const usage = await bundled(["check", "--bogus"]);
  assertEquals(usage.code, 2, usage.stderr);
});
