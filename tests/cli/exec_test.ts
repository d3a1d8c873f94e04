/**
 * `siftrust exec -- apptainer exec IMAGE COMMAND…` as a user runs it (a subprocess with the binary's
 * permissions): an allowed image runs as `/proc/self/fd/3` and the command's exit code is
 * siftrust's; a denied image does not run; the command gets the very file that was checked,
 * even when the path names another file by the time it runs; a symlink is judged by its
 * target's real path; warn mode, `--explain`, and the failures (no image, no such command).
 * The runtime is a stand-in named `apptainer` (a shell script) that runs the test's script
 * with the container argument it got as `$1`: what these tests check is what siftrust hands
 * the runtime. tests/security/ covers the command-line and file attacks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { testEnv } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { writeFakeRuntime } from "../helpers/runtime.ts";

const SIGNED = `${REPO_ROOT}examples/example-signed.sif`;
const UNSIGNED = `${REPO_ROOT}examples/example.sif`;
const FD3 = "/proc/self/fd/3";

/** A throw-away folder (its real path) with the example policy, its key and the images. */
interface Sandbox {
  dir: string;
  /** The copied example policy (enforce mode). */
  policy: string;
  /** A copy of example-signed.sif (allowed). */
  signed: string;
  /** A copy of example.sif (unsigned, denied). */
  unsigned: string;
  /** HOME, caches and key folders, all inside `dir`. */
  env: Record<string, string>;
  /** The stand-in runtime: `apptainer exec IMAGE NAME ARGS…` runs `sh -c $FAKE_SCRIPT sh IMAGE ARGS…`. */
  runtime: string;
}

async function withSandbox(fn: (box: Sandbox) => Promise<void>): Promise<void> {
  await using temp = await testEnv("siftrust-exec-", { folders: true });
  const dir = temp.dir;
  await Deno.copyFile(`${REPO_ROOT}examples/site.yaml`, `${dir}/site.yaml`);
  await Deno.copyFile(`${REPO_ROOT}examples/example-key.pub.asc`, `${dir}/example-key.pub.asc`);
  await Deno.copyFile(SIGNED, `${dir}/signed.sif`);
  await Deno.copyFile(UNSIGNED, `${dir}/unsigned.sif`);
  // A group- or world-writable policy would add warnings: keep the files root-only.
  for (const file of ["site.yaml", "example-key.pub.asc"]) {
    await Deno.chmod(`${dir}/${file}`, 0o644);
  }
  const runtime = await writeFakeRuntime(dir);
  await fn({
    dir,
    runtime,
    policy: `${dir}/site.yaml`,
    signed: `${dir}/signed.sif`,
    unsigned: `${dir}/unsigned.sif`,
    env: temp.env,
  });
}

/** Edits the sandbox's policy text. */
async function editPolicy(box: Sandbox, edit: (text: string) => string): Promise<void> {
  const text = await Deno.readTextFile(box.policy);
  const edited = edit(text);
  assert.notEqual(edited, text, "the policy edit changed nothing");
  await Deno.writeTextFile(box.policy, edited);
}

/**
 * `siftrust exec --policy POLICY [FLAGS…] -- RUNTIME exec IMAGE cmd ARGS…`: the stand-in runtime
 * runs SCRIPT with what it got for IMAGE as `$1` and ARGS after it.
 */
function execSh(
  box: Sandbox,
  script: string,
  args: string[],
  options: { flags?: string[]; env?: Record<string, string>; stdin?: string } = {},
): Promise<CliResult> {
  return runCli(
    [
      "exec",
      "--policy",
      box.policy,
      ...options.flags ?? [],
      "--",
      box.runtime,
      "exec",
      ...args.slice(0, 1),
      "cmd",
      ...args.slice(1),
    ],
    { env: { ...box.env, FAKE_SCRIPT: script, ...options.env }, stdin: options.stdin },
  );
}

/** stderr as lines, without the final newline. */
const lines = (text: string) => text === "" ? [] : text.replace(/\n$/, "").split("\n");

