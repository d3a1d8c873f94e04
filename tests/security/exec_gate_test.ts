/**
 * `siftrust exec` as a gate (docs/security.md): it checks the container that the runtime will
 * start and nothing else, runs the runtime on that very file, and refuses an image that anyone
 * but root can rewrite in place while the runtime starts, unless the policy's
 * `exec.copy-writable` folder takes a copy. The invoking user is `nobody` (setpriv); the
 * runtime is a stand-in named `apptainer` that runs `$FAKE_SCRIPT` with its arguments.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { CliResult } from "../helpers/cli.ts";
import { runCli } from "../helpers/cli.ts";
import { CAN_DROP_PRIVILEGES, NOBODY, runCliAsNobody } from "../helpers/unprivileged.ts";
import { giveToNobody, type Lab, lab, SIGNED, UNSIGNED } from "./lab.ts";

const FD3 = "/proc/self/fd/3";

/** Puts the stand-in runtime (root-owned, 0755) in the lab and the two images (root-owned). */
async function setUp(l: Lab): Promise<{ runtime: string; trusted: string; evil: string }> {
  await Deno.mkdir(`${l.dir}/bin`, { mode: 0o755 });
  const runtime = `${l.dir}/bin/apptainer`;
  await Deno.writeTextFile(runtime, '#!/bin/sh\nexec /bin/sh -c "$FAKE_SCRIPT" apptainer "$@"\n');
  await Deno.chmod(runtime, 0o755);
  for (const [from, name] of [[SIGNED, "trusted.sif"], [UNSIGNED, "evil.sif"]]) {
    await Deno.copyFile(from, `${l.dir}/${name}`);
    await Deno.chmod(`${l.dir}/${name}`, 0o644);
  }
  return { runtime, trusted: `${l.dir}/trusted.sif`, evil: `${l.dir}/evil.sif` };
}

/** `siftrust exec --policy P -- COMMAND…` as nobody; the runtime records its arguments. */
function execAsNobody(
  l: Lab,
  command: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return runCliAsNobody(["exec", "--policy", l.policy, "--", ...command], {
    home: l.home,
    cwd: l.user,
    env: { FAKE_SCRIPT: `printf '%s\\n' "$@" > ${l.user}/ran`, ...env },
  });
}

async function ran(l: Lab): Promise<string[] | undefined> {
  try {
    return (await Deno.readTextFile(`${l.user}/ran`)).trimEnd().split("\n");
  } catch {
    return undefined;
  }
}

const context = (result: CliResult) => `exit ${result.code}\n${result.stderr}`;

/** Refused: the exit code, one ERROR line, and the runtime never started. */
async function assertRefused(l: Lab, result: CliResult, code: number, words: RegExp) {
  assert.equal(result.code, code, context(result));
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("ERROR:"));
  assert.equal(errors.length, 1, context(result));
  assert.match(errors[0], words, context(result));
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m, context(result));
  assert.equal(await ran(l), undefined, "the runtime ran");
}

Deno.test({
  name: "exec checks the container the runtime starts, not a value of a flag",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const { runtime, trusted, evil } = await setUp(l);
    // -B takes a value: the runtime would start evil.sif.
    const attack = await execAsNobody(l, [runtime, "exec", "-B", trusted, evil, "id"]);
    await assertRefused(l, attack, 1, /evil\.sif is not trusted/);
    assert.match(attack.stderr, /^DENY .*evil\.sif/m);
    // The other way round runs trusted.sif as fd 3 and leaves the flag's value alone.
    const fine = await execAsNobody(l, [runtime, "exec", "-B", evil, trusted, "id"]);
    assert.equal(fine.code, 0, context(fine));
    assert.deepEqual(await ran(l), ["exec", "-B", evil, FD3, "id"]);
  },
});

Deno.test({
  name: "exec refuses sources that are not a SIF file: a sandbox folder, URIs, --sharens",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const { runtime, trusted } = await setUp(l);
    await Deno.mkdir(`${l.dir}/sandbox/bin`, { recursive: true });
    await assertRefused(
      l,
      await execAsNobody(l, [runtime, "run", `${l.dir}/sandbox`]),
      3,
      /sandbox: is a directory/,
    );
    for (const uri of ["docker://alpine", "oras://example.org/x:1", "instance://mine"]) {
      await assertRefused(l, await execAsNobody(l, [runtime, "run", uri]), 2, /not running/);
    }
    await assertRefused(
      l,
      await execAsNobody(l, [runtime, "exec", "--sharens", trusted, "id"]),
      2,
      /--sharens is refused/,
    );
    await assertRefused(
      l,
      await execAsNobody(l, [runtime, "exec", trusted, "id"], { APPTAINER_SHARENS: "1" }),
      2,
      /APPTAINER_SHARENS is set/,
    );
    await assertRefused(
      l,
      await execAsNobody(l, ["/bin/sh", "-c", "id", trusted]),
      2,
      /is not apptainer or singularity/,
    );
  },
});

