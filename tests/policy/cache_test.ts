/**
 * The verify-once cache of `siftrust check`: a hit when nothing changed; a miss when the image,
 * the policy or a keyring changes; `--no-cache`; corrupt or forged entries are never trusted;
 * a cache that cannot be written only warns; and a cached answer never outlives the trust it
 * recorded (a signer's `expires`, a key's expiry).
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import type * as openpgp from "openpgp";
import { signImage } from "../../core/integrity/mod.ts";
import { SifImage } from "../../core/sif/mod.ts";
import { checkImage, type CheckResult, loadPolicy, policyKeys } from "../../policy/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { type TestEnv, testEnv } from "../helpers/env.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { buildImage } from "../helpers/images.ts";
import { fingerprintOf as fp, newKey } from "../helpers/keys.ts";

/** A run context with an empty environment: no keyrings or caches of the test user. */
const NO_ENV = { env: {}, uid: 0, euid: 0 };

const alice = await newKey("alice");
const bob = await newKey("bob");

async function writeKeyring(path: string, keys: openpgp.PrivateKey[]): Promise<void> {
  await Deno.writeFile(path, Uint8Array.from(keys.flatMap((k) => [...k.toPublic().write()])));
}

/** An image with one group (a definition file and a partition of `size` random bytes). */
async function makeImage(path: string, size = 4096): Promise<string> {
  return await buildImage(path, {
    partition: size <= 65536
      ? crypto.getRandomValues(new Uint8Array(size))
      : new Uint8Array(size).fill(0x5a),
  });
}

/**
 * Waits into the next second. The cache keeps nothing about an image changed in the current
 * second (file change times have a one-second resolution), so tests that expect a hit let a
 * second pass after changing an image.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
}

async function sign(path: string, key: openpgp.PrivateKey): Promise<void> {
  using image = await SifImage.open(path, { write: true });
  await signImage(image, { kind: "pgp", key: wrapKey(key) });
}

interface Lab extends TestEnv {
  policy: string;
  /** Signed by alice: allowed. */
  allowed: string;
  /** Unsigned: denied. */
  denied: string;
  /** Where the CLI keeps decisions. */
  entries: string;
}

/**
 * A policy trusting alice (keys from keyring.gpg beside it, offline; `mode` enforce unless
 * given) and two images.
 */
async function lab(signers: Record<string, unknown> = {}, mode = "enforce"): Promise<Lab> {
  const box = await testEnv("siftrust-cache-");
  const dir = box.dir;
  await writeKeyring(`${dir}/keyring.gpg`, [alice]);
  const policy = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      version: 1,
      mode,
      signers: { alice: { fingerprint: fp(alice) }, bob: { fingerprint: fp(bob) }, ...signers },
      keys: { files: ["keyring.gpg"], local: false, offline: true },
    }) + "\n",
  );
  const allowed = await makeImage(`${dir}/allowed.sif`);
  await sign(allowed, alice);
  const denied = await makeImage(`${dir}/denied.sif`);
  await settle();
  return { ...box, policy, allowed, denied, entries: `${dir}/cache/siftrust/decisions` };
}

interface Checked {
  code: number;
  stderr: string;
  results: { image: string; decision: string; exitCode: number; cached: boolean }[];
}

/** `siftrust check --json` in the lab's environment. */
async function check(l: Lab, images: string[], flags: string[] = [], env = {}): Promise<Checked> {
  const result = await runCli(["check", "--json", ...flags, "--policy", l.policy, ...images], {
    env: { ...l.env, ...env },
  });
  ok(result.stdout !== "", `no JSON (exit ${result.code}):\n${result.stderr}`);
  return { code: result.code, stderr: result.stderr, results: JSON.parse(result.stdout).results };
}

const cachedFlags = (c: Checked) => c.results.map((r) => r.cached);