/** The `ERROR:` lines of stderr. */
const errorLines = (result: CliResult) =>
  lines(result.stderr).filter((line) => line.startsWith("ERROR:"));

const context = (result: CliResult) =>
  `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A denial the documented way: the command did not run, one ERROR line names image and policy. */
async function assertDenied(
  result: CliResult,
  marker: string,
  image: string,
  policy: string,
  code = 1,
): Promise<void> {
  assert.equal(result.code, code, context(result));
  assert.equal(result.stdout, "", context(result));
  assert.equal(await exists(marker), false, `the command ran:\n${context(result)}`);
  const errors = errorLines(result);
  assert.equal(errors.length, 1, context(result));
  assert.ok(errors[0].includes(image), `the ERROR line does not name ${image}\n${context(result)}`);
  assert.ok(
    errors[0].includes(policy),
    `the ERROR line does not name ${policy}\n${context(result)}`,
  );
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m, context(result));
}

Deno.test("exec: an allowed image runs as /proc/self/fd/3, readable, and its exit code is siftrust's", async () => {
  await withSandbox(async (box) => {
    // $1 is what the command got for the image; $2 is an argument after it, left alone.
    const script = 'printf "%s|%s\\n" "$1" "$2"; cmp "$1" "$ORIGINAL" && echo same-bytes; exit 7';
    const result = await execSh(box, script, [box.signed, "after"], {
      env: { ORIGINAL: SIGNED },
    });
    assert.equal(result.code, 7, context(result));
    assert.equal(result.stdout, `${FD3}|after\nsame-bytes\n`, context(result));
    assert.deepEqual(errorLines(result), [], context(result));
  });
});

Deno.test("exec: the command's stdin is passed through, and exit 0 stays 0", async () => {
  await withSandbox(async (box) => {
    const result = await execSh(box, "cat; wc -c < /proc/self/fd/3 | tr -d ' '", [box.signed], {
      stdin: "from stdin\n",
    });
    assert.equal(result.code, 0, context(result));
    const size = (await Deno.stat(SIGNED)).size;
    assert.equal(result.stdout, `from stdin\n${size}\n`, context(result));
  });
});

/** Runs a command that kills itself with SIGNAL and expects exit 128 + NUMBER. */
async function assertKilledBy(box: Sandbox, signal: string, number: number): Promise<void> {
  const result = await execSh(box, `kill -${signal} $$`, [box.signed]);
  assert.equal(result.code, 128 + number, `SIG${signal}: ${context(result)}`);
}

Deno.test("exec: a command killed by SIGTERM exits 143", async () => {
  await withSandbox((box) => assertKilledBy(box, "TERM", 15));
});

Deno.test("exec: a command killed by any other signal exits 128 + its number", async () => {
  await withSandbox(async (box) => {
    // Linux numbers, the same on x86_64 and aarch64.
    for (const [signal, number] of [["USR1", 10], ["PIPE", 13], ["SEGV", 11]] as const) {
      await assertKilledBy(box, signal, number);
    }
  });
});

Deno.test("exec: a denied image does not run; exit 1 and one ERROR line naming image and policy", async () => {
  await withSandbox(async (box) => {
    const marker = `${box.dir}/ran`;
    const result = await execSh(box, 'touch "$MARKER"', [box.unsigned], {
      env: { MARKER: marker },
    });
    await assertDenied(result, marker, box.unsigned, box.policy);
    // The verdict line says why.
    assert.match(result.stderr, /^DENY .*unsigned\.sif/m, context(result));
  });
});

Deno.test("exec: a key that cannot be found denies with exit 4, without running", async () => {
  await withSandbox(async (box) => {
    await editPolicy(box, (text) => text.replace("files: [example-key.pub.asc]", "files: []"));
    const marker = `${box.dir}/ran`;
    const result = await execSh(box, 'touch "$MARKER"', [box.signed], {
      env: { MARKER: marker },
    });
    await assertDenied(result, marker, box.signed, box.policy, 4);
  });
});

Deno.test("exec: the run gets the checked file even when the command swaps the path (mv)", async () => {
  await withSandbox(async (box) => {
    const image = `${box.dir}/image.sif`;
    const other = `${box.dir}/other.sif`;
    await Deno.copyFile(SIGNED, image);
    await Deno.copyFile(UNSIGNED, other);
    // The command replaces the image's path with another file, then reads the image it was
    // given ($1, which is /proc/self/fd/3): the path now names the other file, what the command
    // reads is still the original that was checked.
    const script = [
      'echo "$1"',
      'mv -f "$OTHER" "$IMAGE"',
      'cmp -s "$IMAGE" "$UNSIGNED" && echo path-is-other',
      'cmp -s "$1" "$ORIGINAL" && echo fd-is-original',
      'cmp -s "$1" "$IMAGE" || echo fd-differs-from-path',
    ].join("; ");
    const result = await execSh(box, script, [image], {
      env: { IMAGE: image, OTHER: other, ORIGINAL: SIGNED, UNSIGNED },
    });
    assert.equal(result.code, 0, context(result));
    assert.equal(
      result.stdout,
      `${FD3}\npath-is-other\nfd-is-original\nfd-differs-from-path\n`,
      context(result),
    );
  });
});

Deno.test("exec: the run gets the checked file even when the command removes and rewrites the path", async () => {
  await withSandbox(async (box) => {
    const image = `${box.dir}/image.sif`;
    await Deno.copyFile(SIGNED, image);
    const script = [
      'rm -f "$IMAGE"',
      'cat "$UNSIGNED" > "$IMAGE"',
      'cmp -s "$IMAGE" "$UNSIGNED" && echo path-is-other',
      'cmp -s "$1" "$ORIGINAL" && echo fd-is-original',
    ].join("; ");
    const result = await execSh(box, script, [image], {
      env: { IMAGE: image, ORIGINAL: SIGNED, UNSIGNED },
    });
    assert.equal(result.code, 0, context(result));
    assert.equal(result.stdout, "path-is-other\nfd-is-original\n", context(result));
  });
});

Deno.test("exec: a symlink is judged by its target's real path, not by where the link lies", async () => {
  await withSandbox(async (box) => {
    // A rule that allows anything under allowed/, signed or not.
    await editPolicy(
      box,
      (text) =>
        `${text.trimEnd()}\n  - name: test-allowed\n    paths: ["${box.dir}/allowed/**"]\n` +
        "    action: allow\n",
    );
    await Deno.mkdir(`${box.dir}/allowed`);
    await Deno.mkdir(`${box.dir}/elsewhere`);
    await Deno.copyFile(UNSIGNED, `${box.dir}/allowed/real.sif`);
    await Deno.copyFile(UNSIGNED, `${box.dir}/elsewhere/real.sif`);

    // A link from elsewhere to an image under allowed/: allowed by the rule.
    const inward = `${box.dir}/elsewhere/link.sif`;
    await Deno.symlink(`${box.dir}/allowed/real.sif`, inward);
    const allowed = await execSh(box, 'cmp -s "$1" "$UNSIGNED" && echo ran', [inward], {
      env: { UNSIGNED },
    });
    assert.equal(allowed.code, 0, context(allowed));
    assert.equal(allowed.stdout, "ran\n", context(allowed));

    // A link under allowed/ to an unsigned image elsewhere: judged where the image really is.
    const outward = `${box.dir}/allowed/link.sif`;
    await Deno.symlink(`${box.dir}/elsewhere/real.sif`, outward);
    const marker = `${box.dir}/ran`;
    const denied = await execSh(box, 'touch "$MARKER"', [outward], { env: { MARKER: marker } });
    await assertDenied(denied, marker, outward, box.policy);
    assert.ok(
      denied.stderr.includes(`${box.dir}/elsewhere/real.sif`),
      `the verdict does not name the real path\n${context(denied)}`,
    );
  });
});

Deno.test("exec: a container that is not a readable SIF file exits 3 without running anything", async () => {
  await withSandbox(async (box) => {
    const marker = `${box.dir}/ran`;
    await Deno.writeTextFile(`${box.dir}/notes.txt`, "not an image\n");
    for (const image of [`${box.dir}/notes.txt`, `${box.dir}/missing.sif`, box.dir]) {
      const result = await execSh(box, 'touch "$MARKER"', [image], { env: { MARKER: marker } });
      assert.equal(result.code, 3, `${image}: ${context(result)}`);
      assert.equal(result.stdout, "", context(result));
      assert.equal(await exists(marker), false, `the command ran: ${context(result)}`);
      const errors = errorLines(result);
      assert.equal(errors.length, 1, context(result));
      assert.ok(errors[0].includes(image), context(result));
    }
  });
});

Deno.test("exec: warn mode reports a denied image and runs it anyway", async () => {
  await withSandbox(async (box) => {
    await editPolicy(box, (text) => text.replace(/^mode: enforce$/m, "mode: warn"));
    const marker = `${box.dir}/ran`;
    const result = await execSh(box, 'touch "$MARKER"; echo "$1"; exit 5', [box.unsigned], {
      env: { MARKER: marker },
    });
    assert.equal(result.code, 5, context(result));
    assert.equal(result.stdout, `${FD3}\n`, context(result));
    assert.equal(await exists(marker), true, `the command did not run: ${context(result)}`);
    assert.match(result.stderr, /^DENY .*unsigned\.sif.*warn mode/m, context(result));
    assert.deepEqual(errorLines(result), [], context(result));
  });
});

Deno.test("exec --explain: the trace goes to stderr, stdout stays the command's", async () => {
  await withSandbox(async (box) => {
    const result = await execSh(box, "echo hello from the command", [box.signed], {
      flags: ["--explain"],
    });
    assert.equal(result.code, 0, context(result));
    assert.equal(result.stdout, "hello from the command\n", context(result));
    assert.ok(
      result.stderr.includes(`${box.signed}: ALLOW under ${box.policy}`),
      context(result),
    );
    assert.match(result.stderr, /signatures:/, context(result));
    assert.match(result.stderr, /requirements:/, context(result));
    assert.match(result.stderr, /example-demo/, context(result));

    // A denied image: the trace, then the one ERROR line; nothing on stdout.
    const marker = `${box.dir}/ran`;
    const denied = await execSh(box, 'touch "$MARKER"', [box.unsigned], {
      flags: ["--explain"],
      env: { MARKER: marker },
    });
    await assertDenied(denied, marker, box.unsigned, box.policy);
    assert.ok(denied.stderr.includes(`${box.unsigned}: DENY under ${box.policy}`), context(denied));
  });
});

Deno.test("exec: a command that does not exist or cannot run is a clear error, not exit 70", async () => {
  await withSandbox(async (box) => {
    await Deno.mkdir(`${box.dir}/plain`);
    const notExecutable = `${box.dir}/plain/apptainer`;
    await Deno.writeTextFile(notExecutable, "#!/bin/sh\necho hi\n");
    await Deno.chmod(notExecutable, 0o644);
    for (const command of [`${box.dir}/missing/apptainer`, notExecutable]) {
      const result = await runCli(
        ["exec", "--policy", box.policy, "--", command, "run", box.signed],
        { env: box.env },
      );
      assert.notEqual(result.code, 0, `${command}: ${context(result)}`);
      assert.notEqual(result.code, 70, `${command}: ${context(result)}`);
      assert.equal(result.stdout, "", context(result));
      assert.doesNotMatch(result.stderr, /internal error|^\s+at /m, context(result));
      const errors = errorLines(result);
      assert.equal(errors.length, 1, context(result));
      assert.ok(
        errors[0].includes(command),
        `the ERROR line does not name ${command}\n${context(result)}`,
      );
    }
  });
});
