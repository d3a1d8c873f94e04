/**
 * `siftrust registry login|logout|list` against a real OCI registry (`docker-registry` with
 * htpasswd on 127.0.0.1), and the auth-file choice Apptainer makes: `--authfile`, else
 * `~/.apptainer/docker-config.json` when it exists, else Docker's `~/.docker/config.json`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RemoteConfig } from "../../core/config/mod.ts";
import { chooseAuthFile } from "../../core/registry/docker_config.ts";
import { plainHttpAllowed } from "../../core/registry/login.ts";
import { registryListText } from "../../cli/render/remote_text.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { peerTest } from "../helpers/peers.ts";
import { startRegistry } from "./registry_fixture.ts";
import { tempDir } from "../helpers/env.ts";

Deno.test("chooseAuthFile: --authfile, then Apptainer's file if it exists, then Docker's", async () => {
  await using temp = await tempDir("siftrust-authfile-");
  const dir = temp.dir;
  const home = (name: string) => ({ HOME: dir })[name];
  assert.equal(await chooseAuthFile(home, "/x/auth.json"), "/x/auth.json");
  assert.equal(await chooseAuthFile(home), `${dir}/.docker/config.json`);
  await Deno.mkdir(`${dir}/.apptainer`);
  await Deno.writeTextFile(`${dir}/.apptainer/docker-config.json`, "{}");
  assert.equal(await chooseAuthFile(home), `${dir}/.apptainer/docker-config.json`);
  // Apptainer's quirk: with APPTAINER_CONFIGDIR, Docker's file is looked for in that folder.
  const configDir = (name: string) => ({ HOME: dir, APPTAINER_CONFIGDIR: `${dir}/c` })[name];
  assert.equal(await chooseAuthFile(configDir), `${dir}/c/config.json`);
});

Deno.test("registryListText: Apptainer's URI / SECURE? table of the stored logins", () => {
  const config = RemoteConfig.parse(
    [
      "Credentials:",
      "    - URI: docker://registry.example.com",
      "      Insecure: false",
      "    - URI: oras://localhost:5000",
      "      Insecure: true",
      "",
    ].join("\n"),
    "remote.yaml",
  );
  assert.equal(
    registryListText(config),
    "\nURI                            SECURE?\n" +
      "docker://registry.example.com  ✓\n" +
      "oras://localhost:5000          ✗!\n",
  );
});

Deno.test("plainHttpAllowed: loopback and private addresses, as Apptainer's registry client", () => {
  for (const host of ["localhost:5000", "127.0.0.1:5000", "127.0.0.1", "10.1.2.3", "[::1]:5000"]) {
    assert.equal(plainHttpAllowed(host), true, host);
  }
  for (const host of ["172.16.0.1:443", "192.168.1.1"]) assert.equal(plainHttpAllowed(host), true);
  for (const host of ["localhost", "docker.io", "172.32.0.1", "8.8.8.8:5000", "ghcr.io"]) {
    assert.equal(plainHttpAllowed(host), false, host);
  }
});

peerTest(
  "registry login, list and logout against a real registry; --authfile leaves remote.yaml alone",
  ["docker-registry", "htpasswd"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-registry-cli-" });
    const registry = await startRegistry(dir);
    try {
      const env = { HOME: dir, SIFTRUST_SYSCONFDIR: `${dir}/etc` };
      const run = (args: string[], stdin?: string): Promise<CliResult> =>
        runCli(args, { env, stdin });
      const user = `${dir}/.apptainer/remote.yaml`;
      const docker = `${dir}/.apptainer/docker-config.json`;
      const host = `127.0.0.1:${registry.port}`;
      // Apptainer's own file exists, so it is the one used.
      await Deno.mkdir(`${dir}/.apptainer`, { recursive: true });
      await Deno.writeTextFile(docker, '{"credsStore": "keep-me"}');

      let result = await run(["registry", "login", "-p", "pass", `docker://${host}`]);
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr,
        "ERROR:   Docker/OCI registry requires a username: give --username\n",
      );
      result = await run(["registry", "login", "-u", "user", "-p", "bad", `docker://${host}`]);
      assert.equal(result.code, 1);
      assert.equal(
        result.stderr,
        `ERROR:   while login to docker://${host}: the registry refused the username or ` +
          "password (401 Unauthorized); nothing was stored\n",
      );
      assert.equal(await Deno.stat(user).then(() => true, () => false), false);

      result = await run(
        ["registry", "login", "-u", "user", "--password-stdin", `oras://${host}`],
        "pass\n",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        `WARNING: credentials are stored unencrypted in ${docker}\n` +
          `INFO:    Token stored in ${docker}\n`,
      );
      assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), {
        credsStore: "keep-me",
        auths: { [host]: { auth: btoa("user:pass") } },
      });
      assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(user), user).credentials, [
        { uri: `oras://${host}`, auth: "", insecure: false },
      ]);

      // A password piped without --password-stdin is read as the prompt's answer (one line).
      result = await run(["registry", "login", "-u", "user", `docker://${host}`], "pass\nrest\n");
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, `Password / Token: \nINFO:    Token stored in ${docker}\n`);

      result = await run(["registry", "list"]);
      assert.equal(result.code, 0, result.stderr);
      const pad = " ".repeat(`docker://${host}`.length - `oras://${host}`.length);
      assert.equal(
        result.stdout,
        [
          "",
          `URI${" ".repeat(`docker://${host}`.length - 1)}SECURE?`,
          `oras://${host}${pad}  ✓`,
          `docker://${host}  ✓`,
          "",
        ].join("\n"),
      );

      // --authfile: that file gets the secret; remote.yaml is left as it was.
      const custom = `${dir}/custom/auth.json`;
      const yamlBefore = await Deno.readTextFile(user);
      result = await run([
        "registry",
        "login",
        "--authfile",
        custom,
        "-u",
        "user",
        "-p",
        "pass",
        `docker://${host}`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`INFO: {4}Token stored in ${custom}\n$`));
      assert.deepEqual(JSON.parse(await Deno.readTextFile(custom)).auths, {
        [host]: { auth: btoa("user:pass") },
      });
      assert.equal((await Deno.stat(custom)).mode! & 0o777, 0o600);
      assert.equal(await Deno.readTextFile(user), yamlBefore);
      result = await run(["registry", "logout", "--authfile", custom, `docker://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        `INFO:    Token removed from ${custom}\nINFO:    Logout succeeded\n`,
      );
      assert.deepEqual(JSON.parse(await Deno.readTextFile(custom)).auths, {});
      assert.equal(await Deno.readTextFile(user), yamlBefore);
      result = await run(["registry", "logout", "--authfile", custom, `docker://${host}`]);
      assert.equal(
        result.stderr,
        `WARNING: There is no existing login to registry "${host}".\nINFO:    Logout succeeded\n`,
      );

      // Logging out of both: the secret goes with the last login that uses it.
      result = await run(["registry", "logout", `docker://${host}`]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^INFO: {4}Token kept in .*: oras:\/\/.* still uses it\n/);
      result = await run(["registry", "logout", `oras://${host}`]);
      assert.equal(
        result.stderr,
        `INFO:    Token removed from ${docker}\nINFO:    Logout succeeded\n`,
      );
      assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), {
        credsStore: "keep-me",
        auths: {},
      });
      result = await run(["registry", "list"]);
      assert.equal(result.stdout, "\nURI  SECURE?\n");
    } finally {
      await registry.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