/** The names of the cache's entries. */
async function entryNames(folder: string): Promise<string[]> {
  try {
    // `setup-*` files are the fast path's (policy/check_setup.ts), not decisions.
    return (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name)
      .filter((name) => !name.startsWith("setup-")).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

Deno.test("nothing changed: the second check is a hit, in text and in JSON", async () => {
  await using l = await lab();
  const first = await check(l, [l.allowed, l.denied]);
  assertEquals(first.code, 1);
  assertEquals(cachedFlags(first), [false, false]);
  assertEquals((await entryNames(l.entries)).length, 2);
  const second = await check(l, [l.allowed, l.denied]);
  assertEquals(second.code, 1);
  assertEquals(cachedFlags(second), [true, true]);
  assertEquals(
    second.results.map((r) => [r.decision, r.exitCode]),
    first.results.map((r) => [r.decision, r.exitCode]),
  );
  const textRun = await runCli(["check", "--policy", l.policy, l.allowed, l.denied], {
    env: l.env,
  });
  assertEquals(textRun.code, 1);
  match(textRun.stdout, /^ALLOW {2}.*allowed\.sif.*\(cached\)/m);
  match(textRun.stdout, /^DENY .*denied\.sif.*\(cached\)/m);
});

Deno.test("an entry keeps the decision and the mode, not an exit code (format 3)", async () => {
  await using l = await lab({}, "warn");
  const first = await check(l, [l.denied]);
  assertEquals(first.results.map((r) => [r.decision, r.exitCode, r.cached]), [["deny", 0, false]]);
  const [name] = await entryNames(l.entries);
  const entry = JSON.parse(await Deno.readTextFile(`${l.entries}/${name}`));
  assertEquals(entry.format, 3);
  assertEquals([entry.decision.decision, entry.decision.mode], ["deny", "warn"]);
  ok(!("exitCode" in entry.decision), JSON.stringify(entry.decision));
  assertEquals(entry.decision.reasons.map((r: { kind: string }) => r.kind), ["group-signers"]);
  // The exit code of a cached deny comes from its mode, as a fresh one's does.
  const second = await check(l, [l.denied]);
  assertEquals(second.code, 0, second.stderr);
  assertEquals(second.results.map((r) => [r.decision, r.exitCode, r.cached]), [["deny", 0, true]]);
  assertEquals(second.results, first.results.map((r) => ({ ...r, cached: true })));
});

Deno.test("a hit does not hash the image again: it is fast", async () => {
  await using l = await lab();
  const big = await makeImage(`${l.dir}/big.sif`, 96 << 20);
  await sign(big, alice);
  await settle();
  const policy = await loadPolicy(l.policy);
  const keys = await policyKeys(policy, NO_ENV, () => {
    throw new Error("offline");
  });
  const context = { policy, keys, cacheDir: `${l.dir}/cache` };
  const timed = async (): Promise<[CheckResult, number]> => {
    const start = performance.now();
    const result = await checkImage(big, context);
    return [result, performance.now() - start];
  };
  const [miss, missTime] = await timed();
  const [hit, hitTime] = await timed();
  assertEquals([miss.cached, miss.decision.decision], [false, "allow"]);
  assertEquals([hit.cached, hit.decision.decision], [true, "allow"]);
  assertEquals(hit.imageDigest, miss.imageDigest);
  ok(hitTime < missTime / 4, `a hit took ${hitTime} ms, the check ${missTime} ms`);
});

Deno.test("touching the image misses", async () => {
  await using l = await lab();
  await check(l, [l.allowed]);
  assertEquals(cachedFlags(await check(l, [l.allowed])), [true]);
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(l.allowed, later, later);
  await settle();
  const touched = await check(l, [l.allowed]);
  assertEquals(cachedFlags(touched), [false]);
  assertEquals(touched.results[0].decision, "allow");
  assertEquals(cachedFlags(await check(l, [l.allowed])), [true]);
});

Deno.test("rewriting the image's bytes, size and times kept, misses", async () => {
  await using l = await lab();
  const policy = await loadPolicy(l.policy);
  const keys = await policyKeys(policy, NO_ENV, () => {
    throw new Error("offline");
  });
  const context = { policy, keys, cacheDir: `${l.dir}/cache` };
  // All within one second: file times of a coarse resolution must not hide the change.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  const image = await makeImage(`${l.dir}/same-second.sif`);
  await sign(image, alice);
  const first = await checkImage(image, context);
  assertEquals([first.decision.decision, first.cached], ["allow", false]);
  const { mtime, atime } = await Deno.stat(image);
  {
    using sif = await SifImage.open(image);
    const offset = sif.descriptor(2)!.offset;
    using file = await Deno.open(image, { write: true });
    await file.seek(offset, Deno.SeekMode.Start);
    await file.write(Uint8Array.of(0x42, 0x42, 0x42, 0x42));
  }
  await Deno.utime(image, atime!, mtime!);
  const tampered = await checkImage(image, context);
  assertEquals(
    [tampered.decision.decision, tampered.cached],
    ["deny", false],
    "a changed image was allowed from the cache",
  );
});

Deno.test("changing the policy file misses", async () => {
  await using l = await lab();
  await check(l, [l.allowed, l.denied]);
  await Deno.writeTextFile(l.policy, "# reviewed\n", { append: true });
  assertEquals(cachedFlags(await check(l, [l.allowed, l.denied])), [false, false]);
  // A real change takes effect at once: bob alone is now required.
  const text = JSON.parse((await Deno.readTextFile(l.policy)).replace(/^#.*$/m, ""));
  text.require = { "signed-by": { "any-of": ["bob"] } };
  await Deno.writeTextFile(l.policy, JSON.stringify(text));
  const stricter = await check(l, [l.allowed]);
  assertEquals(stricter.results.map((r) => [r.decision, r.cached]), [["deny", false]]);
});

Deno.test("changing a keyring file named in keys.files misses", async () => {
  await using l = await lab();
  await check(l, [l.allowed]);
  assertEquals(cachedFlags(await check(l, [l.allowed])), [true]);
  // The same keys written again: the same contents, so it still hits.
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice]);
  const rewritten = await check(l, [l.allowed]);
  assertEquals(rewritten.results.map((r) => [r.decision, r.cached]), [["allow", true]]);
  // Alice's key removed: the cached allow must not survive.
  await writeKeyring(`${l.dir}/keyring.gpg`, [bob]);
  const removed = await check(l, [l.allowed]);
  assertEquals(removed.code, 4);
  assertEquals(removed.results.map((r) => [r.decision, r.cached]), [["deny", false]]);
});

Deno.test("a key file replaced by one of the same size and times misses", async () => {
  await using l = await lab();
  const keyring = `${l.dir}/keyring.gpg`;
  await check(l, [l.allowed]);
  assertEquals(cachedFlags(await check(l, [l.allowed])), [true]);
  // Same size, same modification time, one byte different (in place: same inode; only the
  // change time, which no one can set back, tells it apart by `stat`).
  const before = await Deno.stat(keyring);
  const bytes = await Deno.readFile(keyring);
  bytes[bytes.length - 1] ^= 0x01;
  const file = await Deno.open(keyring, { write: true });
  await file.write(bytes);
  file.close();
  await Deno.utime(keyring, before.atime!, before.mtime!);
  const after = await Deno.stat(keyring);
  assertEquals([after.size, after.mtime, after.ino], [before.size, before.mtime, before.ino]);
  const replaced = await check(l, [l.allowed]);
  assertEquals(replaced.results.map((r) => r.cached), [false], replaced.stderr);
});

Deno.test("--no-cache never reads nor writes the cache", async () => {
  await using l = await lab();
  const fresh = await check(l, [l.allowed, l.denied], ["--no-cache"]);
  assertEquals(cachedFlags(fresh), [false, false]);
  assertEquals(await entryNames(l.entries), [], "nothing written");

  await check(l, [l.allowed, l.denied]);
  const names = await entryNames(l.entries);
  assertEquals(names.length, 2);
  // Junk in every entry: a run that read them would warn.
  for (const name of names) await Deno.writeTextFile(`${l.entries}/${name}`, "junk");
  const before = await Promise.all(names.map((n) => Deno.stat(`${l.entries}/${n}`)));
  const again = await check(l, [l.allowed, l.denied], ["--no-cache"]);
  assertEquals(again.results.map((r) => [r.decision, r.cached]), [
    ["allow", false],
    ["deny", false],
  ]);
  ok(!/cache/i.test(again.stderr), `--no-cache looked at the cache:\n${again.stderr}`);
  const after = await Promise.all(names.map((n) => Deno.stat(`${l.entries}/${n}`)));
  assertEquals(after.map((s) => s.mtime), before.map((s) => s.mtime), "nothing rewritten");
  for (const name of names) assertEquals(await Deno.readTextFile(`${l.entries}/${name}`), "junk");
});

Deno.test("a corrupt cache entry is ignored with a warning, and replaced", async () => {
  await using l = await lab();
  await check(l, [l.denied]);
  const [name] = await entryNames(l.entries);
  for (const junk of ["", "{", "null", '{"format":1}', "\u0000\u0001binary"]) {
    await Deno.writeTextFile(`${l.entries}/${name}`, junk);
    const result = await check(l, [l.denied]);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(result.results.map((r) => [r.decision, r.cached]), [["deny", false]]);
    match(result.stderr, /^WARNING: .*corrupt cache entry/m);
  }
  const healed = await check(l, [l.denied]);
  assertEquals(healed.results.map((r) => [r.decision, r.cached]), [["deny", true]]);
  assertEquals(healed.stderr, "");
});

Deno.test("a forged allow entry whose key does not match is never trusted", async () => {
  await using l = await lab();
  await check(l, [l.allowed]);
  const [allowedEntry] = await entryNames(l.entries);
  await check(l, [l.denied]);
  const deniedEntry = (await entryNames(l.entries)).find((n) => n !== allowedEntry)!;
  const original = JSON.parse(await Deno.readTextFile(`${l.entries}/${deniedEntry}`));
  assertEquals(original.decision.decision, "deny");

  const forgeries = {
    // The allowed image's entry, copied over the denied image's.
    copied: await Deno.readTextFile(`${l.entries}/${allowedEntry}`),
    // The denied image's own entry, turned into an allow under another key.
    edited: JSON.stringify({
      ...original,
      key: "0".repeat(64),
      decision: { ...original.decision, decision: "allow", reasons: [], hints: [] },
    }),
  };
  for (const [how, forged] of Object.entries(forgeries)) {
    await Deno.writeTextFile(`${l.entries}/${deniedEntry}`, forged);
    const result = await check(l, [l.denied]);
    assertEquals(result.code, 1, `${how}: ${result.stderr}`);
    assertEquals(result.results.map((r) => [r.decision, r.cached]), [["deny", false]], how);
    match(result.stderr, /^WARNING: .*cache entry/m, how);
  }
});

Deno.test("a cache that cannot be written warns, and the check still works", async () => {
  await using l = await lab();
  // As root, permissions do not stop writes: a regular file where a folder must be does.
  await Deno.writeTextFile(`${l.dir}/not-a-folder`, "");
  const blocked = await check(l, [l.allowed, l.denied], [], {
    XDG_CACHE_HOME: `${l.dir}/not-a-folder/cache`,
    SIFTRUST_CACHEDIR: `${l.dir}/not-a-folder/cache/siftrust`,
  });
  assertEquals(blocked.code, 1);
  assertEquals(blocked.results.map((r) => [r.decision, r.cached]), [
    ["allow", false],
    ["deny", false],
  ]);
  match(blocked.stderr, /^WARNING: .*cache/m);
  ok(!/internal error/.test(blocked.stderr), blocked.stderr);

  if (Deno.uid() !== 0) {
    await Deno.mkdir(l.entries, { recursive: true });
    await Deno.chmod(l.entries, 0o500);
    try {
      const readOnly = await check(l, [l.allowed]);
      assertEquals(readOnly.code, 0);
      assertEquals(readOnly.results.map((r) => [r.decision, r.cached]), [["allow", false]]);
      match(readOnly.stderr, /^WARNING: .*cannot write the cache/m);
    } finally {
      await Deno.chmod(l.entries, 0o700);
    }
  }
});

Deno.test("a decision that waited for a missing key is not kept", async () => {
  await using l = await lab();
  const byBob = await makeImage(`${l.dir}/bob.sif`);
  await sign(byBob, bob);
  const first = await check(l, [byBob]);
  assertEquals(first.code, 4);
  const second = await check(l, [byBob]);
  assertEquals(second.results.map((r) => [r.decision, r.exitCode, r.cached]), [["deny", 4, false]]);
});

// ---------------------------------------------------------------------------------------------
// time: a cached allow must not outlive the trust it was based on

async function decideAt(l: Lab, image: string, now: Date): Promise<CheckResult> {
  const policy = await loadPolicy(l.policy);
  const keys = await policyKeys(policy, NO_ENV, () => {
    throw new Error("offline");
  });
  return await checkImage(image, { policy, keys, cacheDir: `${l.dir}/cache`, now });
}

Deno.test("a cached allow does not outlive the signer's expires day", async () => {
  await using l = await lab({ alice: { fingerprint: fp(alice), expires: "2099-06-30" } });
  const lastDay = await decideAt(l, l.allowed, new Date("2099-06-30T12:00:00Z"));
  assertEquals([lastDay.decision.decision, lastDay.cached], ["allow", false]);
  const sameDay = await decideAt(l, l.allowed, new Date("2099-06-30T13:00:00Z"));
  assertEquals([sameDay.decision.decision, sameDay.cached], ["allow", true]);
  const after = await decideAt(l, l.allowed, new Date("2099-07-01T00:00:01Z"));
  assertEquals(after.decision.decision, "deny", "trusted from the cache after expires passed");
});

Deno.test("a cached allow does not outlive the signing key's expiry", async () => {
  const shortLived = await newKey("short", { keyExpirationTime: 7 * 86_400 });
  await using l = await lab({ short: { fingerprint: fp(shortLived) } });
  await writeKeyring(`${l.dir}/keyring.gpg`, [alice, shortLived]);
  const image = await makeImage(`${l.dir}/short.sif`);
  await sign(image, shortLived);
  await settle();
  const now = await decideAt(l, image, new Date());
  assertEquals([now.decision.decision, now.cached], ["allow", false]);
  const inTwoWeeks = new Date(Date.now() + 14 * 86_400_000);
  const uncached = await checkImage(image, {
    policy: await loadPolicy(l.policy),
    keys: await policyKeys(await loadPolicy(l.policy), NO_ENV, () => {
      throw new Error("offline");
    }),
    now: inTwoWeeks,
  });
  assertEquals(uncached.decision.decision, "deny", "without the cache: the key has expired");
  const later = await decideAt(l, image, inTwoWeeks);
  assertEquals(later.decision.decision, "deny", "trusted from the cache after the key expired");
});
