/**
 * `siftrust admit` (docs/security.md): root copies a user's image into a root-owned library,
 * decides on the copy as if it were at its destination, and installs it only on ALLOW. A deny
 * (also in warn mode), a bad source or a bad destination leaves nothing behind; and a user who
 * rewrites the source during the copy gets either exactly the bytes that were decided, or
 * nothing.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { admitImage } from "../../policy/mod.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { CAN_DROP_PRIVILEGES, runAsNobody, spawnAsNobody } from "../helpers/unprivileged.ts";
import { giveToNobody, type Lab, lab, labContext, sameBytes, SIGNED, UNSIGNED } from "./lab.ts";

/** Root's `siftrust admit --policy P ARGS…`. */
function admit(l: Lab, args: string[]): Promise<CliResult> {
  return runCli(["admit", "--policy", l.policy, ...args], { env: l.env });
}

/** A root-owned library folder (0755) in the lab. */
async function library(l: Lab): Promise<string> {
  const dir = `${l.dir}/library`;
  await Deno.mkdir(dir, { mode: 0o755 });
  return dir;
}

const context = (result: CliResult) => `exit ${result.code}\n${result.stdout}${result.stderr}`;
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test({
  name: "admit installs an allowed image, owned by root and read-only to others",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const lib = await library(l);
    await giveToNobody(SIGNED, `${l.user}/tool.sif`);
    const intoFolder = await admit(l, [`${l.user}/tool.sif`, lib]);
    assert.equal(intoFolder.code, 0, context(intoFolder));
    assert.match(intoFolder.stdout, new RegExp(`^ALLOW +${lib}/tool\\.sif`));
    const info = await Deno.stat(`${lib}/tool.sif`);
    assert.deepEqual([info.uid, (info.mode ?? 0) & 0o777], [0, 0o644]);
    assert.ok(await sameBytes(`${lib}/tool.sif`, SIGNED));
    // A file path as DEST, with --json.
    const named = await admit(l, ["--json", `${l.user}/tool.sif`, `${lib}/tool-1.0.sif`]);
    assert.equal(named.code, 0, context(named));
    const document = JSON.parse(named.stdout);
    assert.equal(document.destination, `${lib}/tool-1.0.sif`);
    assert.equal(document.installed, true);
    const digest = createHash("sha256").update(await Deno.readFile(SIGNED)).digest("hex");
    assert.equal(document.sha256, digest);
    assert.deepEqual(names(lib), ["tool-1.0.sif", "tool.sif"]);
  },
});

Deno.test({
  name: "admit leaves nothing behind on a deny (warn mode too), a bad source or destination",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const lib = await library(l);
    await giveToNobody(UNSIGNED, `${l.user}/evil.sif`);
    const denied = await admit(l, [`${l.user}/evil.sif`, lib]);
    assert.equal(denied.code, 1, context(denied));
    assert.match(denied.stdout, new RegExp(`^DENY +${lib}/evil\\.sif`));
    assert.deepEqual(names(lib), []);
    // Warn mode reports a deny but never installs the image.
    const text = await Deno.readTextFile(l.policy);
    await Deno.writeTextFile(l.policy, text.replace(/^mode: enforce$/m, "mode: warn"));
    const warned = await admit(l, [`${l.user}/evil.sif`, lib]);
    assert.equal(warned.code, 1, context(warned));
    assert.deepEqual(names(lib), []);
    // A FIFO (no writer: it would block a plain open) and a folder are bad images (exit 3).
    assert.equal((await runAsNobody(["mkfifo", `${l.user}/pipe.sif`], { home: l.home })).code, 0);
    for (const source of [`${l.user}/pipe.sif`, l.user]) {
      const bad = await admit(l, [source, lib]);
      assert.equal(bad.code, 3, context(bad));
      assert.deepEqual(names(lib), []);
    }
    // A destination whose folder does not exist: exit 2.
    const nowhere = await admit(l, [`${l.user}/evil.sif`, `${l.dir}/missing/evil.sif`]);
    assert.equal(nowhere.code, 2, context(nowhere));
  },
});

Deno.test({
  name: "admit while the user rewrites the source: the bytes decided are the bytes installed",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    const lib = await library(l);
    const source = `${l.user}/tool.sif`;
    await giveToNobody(SIGNED, source);
    // The user rewrites the file in place (same inode), signed and unsigned in turn, for 3 s.
    const rewriter = await spawnAsNobody([
      "/bin/sh",
      "-c",
      `end=$(($(date +%s) + 3)); while [ "$(date +%s)" -lt "$end" ]; do ` +
      `cat ${SIGNED} > ${source}; cat ${UNSIGNED} > ${source}; done`,
    ], { home: l.home });
    const context = await labContext(l);
    const seen: Record<string, number> = {};
    const end = Date.now() + 3000;
    for (let i = 0; Date.now() < end; i++) {
      const destination = `${lib}/copy-${i}.sif`;
      // Every other copy also takes its whole SHA-256 (the lanes then split the writing).
      const sha256 = i % 2 === 0;
      const admitted = await admitImage(source, destination, context, { sha256 });
      const decision = admitted.result.decision.decision;
      seen[decision] = (seen[decision] ?? 0) + 1;
      assert.equal(admitted.installed, decision === "allow", `copy ${i}`);
      if (admitted.installed) {
        // Only the signed image's exact bytes can be allowed, and they are what was installed.
        assert.ok(await sameBytes(destination, SIGNED), `copy ${i}: not the signed bytes`);
        const digest = createHash("sha256").update(await Deno.readFile(destination)).digest("hex");
        assert.equal(admitted.sha256, sha256 ? digest : null);
      } else {
        await assert.rejects(Deno.stat(destination), Deno.errors.NotFound);
      }
    }
    assert.ok((await rewriter.output()).success);
    assert.ok(Object.values(seen).reduce((a, b) => a + b, 0) > 5, JSON.stringify(seen));
    // No temporary file is left in the library.
    assert.deepEqual(names(lib).filter((name) => !/^copy-\d+\.sif$/.test(name)), []);
  },
});
