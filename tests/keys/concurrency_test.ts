/**
 * Keyring safety under concurrency and crashes, with real processes:
 *
 * - 20 `siftrust key import` processes at once into one empty keyring all succeed, and the
 *   keyring then holds all 20 keys, byte for byte;
 * - 10 imports racing 10 removes of other keys lose nothing that was not removed;
 * - a `key import` SIGKILLed at many moments (before, during and after its write) leaves a
 *   keyring that parses and holds exactly the old keys, or the old keys and the new one.
 *
 * The keys are gpg's (legacy Ed25519, fast to make), and openpgp.js's for the large keyring.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { parseKeyring, readKeyringFile } from "../../core/keys/mod.ts";
import { keyringBytes } from "../../core/keys/store.ts";
import { CLI_ENTRY, type CliResult, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { GpgHome, type GpgKey, type UserDirs, userDirs } from "../helpers/gpg.ts";
import { peerTest, REPO_ROOT } from "../helpers/peers.ts";
import { tempDir } from "../helpers/env.ts";

/** The CLI entry point, as tests/helpers/cli.ts chooses it. */
const ENTRY = CLI_ENTRY;

interface Made {
  key: GpgKey;
  /** Binary public key file. */
  file: string;
  /** Its bytes. */
  bytes: Uint8Array;
}

/** One gpg home; `count` Ed25519 keys made once, exported one per file. */
let gpgKeys: Promise<{ home: GpgHome; keys: Made[] }> | undefined;

function madeKeys(): Promise<{ home: GpgHome; keys: Made[] }> {
  gpgKeys ??= (async () => {
    const home = await GpgHome.create();
    const keys: Made[] = [];
    for (let i = 0; i < 45; i++) {
      const key = await home.generate("ed25519");
      const file = await home.exportPublic([key], join(home.dir, `key-${i}.gpg`));
      keys.push({ key, file, bytes: await Deno.readFile(file) });
    }
    return { home, keys };
  })();
  return gpgKeys;
}

const pgpPublic = (user: UserDirs) => join(user.keysDir, "pgp-public");

