/**
 * `siftrust remote login docker://HOST | oras://HOST` against a real OCI registry (the CNCF
 * distribution registry, `docker-registry serve`) with htpasswd authentication on 127.0.0.1:
 * good credentials are stored as Apptainer stores them, bad ones are refused before anything
 * is written.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RemoteConfig } from "../../core/config/mod.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { peerTest } from "../helpers/peers.ts";

/** A registry on 127.0.0.1 that accepts `user` / `pass`; stopped by `stop`. */
async function startRegistry(dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const htpasswd = await new Deno.Command("htpasswd", {
    args: ["-Bbn", "user", "pass"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(htpasswd.code, 0, new TextDecoder().decode(htpasswd.stderr));
  await Deno.writeFile(`${dir}/htpasswd`, htpasswd.stdout);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Deno.mkdir(`${dir}/data`);
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "auth:",
      "  htpasswd:",
      "    realm: siftrust-test",
      `    path: ${dir}/htpasswd`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  };
  // Ready when /v2/ answers (401 without credentials).
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      await response.body?.cancel();
      if (response.status === 401) return { port, stop };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("docker-registry did not start within 15 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

peerTest(
  "remote login docker:// and oras:// against a real registry: checked, then stored as Apptainer does",
  ["docker-registry", "htpasswd"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-registry-" });
    const registry = await startRegistry(dir);
    try {
      const env = {
        HOME: dir,
        APPTAINER_CONFIGDIR: `${dir}/.apptainer`,
        SIFTRUST_SYSCONFDIR: `${dir}/etc`,
      };
      const user = `${dir}/.apptainer/remote.yaml`;
      const docker = `${dir}/.apptainer/docker-config.json`;
      const host = `127.0.0.1:${registry.port}`;
      const run = (args: string[], stdin?: string): Promise<CliResult> =>
        runCli(args, { env, stdin });

      // A bad password first: nothing is written at all.
      let result = await run([
        "remote",
        "login",
        "-u",
        "user",
        "-p",
        "nope",
        "-i",
        `docker://${host}`,
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr,
        `ERROR:   while login to docker://${host}: the registry refused the username or password ` +
          "(401 Unauthorized); nothing was stored\n",
      );
      assert.equal(await Deno.stat(user).then(() => true, () => false), false);

      // Good credentials.
      result = await run([
        "remote",
        "login",
        "-u",
        "user",
        "-p",
        "pass",
        "--insecure",
        `docker://${host}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        `WARNING: credentials are stored unencrypted in ${docker}\n` +
          `INFO:    Token stored in ${docker}\n`,
      );
      assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(user), user).credentials, [
        { uri: `docker://${host}`, auth: "", insecure: true },
      ]);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), {
        auths: { [host]: { auth: btoa("user:pass") } },
      });
      assert.equal((await Deno.stat(docker)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(user)).mode! & 0o777, 0o600);

      // A failed login keeps the old credential byte for byte.
      const before = [await Deno.readFile(user), await Deno.readFile(docker)];
      result = await run([
        "remote",
        "login",
        "-u",
        "user",
        "-p",
        "wrong",
        "-i",
        `docker://${host}`,
      ]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^ERROR: {3}while login to docker:\/\/.*refused the username/);
      // https against a plain-http registry fails clearly, and also changes nothing.
      result = await run(["remote", "login", "-u", "user", "-p", "pass", `docker://${host}`]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `^ERROR: {3}while login to docker://${host}: cannot reach https://${host}/v2/: `,
        ),
      );
      assert.deepEqual([await Deno.readFile(user), await Deno.readFile(docker)], before);

      // oras:// with the password on stdin; the warning is not repeated.
      result = await run(
        ["remote", "login", "-u", "user", "--password-stdin", "-i", `oras://${host}`],
        "pass\n",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, `INFO:    Token stored in ${docker}\n`);
      assert.deepEqual(
        RemoteConfig.parse(await Deno.readTextFile(user), user).credentials.map((c) => c.uri),
        [`docker://${host}`, `oras://${host}`],
      );
      result = await run(["remote", "login", "-u", "user", "--password-stdin", `oras://${host}`]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, "ERROR:   a password is required\n");

      // Logging out of one keeps the secret the other still uses; the second removes it.
      result = await run(["remote", "logout", `docker://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "INFO:    Logout succeeded\n");
      assert.deepEqual(
        RemoteConfig.parse(await Deno.readTextFile(user), user).credentials.map((c) => c.uri),
        [`oras://${host}`],
      );
      assert.ok(host in JSON.parse(await Deno.readTextFile(docker)).auths);
      result = await run(["remote", "logout", `oras://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(user), user).credentials, []);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), { auths: {} });
    } finally {
      await registry.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