Deno.test({
  name: "exec refuses an image that the user or a group can rewrite in place",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const { runtime, trusted } = await setUp(l);
    // The user's own copy of a signed image: they could rewrite it while the runtime starts.
    await giveToNobody(SIGNED, `${l.user}/mine.sif`);
    await assertRefused(
      l,
      await execAsNobody(l, [runtime, "exec", `${l.user}/mine.sif`, "id"]),
      1,
      /can be rewritten while it runs by its owner \(uid 65534\).*siftrust admit/,
    );
    // Root's, but group-writable.
    await Deno.chmod(trusted, 0o664);
    await assertRefused(
      l,
      await execAsNobody(l, [runtime, "exec", trusted, "id"]),
      1,
      /its group \(gid 0\)/,
    );
  },
});

Deno.test({
  name:
    "exec.copy-writable: the copy is checked and run, and rewriting the original changes nothing",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab(`exec:\n  copy-writable: COPIES\n`);
    const copies = `${l.dir}/copies`;
    await Deno.writeTextFile(
      l.policy,
      (await Deno.readTextFile(l.policy)).replace("COPIES", copies),
    );
    await Deno.mkdir(copies, { mode: 0o755 });
    const { runtime } = await setUp(l);
    const image = `${l.user}/mine.sif`;
    await giveToNobody(SIGNED, image);
    // The gate runs as root through sudo, and starts the runtime as the user who invoked it.
    // While the runtime starts, the user rewrites the original in place (same inode) with the
    // unsigned image; the runtime reads the checked copy.
    const sudo = { SUDO_UID: String(NOBODY), SUDO_GID: String(NOBODY) };
    const script = [
      `cat ${UNSIGNED} > ${image}`,
      `cmp -s ${image} ${UNSIGNED} && echo original-rewritten`,
      `cmp -s "$2" ${SIGNED} && echo runs-the-checked-copy`,
      `echo "$2"`,
      "id -u",
    ].join("; ");
    const result = await runCli(
      ["exec", "--policy", l.policy, "--", runtime, "exec", image, "id"],
      {
        env: { ...l.env, ...sudo, FAKE_SCRIPT: script },
      },
    );
    assert.equal(result.code, 0, context(result));
    assert.equal(
      result.stdout,
      `original-rewritten\nruns-the-checked-copy\n${FD3}\n${NOBODY}\n`,
      result.stderr,
    );
    assert.deepEqual([...Deno.readDirSync(copies)], [], "the copy was left behind");
    // Now the original is unsigned: its copy is denied and does not run.
    const denied = await runCli(
      ["exec", "--policy", l.policy, "--", runtime, "exec", image, "id"],
      {
        env: { ...l.env, FAKE_SCRIPT: "echo ran" },
      },
    );
    assert.equal(denied.code, 1, context(denied));
    assert.equal(denied.stdout, "");
    assert.match(denied.stderr, new RegExp(`^DENY +${copies}/mine\\.sif`, "m"));
    assert.deepEqual([...Deno.readDirSync(copies)], [], "the copy was left behind");
    // A copy folder others can write is refused.
    await Deno.chmod(copies, 0o777);
    const open = await runCli(["exec", "--policy", l.policy, "--", runtime, "exec", image, "id"], {
      env: { ...l.env, FAKE_SCRIPT: "echo ran" },
    });
    assert.equal(open.code, 2, context(open));
    assert.match(open.stderr, /copy-writable .* can be written by its group or others/);
  },
});

Deno.test({
  name: "exec through sudo runs the runtime as the user, and not on an image they cannot read",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const { runtime, trusted } = await setUp(l);
    const sudo = { SUDO_UID: String(NOBODY), SUDO_GID: String(NOBODY) };
    const run = () =>
      runCli(["exec", "--policy", l.policy, "--", runtime, "exec", trusted, "id"], {
        env: { ...l.env, ...sudo, FAKE_SCRIPT: "id -u" },
      });
    const readable = await run();
    assert.equal(readable.code, 0, context(readable));
    assert.equal(readable.stdout, `${NOBODY}\n`);
    // Root can read a mode-0600 image; the user cannot, so it does not run for them.
    await Deno.chmod(trusted, 0o600);
    const secret = await run();
    assert.equal(secret.code, 1, context(secret));
    assert.equal(secret.stdout, "");
    assert.match(secret.stderr, /^ERROR: +.*trusted\.sif: user 65534 cannot read it/m);
  },
});
