/**
 * One open, no races (docs/security.md): an unprivileged user (`nobody`) swaps what root's
 * `check` reads while it reads it. A folder exchanged (`renameat2` RENAME_EXCHANGE) between
 * resolving and opening never leaves a cached ALLOW for the unsigned image; a FIFO swapped in
 * makes `check` exit 3 at once instead of blocking; a symlink at the last component is resolved
 * first and judged where its target is. Each attack runs for a few seconds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CLI_ENTRY, DENO_DIR, PERMISSIONS } from "../helpers/cli.ts";
import { CAN_DROP_PRIVILEGES, NOBODY, spawnAsNobody } from "../helpers/unprivileged.ts";
import {
  checker,
  exchanges,
  giveToNobody,
  type Lab,
  lab,
  sameBytes,
  SIGNED,
  startExchange,
  SWAP_SECONDS,
  UNSIGNED,
} from "./lab.ts";

Deno.test({
  name: "a folder exchanged during root's check never leaves an ALLOW for the unsigned image",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    for (const name of ["x", "y"]) {
      await Deno.mkdir(`${l.user}/${name}`);
      await Deno.chown(`${l.user}/${name}`, NOBODY, NOBODY);
    }
    await giveToNobody(SIGNED, `${l.user}/x/img.sif`);
    await giveToNobody(UNSIGNED, `${l.user}/y/img.sif`);
    // The cache only keeps entries of images unchanged for a second (policy/cache.ts).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const cache = `${l.dir}/cache`;
    const check = await checker(l, cache);
    const swapper = await startExchange(l, `${l.user}/x`, `${l.user}/y`);
    const seen = { allow: 0, deny: 0, error: 0 };
    const end = Date.now() + SWAP_SECONDS * 1000;
    while (Date.now() < end) {
      const result = await check(`${l.user}/x/img.sif`);
      seen[result.decision.decision]++;
      // The decision names the path the bytes were read from (the resolved path, checked to
      // name the open file): x or y, never a mix.
      assert.match(result.decision.image, /\/user\/[xy]\/img\.sif$/);
    }
    const count = await exchanges(swapper);
    assert.ok(count > 100, `only ${count} exchanges`);
    assert.ok(seen.allow + seen.deny > 10, JSON.stringify(seen));
    // Settled: whichever path now holds the unsigned image, the cache must not allow it, and
    // a fresh check (no cache) must agree with the cached one for both.
    const fresh = await checker(l);
    for (const name of ["x", "y"]) {
      const path = `${l.user}/${name}/img.sif`;
      const signed = await sameBytes(path, SIGNED);
      const cached = await check(path);
      const uncached = await fresh(path);
      assert.equal(cached.decision.decision, signed ? "allow" : "deny", `${name}: cached`);
      assert.equal(uncached.decision.decision, signed ? "allow" : "deny", `${name}: fresh`);
    }
  },
});

/**
 * Runs root's CLI (`check` by default) on `image`, killed after 20 s (a blocked open); returns
 * its exit code and the time.
 */
async function timedCheck(
  l: Lab,
  image: string,
  command = ["check", "--policy", l.policy],
): Promise<{ code: number; ms: number; killed: boolean }> {
  const start = Date.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, CLI_ENTRY, ...command, image],
    env: { NO_COLOR: "1", DENO_DIR, ...l.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(20_000),
  }).output();
  return { code: out.code, ms: Date.now() - start, killed: out.signal !== null };
}

/** {@linkcode timedCheck}, failing the test when it was killed (a blocked open). */
async function boundedCheck(
  l: Lab,
  image: string,
  command?: string[],
): Promise<{ code: number; ms: number }> {
  const result = await timedCheck(l, image, command);
  assert.ok(!result.killed, `${image}: blocked for 20 s`);
  return result;
}

Deno.test({
  name: "a FIFO in place of the image makes root's check exit 3 at once, also while swapped in",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const fifo = `${l.user}/pipe.sif`;
    const mkfifo = await spawnAsNobody(["mkfifo", fifo], { home: l.home });
    assert.ok((await mkfifo.output()).success);
    // A FIFO nobody writes to: opening it for reading would block forever without O_NONBLOCK.
    const still = await boundedCheck(l, fifo);
    assert.equal(still.code, 3, JSON.stringify(still));
    // verify and sif read images through the same opener.
    for (const command of [["verify"], ["sif", "list"]]) {
      const other = await boundedCheck(l, fifo, command);
      assert.equal(other.code, 3, `${command.join(" ")}: ${JSON.stringify(other)}`);
    }
    // Swapped with a signed image while root checks the image's path again and again.
    await giveToNobody(SIGNED, `${l.user}/img.sif`);
    const swapper = await startExchange(l, `${l.user}/img.sif`, fifo);
    const end = Date.now() + SWAP_SECONDS * 1000;
    while (Date.now() < end) {
      const { code } = await boundedCheck(l, `${l.user}/img.sif`);
      assert.ok(code === 0 || code === 3, `exit ${code}`);
    }
    assert.ok(await exchanges(swapper) > 100);
  },
});

Deno.test({
  name: "a symlink at the last component is resolved first and judged where its target is",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    // Images under trusted/ are allowed without a signature; the link lies there, its target
    // (unsigned) does not.
    await using l = await lab();
    // The example policy ends with its rules: one more item joins them.
    const policyText = await Deno.readTextFile(l.policy);
    await Deno.writeTextFile(
      l.policy,
      `${policyText}  - name: trusted\n    paths: ["${l.user}/trusted/**"]\n    action: allow\n`,
    );
    await Deno.mkdir(`${l.user}/trusted`);
    await giveToNobody(UNSIGNED, `${l.user}/unsigned.sif`);
    await Deno.symlink(`${l.user}/unsigned.sif`, `${l.user}/trusted/link.sif`);
    const check = await checker(l);
    const result = await check(`${l.user}/trusted/link.sif`);
    assert.equal(result.decision.decision, "deny");
    assert.equal(result.decision.image, `${l.user}/unsigned.sif`);
    // A link into trusted/ is judged there.
    await giveToNobody(UNSIGNED, `${l.user}/trusted/real.sif`);
    await Deno.symlink(`${l.user}/trusted/real.sif`, `${l.user}/in.sif`);
    const inward = await check(`${l.user}/in.sif`);
    assert.equal(inward.decision.decision, "allow");
    assert.equal(inward.decision.image, `${l.user}/trusted/real.sif`);
  },
});
