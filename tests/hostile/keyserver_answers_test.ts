/**
 * Hostile keyserver answers (served by a local HKP stub on 127.0.0.1): 16 MiB of `BEGIN` lines
 * with no `END` are refused at once, an answer over the parse cap is refused, and `check`
 * treats such a keyserver as not having the key (exit 4), with one clear line.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ArmorScanError,
  keyBlocksOfAnswer,
  MAX_KEY_ANSWER_BYTES,
} from "../../core/keyserver/armor_scan.ts";
import { HkpError, lookupKey } from "../../core/keyserver/hkp.ts";
import { runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { EXAMPLE_FINGERPRINT } from "./images.ts";
import { isolatedEnv, tempDir } from "../helpers/env.ts";

const BEGIN_LINES = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n".repeat((16 << 20) / 37);

/** Serves `answer` to every request until the callback ends. */
async function withStub(
  answer: () => string,
  run: (uri: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(answer()),
  );
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("an answer over the parse cap is refused as too large, before it is scanned", () => {
  const body = new Uint8Array(MAX_KEY_ANSWER_BYTES + 1);
  assert.throws(
    () => keyBlocksOfAnswer(body),
    (error) => error instanceof ArmorScanError && error.kind === "too-large",
  );
  assert.throws(
    () => keyBlocksOfAnswer(new TextEncoder().encode(BEGIN_LINES)),
    (error) => error instanceof ArmorScanError && error.kind === "no-key",
  );
});

Deno.test("16 MiB of BEGIN lines without END: lookupKey refuses them within a second", async () => {
  await withStub(() => BEGIN_LINES, async (uri) => {
    const start = performance.now();
    await assert.rejects(
      lookupKey({ uri, insecure: false }, "3E41C34BB55B761A"),
      (error) => error instanceof HkpError && error.kind === "answer",
    );
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  });
});

Deno.test("check: a keyserver answering BEGIN lines only means the key is unavailable (exit 4)", async () => {
  await using temp = await tempDir("siftrust-hkp-hostile-");
  const dir = temp.dir;
  for (const sub of ["home", "cache", "apptainer", "keys", "etc"]) {
    await Deno.mkdir(`${dir}/${sub}`);
  }
  await withStub(() => BEGIN_LINES, async (uri) => {
    const policy = `${dir}/policy.yaml`;
    await Deno.writeTextFile(
      policy,
      [
        "version: 1",
        `signers: {demo: {fingerprint: "${EXAMPLE_FINGERPRINT}"}}`,
        `keys: {local: false, keyservers: [{uri: "${uri}", insecure: true}]}`,
      ].join("\n") + "\n",
    );
    const result = await runCli(
      ["check", "--no-cache", "--policy", policy, `${REPO_ROOT}examples/example-signed.sif`],
      {
        env: isolatedEnv(dir),
      },
    );
    assert.equal(result.code, 4, result.stdout + result.stderr);
    assert.ok(!/internal error|^\s+at /m.test(result.stderr), result.stderr);
    assert.match(result.stdout + result.stderr, /holds no armored OpenPGP public key/);
  });
});
