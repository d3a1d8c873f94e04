/**
 * Apptainer parity of the `remote` and `keyserver` commands: answers piped on a stdin that is
 * not a terminal (one line each, as Apptainer reads them), the deprecated
 * `remote add-keyserver|remove-keyserver`, and `keyserver login` to a keyserver added with
 * `--insecure` on a server whose certificate is self-signed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RemoteConfig } from "../../core/config/mod.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { type RemoteHome, remoteHome } from "../helpers/env.ts";

const TOKEN_A = "a".repeat(200);
const TOKEN_B = "b".repeat(200);

const run = (h: RemoteHome, args: string[], stdin?: string): Promise<CliResult> =>
  runCli(args, { env: h.env, stdin });

/** A remote endpoint: discovery and a token service that accepts TOKEN_A and TOKEN_B. */
function endpoint(): { server: Deno.HttpServer; url: string } {
  let port = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { pathname } = new URL(req.url);
    if (pathname === "/assets/config/config.prod.json") {
      return Response.json({ tokenAPI: { uri: `http://127.0.0.1:${port}/token` } });
    }
    if (pathname === "/token/v1/token-status") {
      const header = req.headers.get("Authorization");
      const good = header === `Bearer ${TOKEN_A}` || header === `Bearer ${TOKEN_B}`;
      return new Response(null, { status: good ? 200 : 404 });
    }
    return new Response("not found", { status: 404 });
  });
  port = server.addr.port;
  return { server, url: `http://127.0.0.1:${port}` };
}

Deno.test("remote add and login read a piped token, one line, as Apptainer does", async () => {
  const h = await remoteHome("siftrust-parity-");
  const { server, url } = endpoint();
  try {
    const prompts = `Generate an access token at ${url}/auth/tokens, and paste it here.\n` +
      "Token entered will be hidden for security.\nAccess Token: \n";
    // Nothing piped: the remote is added, the login is skipped, and the command succeeds.
    let result = await run(h, ["remote", "add", "-i", "e", url]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      `INFO:    Remote "e" added.\n${prompts}INFO:    No token entered: not logged in.\n`,
    );
    assert.equal(
      RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).remote("e")?.token,
      "",
    );

    // A piped token is checked, then stored.
    result = await run(h, ["remote", "add", "-i", "f", url], `${TOKEN_A}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      `INFO:    Remote "f" added.\n${prompts}INFO:    Access Token Verified!\n` +
        `WARNING: credentials are stored unencrypted in ${h.user}\n` +
        `INFO:    Token stored in ${h.user}\n`,
    );
    assert.equal(
      RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).remote("f")?.token,
      TOKEN_A,
    );

    // Replacing a token: the question and the new token, one line each.
    result = await run(h, ["remote", "login", "f"], "n\n");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      "An access token is already set for this remote. Replace it? [y/N] \n",
    );
    result = await run(h, ["remote", "login", "f"], `y\n${TOKEN_B}\n`);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).remote("f")?.token,
      TOKEN_B,
    );
    // A wrong piped token is refused and the old one kept.
    result = await run(h, ["remote", "login", "f"], `y\n${"c".repeat(200)}\n`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\nERROR: {3}while verifying token: .*Invalid Credentials\n$/);
    assert.equal(
      RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).remote("f")?.token,
      TOKEN_B,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test({
  name: "remote add-keyserver / remove-keyserver: Apptainer's deprecation warning, then keyserver",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const h = await remoteHome("siftrust-parity-");
    try {
      let result = await run(h, [
        "remote",
        "add-keyserver",
        "--order",
        "1",
        "--insecure",
        "DefaultRemote",
        "http://localhost:11371",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        "WARNING: 'remote add-keyserver' is deprecated and will be removed in a future " +
          "release; running 'keyserver add'\n" +
          'INFO:    Keyserver http://localhost:11371 added to remote "DefaultRemote" as #1.\n',
      );
      const keyservers = () =>
        Deno.readTextFile(h.system).then((text) =>
          RemoteConfig.parse(text, h.system).remote("DefaultRemote")!.keyservers
        );
      assert.deepEqual((await keyservers()).map((k) => [k.uri, k.insecure, k.external]), [
        ["http://localhost:11371", true, true],
        ["https://keys.openpgp.org", false, false],
      ]);
      result = await run(h, ["remote", "remove-keyserver", "http://localhost:11371"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stderr,
        /^WARNING: 'remote remove-keyserver' is deprecated and will be removed in a future release; running 'keyserver remove'\n/,
      );
      assert.deepEqual((await keyservers()).map((k) => k.uri), ["https://keys.openpgp.org"]);
      // Errors are the keyserver command's.
      result = await run(h, ["remote", "add-keyserver", "--order", "0", "https://k.example"]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /\nERROR: {3}order must be > 0\n$/);
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
});

Deno.test("keyserver login to an --insecure keyserver skips TLS checks; others do not", async () => {
  const h = await remoteHome("siftrust-parity-");
  const fixtures = new URL("../http/fixtures/", import.meta.url);
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      cert: await Deno.readTextFile(new URL("localhost.crt", fixtures)),
      key: await Deno.readTextFile(new URL("localhost.key", fixtures)),
    },
    (req) =>
      new Response(null, { status: req.headers.get("Authorization") === "Basic dTpw" ? 200 : 401 }),
  );
  try {
    const port = server.addr.port;
    const insecure = `https://127.0.0.1:${port}`;
    const checked = `https://localhost:${port}`;
    const entry = (uri: string, insecure: boolean) =>
      `            - URI: ${uri}\n              Skip: false\n              External: true\n` +
      `              Insecure: ${insecure}\n`;
    await Deno.mkdir(`${h.env.SIFTRUST_SYSCONFDIR}/apptainer`, { recursive: true });
    await Deno.writeTextFile(
      h.system,
      "Active: DefaultRemote\nRemotes:\n    DefaultRemote:\n        URI: cloud.apptainer.org\n" +
        "        System: true\n        Exclusive: false\n        Keyservers:\n" +
        entry(insecure, true) + entry(checked, false),
    );

    // The password is piped without a flag: read as the prompt's answer.
    let result = await run(h, ["keyserver", "login", "-u", "u", insecure], "p\n");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      `WARNING: ${insecure} is configured as insecure, forcing insecure flag for login\n` +
        "Password / Token: \n" +
        `WARNING: credentials are stored unencrypted in ${h.user}\n` +
        `INFO:    Token stored in ${h.user}\n`,
    );
    assert.deepEqual(RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).credentials, [
      { uri: insecure, auth: "Basic dTpw", insecure: true },
    ]);

    // The same self-signed server, configured secure: the certificate is refused.
    result = await run(h, ["keyserver", "login", "-u", "u", "-p", "p", checked]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^ERROR: {3}while login to ${checked}: cannot reach`));
    assert.equal(
      RemoteConfig.parse(await Deno.readTextFile(h.user), h.user).credentials.length,
      1,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(h.dir, { recursive: true });
  }
});
