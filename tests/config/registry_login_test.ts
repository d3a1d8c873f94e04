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
import { startRegistry } from "./registry_fixture.ts";

const DEPRECATED = (verb: string) =>
  `WARNING: 'remote ${verb}' is deprecated for registries or keyservers and will be removed in a ` +
  `future release; running 'registry ${verb}'\n`;

peerTest(
  "remote login docker:// and oras:// against a real registry: checked, then stored as Apptainer does",
  ["docker-registry", "htpasswd"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-registry-" });
    const registry = await startRegistry(dir);
    try {
      const env = { HOME: dir, SIFTRUST_SYSCONFDIR: `${dir}/etc` };
      const user = `${dir}/.apptainer/remote.yaml`;
      // No ~/.apptainer/docker-config.json: Apptainer falls back to Docker's own file.
      const docker = `${dir}/.docker/config.json`;
      const host = `127.0.0.1:${registry.port}`;
      const run = (args: string[], stdin?: string): Promise<CliResult> =>
        runCli(args, { env, stdin });

      // A bad password first: nothing is written at all.
      let result = await run(["remote", "login", "-u", "user", "-p", "nope", `docker://${host}`]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stderr,
        DEPRECATED("login") +
          `ERROR:   while login to docker://${host}: the registry refused the username or ` +
          "password (401 Unauthorized); nothing was stored\n",
      );
      assert.equal(await Deno.stat(user).then(() => true, () => false), false);
      assert.equal(await Deno.stat(docker).then(() => true, () => false), false);

      // Good credentials; --insecure is recorded.
      result = await run(
        ["remote", "login", "-u", "user", "-p", "pass", "--insecure", `docker://${host}`],
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        DEPRECATED("login") +
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
      result = await run(["remote", "login", "-u", "user", "-p", "wrong", `docker://${host}`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /\nERROR: {3}while login to docker:\/\/.*refused the username/);
      assert.deepEqual([await Deno.readFile(user), await Deno.readFile(docker)], before);

      // oras:// with the password on stdin, and no --insecure: a loopback registry may answer
      // over http, as Apptainer's registry client allows. The warning is not repeated.
      result = await run(
        ["remote", "login", "-u", "user", "--password-stdin", `oras://${host}`],
        "pass\n",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, DEPRECATED("login") + `INFO:    Token stored in ${docker}\n`);
      assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(user), user).credentials, [
        { uri: `docker://${host}`, auth: "", insecure: true },
        { uri: `oras://${host}`, auth: "", insecure: false },
      ]);
      result = await run(["remote", "login", "-u", "user", "--password-stdin", `oras://${host}`]);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, DEPRECATED("login") + "ERROR:   a password is required\n");

      // Logging out of one keeps the secret the other still uses; the second removes it.
      result = await run(["remote", "logout", `docker://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        DEPRECATED("logout") +
          `INFO:    Token kept in ${docker}: oras://${host} still uses it\n` +
          "INFO:    Logout succeeded\n",
      );
      assert.deepEqual(
        RemoteConfig.parse(await Deno.readTextFile(user), user).credentials.map((c) => c.uri),
        [`oras://${host}`],
      );
      assert.ok(host in JSON.parse(await Deno.readTextFile(docker)).auths);
      result = await run(["remote", "logout", `oras://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        DEPRECATED("logout") + `INFO:    Token removed from ${docker}\n` +
          "INFO:    Logout succeeded\n",
      );
      assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(user), user).credentials, []);
      assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), { auths: {} });
    } finally {
      await registry.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
