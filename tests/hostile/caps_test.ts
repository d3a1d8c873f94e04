/**
 * Bounded memory: images with too many signature objects, or too many bytes of them, are
 * refused before any is read (a bad image: exit 3); images within the caps are decided; and
 * `check`/`verify` stay under 256 MiB peak RSS on any of them, sparse images with hundreds of
 * 16 MiB signature objects included. A 16 MiB clear-signed body of blanks is decided quickly
 * through the CLI too.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MAX_SIGNATURE_OBJECTS,
  MAX_SIGNATURE_SIZE,
  MAX_SIGNATURE_TOTAL_SIZE,
  readSignatureObjects,
} from "../../core/integrity/signatures.ts";
import { SifError, SifImage } from "../../core/sif/mod.ts";
import { CLI_ENTRY, DENO_DIR, PERMISSIONS } from "../helpers/cli.ts";
import { existsSync, IN_CI, REPO_ROOT } from "../helpers/peers.ts";
import {
  blanksSignature,
  EXAMPLE_FINGERPRINT,
  writeSignatureImage,
  writeSparseSignatureImage,
} from "./images.ts";
import { isolatedEnv, tempDir } from "../helpers/env.ts";

const MIB = 1024 * 1024;
const RSS_LIMIT_KIB = 256 * 1024;

/** The SifError kind that reading the signature objects of `path` throws, or "read". */
async function readOutcome(path: string): Promise<string> {
  using image = await SifImage.open(path);
  try {
    const signatures = await readSignatureObjects(image);
    return `read ${signatures.length}`;
  } catch (error) {
    if (error instanceof SifError) return error.kind;
    throw error;
  }
}

Deno.test("signature objects: more than the cap in number or in bytes are refused unread", async () => {
  await using temp = await tempDir("siftrust-caps-");
  const dir = temp.dir;
  const many = `${dir}/many.sif`;
  await writeSparseSignatureImage(many, MAX_SIGNATURE_OBJECTS + 1, 16);
  assert.equal(await readOutcome(many), "invalid");
  const most = `${dir}/most.sif`;
  await writeSparseSignatureImage(most, MAX_SIGNATURE_OBJECTS, 16);
  assert.equal(await readOutcome(most), `read ${MAX_SIGNATURE_OBJECTS}`);

  const perObject = MAX_SIGNATURE_SIZE;
  const fit = Math.floor(MAX_SIGNATURE_TOTAL_SIZE / perObject);
  const heavy = `${dir}/heavy.sif`;
  await writeSparseSignatureImage(heavy, fit + 1, perObject);
  assert.equal(await readOutcome(heavy), "invalid");
  const full = `${dir}/full.sif`;
  await writeSparseSignatureImage(full, fit, perObject);
  assert.equal(await readOutcome(full), `read ${fit}`);

  const huge = `${dir}/huge.sif`;
  await writeSparseSignatureImage(huge, 1, MAX_SIGNATURE_SIZE + 1);
  assert.equal(await readOutcome(huge), "invalid");
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size, KiB. */
  rssKib: number;
  ms: number;
}

/** Runs the CLI under `/usr/bin/time`, for its peak RSS. */
async function runMeasured(args: string[], dir: string): Promise<Run> {
  const report = `${dir}/time.txt`;
  const start = performance.now();
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/time", {
    args: [
      "-o",
      report,
      "-f",
      "%M",
      Deno.execPath(),
      "run",
      "--quiet",
      ...PERMISSIONS,
      CLI_ENTRY,
      ...args,
    ],
    cwd: REPO_ROOT,
    env: {
      NO_COLOR: "1",
      DENO_DIR,
      ...isolatedEnv(dir),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  const rssKib = Number((await Deno.readTextFile(report)).trim().split("\n").at(-1));
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr), rssKib, ms };
}

function assertClean(run: Run, code: number, what: string): void {
  const stderr = run.stderr.trimEnd();
  assert.equal(run.code, code, `${what}: ${run.stderr}`);
  assert.ok(!/internal error|^\s+at /m.test(stderr), `${what}: ${run.stderr}`);
  assert.ok(run.rssKib > 0 && run.rssKib < RSS_LIMIT_KIB, `${what}: peak RSS ${run.rssKib} KiB`);
}

Deno.test({
  name: "check and verify: hundreds of sparse 16 MiB signature objects, bounded RSS, exit 3",
  ignore: !IN_CI && !existsSync("/usr/bin/time"),
  async fn() {
    await using temp = await tempDir("siftrust-caps-cli-");
    const dir = temp.dir;
    for (const sub of ["home", "cache", "apptainer", "keys", "etc"]) {
      await Deno.mkdir(`${dir}/${sub}`);
    }
    const policy = `${dir}/policy.yaml`;
    await Deno.writeTextFile(
      policy,
      [
        "version: 1",
        `signers: {demo: {fingerprint: "${EXAMPLE_FINGERPRINT}"}}`,
        `keys: {files: ["${REPO_ROOT}examples/example-key.pub.asc"], local: false, offline: true}`,
      ].join("\n") + "\n",
    );
    const key = ["--keyring", `${REPO_ROOT}examples/example-key.pub.asc`];

    const many = `${dir}/many.sif`;
    await writeSparseSignatureImage(many, 300, 16 * MIB);
    const refused = await runMeasured(["check", "--policy", policy, many], dir);
    assertClean(refused, 3, "check, 300 x 16 MiB");
    const said = refused.stdout + refused.stderr;
    assert.match(said, /300 signature objects, more than the 256/);
    assert.equal(said.trimEnd().split("\n").length, 1, said);
    assertClean(await runMeasured(["verify", ...key, many], dir), 3, "verify, 300 x 16 MiB");

    const thousands = `${dir}/thousands.sif`;
    await writeSparseSignatureImage(thousands, 4000, 512);
    assertClean(await runMeasured(["check", "--policy", policy, thousands], dir), 3, "4000");

    const full = `${dir}/full.sif`;
    await writeSparseSignatureImage(full, 2, 16 * MIB);
    assertClean(await runMeasured(["check", "--policy", policy, full], dir), 1, "2 x 16 MiB");

    const blanks = `${dir}/blanks.sif`;
    await writeSignatureImage(blanks, [await blanksSignature(16 * MIB)]);
    for (const args of [["check", "--policy", policy, blanks], ["verify", ...key, blanks]]) {
      const run = await runMeasured(args, dir);
      assertClean(run, 1, `${args[0]}, 16 MiB of blanks`);
      assert.ok(run.ms < 10_000, `${args[0]}: ${run.ms.toFixed(0)} ms`);
    }
  },
});
