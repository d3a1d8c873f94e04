/**
 * `remote.yaml` under stress: many siftrust processes writing at once all get their change
 * in (the folder lock), and a writer killed with SIGKILL at any moment leaves a file that
 * parses and holds either the old content or the new (the atomic replace).
 *
 * @module
 */

import assert from "node:assert/strict";
import { RemoteConfig } from "../../core/config/mod.ts";
import { CLI_ENTRY, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { remoteHome } from "../helpers/env.ts";

const ENTRY = CLI_ENTRY;

Deno.test("16 concurrent `remote add` processes: all 16 remotes are there afterwards", async () => {
  const h = await remoteHome("siftrust-concurrency-");
  try {
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        runCli(
          ["remote", "add", `name${i}`, `example.invalid/${i}`, "--no-login", "--no-default"],
          { env: h.env },
        )),
    );
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 0, `name${i}: ${result.stderr}`);
      assert.equal(result.stderr, `INFO:    Remote "name${i}" added.\n`);
    }
    const config = RemoteConfig.parse(await Deno.readTextFile(h.user), h.user);
    assert.deepEqual(
      config.remotes.map((r) => r.name).sort(),
      Array.from({ length: 16 }, (_, i) => `name${i}`).sort(),
    );
    for (const remote of config.remotes) {
      assert.equal(remote.uri, `example.invalid/${remote.name.slice(4)}`);
    }
    assert.equal(config.active, "");
    assert.equal((await Deno.stat(h.user)).mode! & 0o777, 0o600);
    const leftovers = [];
    for await (const entry of Deno.readDir(`${h.env.APPTAINER_CONFIGDIR}`)) {
      if (entry.name !== "remote.yaml") leftovers.push(entry.name);
    }
    assert.deepEqual(leftovers, [], "no temporary files are left behind");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

/** A remote.yaml with `count` remotes, big enough that reading and writing it takes a while. */
function bigConfig(count: number): string {
  const lines = ["Active: r0", "Remotes:"];
  for (let i = 0; i < count; i++) {
    lines.push(
      `    r${i}:`,
      `        URI: host${i}.example.invalid/some/longer/path/${i}`,
      "        System: false",
      "        Exclusive: false",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Starts `siftrust remote add NAME …` as a child process. */
function startAdd(env: Record<string, string>, name: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      ENTRY,
      "remote",
      "add",
      name,
      `example.invalid/${name}`,
      "--no-login",
      "--no-default",
    ],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", DENO_DIR, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test("a writer killed with SIGKILL at any moment leaves the old file or the new one", async () => {
  const h = await remoteHome("siftrust-concurrency-");
  try {
    await Deno.mkdir(`${h.env.APPTAINER_CONFIGDIR}`, { mode: 0o700 });
    let current = bigConfig(1500);
    await Deno.writeTextFile(h.user, current, { mode: 0o600 });
    const names = new Set(RemoteConfig.parse(current, h.user).remotes.map((r) => r.name));

    // How long one undisturbed run takes; the kills are spread over that time.
    const started = Date.now();
    const first = startAdd(h.env, "first");
    assert.equal((await first.status).code, 0);
    const took = Date.now() - started;
    current = await Deno.readTextFile(h.user);
    names.add("first");

    // Kills spread over, and a little past, that time (runs vary): until a run completes.
    let killed = 0;
    const fractions = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.35, 1.5, 2, 3];
    for (const [step, fraction] of fractions.entries()) {
      const name = `kill${step}`;
      const child = startAdd(h.env, name);
      await new Promise((resolve) => setTimeout(resolve, Math.round(took * fraction)));
      try {
        child.kill("SIGKILL");
      } catch {
        // It had finished already.
      }
      const status = await child.status;
      if (status.signal === "SIGKILL") killed++;
      const text = await Deno.readTextFile(h.user);
      const config = RemoteConfig.parse(text, h.user); // always parses
      if (text === current) {
        assert.notEqual(status.code, 0, `${name} exited 0 but the file did not change`);
        continue;
      }
      // The new content: every old remote, plus the one added.
      assert.deepEqual(
        new Set(config.remotes.map((r) => r.name)),
        new Set([...names, name]),
        `after ${name}`,
      );
      names.add(name);
      current = text;
      if (status.success) break;
    }
    assert.ok(killed > 0, "at least one writer was killed before it finished");

    // A later writer is not disturbed by what a killed one left behind.
    const after = await runCli(
      ["remote", "add", "after", "example.invalid/after", "--no-login", "--no-default"],
      { env: h.env },
    );
    assert.equal(after.code, 0, after.stderr);
    const config = RemoteConfig.parse(await Deno.readTextFile(h.user), h.user);
    assert.equal(config.remotes.length, names.size + 1);
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});