function succeeded(result: CliResult, what: string): void {
  assertEquals(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
}

/** The keyring's blocks by fingerprint (and the order of the fingerprints). */
async function blocksByFingerprint(path: string) {
  const ring = await readKeyringFile(path);
  assertEquals(ring.skipped, [], "every key parses");
  const map = new Map<string, Uint8Array>();
  for (const { key, raw } of ring.keys) {
    const fingerprint = key.fingerprint;
    ok(!map.has(fingerprint), `${fingerprint} is in the keyring twice`);
    map.set(fingerprint, raw);
  }
  return map;
}

/** Names in the key folder other than the keyrings. */
const strays = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((name) =>
    name !== "pgp-public" && name !== "pgp-secret"
  );

peerTest("20 concurrent key imports into one empty keyring all succeed; it holds all 20", [
  "gpg",
], async () => {
  const { home, keys } = await madeKeys();
  const root = join(home.dir, "twenty");
  const base = await userDirs(root);
  // The key folder does not exist yet: the processes also race to create it.
  const user = { ...base, keysDir: join(root, "new-keys") };
  user.env = { ...base.env, APPTAINER_KEYSDIR: user.keysDir };
  const twenty = keys.slice(0, 20);
  const results = await Promise.all(
    twenty.map(({ file }) => runCli(["key", "import", file], { env: user.env })),
  );
  results.forEach((result, i) => {
    succeeded(result, `import ${i}`);
    assertEquals(
      result.stdout,
      `Key with fingerprint ${
        twenty[i].key.fingerprint
      } successfully added to the public keyring\n`,
    );
  });
  const blocks = await blocksByFingerprint(pgpPublic(user));
  assertEquals(blocks.size, 20);
  for (const { key, bytes } of twenty) assertEquals(blocks.get(key.fingerprint), bytes);
  assertEquals((await readKeyringFile(join(user.keysDir, "pgp-secret"))).blocks, []);
  assertEquals(strays(user.keysDir), [], "no temporary file left");
  assertEquals((await Deno.stat(user.keysDir)).mode! & 0o777, 0o700);
  assertEquals((await Deno.stat(pgpPublic(user))).mode! & 0o777, 0o600);
});

peerTest("10 imports racing 10 removes of other keys: nothing is lost that was not removed", [
  "gpg",
], async () => {
  const { home, keys } = await madeKeys();
  const user = await userDirs(join(home.dir, "race"));
  const removed = keys.slice(20, 30);
  const kept = keys.slice(30, 35);
  const added = keys.slice(35, 45);
  // Kept keys sit between removed ones, so every removal rewrites around them.
  const existing = [...removed.slice(0, 5), ...kept, ...removed.slice(5)];
  await Deno.writeFile(pgpPublic(user), keyringBytes(existing.map((k) => k.bytes)), {
    mode: 0o600,
  });
  const runs: Promise<[string, CliResult]>[] = [];
  for (let i = 0; i < 10; i++) {
    runs.push(
      runCli(["key", "import", added[i].file], { env: user.env }).then((r) => [`import ${i}`, r]),
    );
    runs.push(
      runCli(["key", "remove", removed[i].key.fingerprint], { env: user.env }).then((
        r,
      ) => [`remove ${i}`, r]),
    );
  }
  for (const [what, result] of await Promise.all(runs)) succeeded(result, what);
  const blocks = await blocksByFingerprint(pgpPublic(user));
  assertEquals(
    [...blocks.keys()].sort(),
    [...kept, ...added].map((k) => k.key.fingerprint).sort(),
  );
  for (const { key, bytes } of [...kept, ...added]) {
    assertEquals(blocks.get(key.fingerprint), bytes);
  }
  assertEquals(
    [...blocks.keys()].slice(0, 5),
    kept.map((k) => k.key.fingerprint),
    "the kept keys keep their order, before the added ones",
  );
  assertEquals(strays(user.keysDir), []);
});

/**
 * SIGKILL during `key import` into a large keyring (300 keys). A run is killed either a
 * moment after its temporary file appears (the write is under way) or at a delay after it
 * starts, spread around the time a whole import takes. After each kill the keyring must
 * parse and hold the old keys, or the old keys and the new one — nothing else. Temporary
 * files a kill leaves behind (`.pgp-public.<uuid>.tmp`) are tolerated but counted and
 * reported, then removed.
 */
Deno.test("key import killed with SIGKILL at many moments leaves the old keyring whole (or the new one)", async () => {
  await using rootTemp = await tempDir("siftrust-kill-");
  const root = rootTemp.dir;
  const user = await userDirs(root);
  const make = async (i: number) =>
    (await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name: `Key ${i}`, email: `key${i}@example.org` }],
      format: "binary",
    })).publicKey;
  const old: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) old.push(await make(i));
  await Deno.writeFile(pgpPublic(user), keyringBytes(old), { mode: 0o600 });
  await Deno.writeFile(join(user.keysDir, "pgp-secret"), new Uint8Array(), { mode: 0o600 });
  const newKeys: string[] = [];
  for (let i = 0; i < 17; i++) {
    const file = join(root, `new-${i}.gpg`);
    await Deno.writeFile(file, await make(1000 + i));
    newKeys.push(file);
  }

  const spawn = (file: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSIONS, ENTRY, "key", "import", file],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1", DENO_DIR, ...user.env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();

  // Calibration: one whole import, unkilled.
  const started = performance.now();
  const calibration = await spawn(newKeys[16]).output();
  const whole = performance.now() - started;
  assertEquals(calibration.code, 0, new TextDecoder().decode(calibration.stderr));

  const outcomes: string[] = [];
  let leftovers = 0;
  for (let i = 0; i < 15; i++) {
    const before = await Deno.readFile(pgpPublic(user));
    const added = await Deno.readFile(newKeys[i]);
    const child = spawn(newKeys[i]);
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    let trigger: string;
    if (i % 2 === 0) {
      // Wait for the temporary file, then a little longer (0 to 7 ms).
      const deadline = performance.now() + 10_000;
      while (!exited && performance.now() < deadline && strays(user.keysDir).length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const wait = i / 2;
      const until = performance.now() + wait;
      while (performance.now() < until) { /* spin: timers are too coarse here */ }
      trigger = `temporary file + ${wait} ms`;
    } else {
      // A delay from the start, from 50% to 150% of a whole import.
      const delay = Math.round(whole * (0.4 + 0.08 * i));
      await new Promise((resolve) => setTimeout(resolve, delay));
      trigger = `${delay} ms after start`;
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // It had already finished.
    }
    const { signal, code } = await status;
    await child.stderr.cancel();
    const after = await Deno.readFile(pgpPublic(user));
    const ring = await parseKeyring(after);
    assertEquals(ring.skipped, [], `run ${i} (${trigger}): every key parses`);
    const wasOld = equalBytes(after, before);
    const isNew = equalBytes(after, keyringBytes([before, added]));
    ok(
      wasOld || isNew,
      `run ${i} (${trigger}, ${signal ?? `exit ${code}`}): the keyring is neither the old ` +
        `one (${before.length} bytes) nor the old one plus the new key (${after.length} bytes)`,
    );
    if (signal === null) assertEquals([code, isNew], [0, true], `run ${i} finished`);
    const left = strays(user.keysDir);
    for (const name of left) {
      ok(/^\.pgp-public\.[0-9a-f-]{36}\.tmp$/.test(name), `run ${i}: unexpected file ${name}`);
      await Deno.remove(join(user.keysDir, name));
    }
    leftovers += left.length;
    outcomes.push(`${trigger}: ${signal ?? "finished"}, ${isNew ? "new" : "old"} keyring`);
  }
  console.log(
    `SIGKILL runs (a whole import takes ${Math.round(whole)} ms):\n  ${outcomes.join("\n  ")}\n` +
      `temporary files left behind by killed runs: ${leftovers}`,
  );
  ok(outcomes.some((o) => o.includes("SIGKILL")), "at least one run was killed");

  // The lock died with the processes: one more import goes through, and nothing was lost.
  const last = await runCli(["key", "import", newKeys[15]], { env: user.env });
  succeeded(last, "import after the kills");
  const final = await parseKeyring(await Deno.readFile(pgpPublic(user)));
  ok(final.keys.length >= 302, `${final.keys.length} keys`);
  assertEquals(final.blocks.slice(0, 300), old, "the 300 old keys, byte for byte");
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
