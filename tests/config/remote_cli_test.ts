/**
 * `siftrust remote` and `siftrust keyserver` as a user (and an administrator) meets them:
 * the files they write, the tables they print, and every refusal — duplicate and unknown
 * names, exclusivity, root-only changes, keyserver order and the primary keyserver — with
 * one `ERROR:` line and the documented exit code. Endpoint tokens and keyserver logins are
 * checked against small servers on 127.0.0.1.
 *
 * Root-only paths run when the tests run as root; the "not root" refusals run as a plain
 * user, or — as root — in a user namespace (`unshare --user`), where the uid is 65534.
 *
 * @module
 */

import assert from "node:assert/strict";
import { RemoteConfig } from "../../core/config/mod.ts";
import { CLI_ENTRY, type CliResult, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { type RemoteHome, remoteHome } from "../helpers/env.ts";

const IS_ROOT = Deno.uid() === 0;

/** Runs siftrust in this home. */
function run(h: RemoteHome, ...args: string[]): Promise<CliResult> {
  return runCli(args, { env: h.env });
}

/** Runs siftrust and expects success; returns stdout. */
async function ok(h: RemoteHome, ...args: string[]): Promise<CliResult> {
  const result = await run(h, ...args);
  assert.equal(result.code, 0, `siftrust ${args.join(" ")}: ${result.stderr}`);
  return result;
}

/** Runs siftrust and expects one `ERROR:   <message>` line and the exit code. */
async function fails(h: RemoteHome, code: number, message: string | RegExp, ...args: string[]) {
  const result = await run(h, ...args);
  assert.equal(result.code, code, `siftrust ${args.join(" ")}: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  const error = lines.at(-1)!;
  if (typeof message === "string") assert.equal(error, `ERROR:   ${message}`);
  else assert.match(error, message);
  assert.equal(lines.filter((l) => l.startsWith("ERROR:")).length, 1, result.stderr);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  return result;
}

/** Runs refusals at once (none of them writes): `[exit code, message, ...args]`. */
async function refused(
  h: RemoteHome,
  cases: [number, string | RegExp, ...string[]][],
): Promise<void> {
  await Promise.all(cases.map(([code, message, ...args]) => fails(h, code, message, ...args)));
}

const read = (path: string) => Deno.readTextFile(path);
const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o777;
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** Whether `unshare --user` gives a non-root uid here (root only). */
const CAN_UNSHARE: boolean = IS_ROOT && await (async () => {
  try {
    const { code, stdout } = await new Deno.Command("unshare", {
      args: ["--user", "id", "-u"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return code === 0 && new TextDecoder().decode(stdout).trim() !== "0";
  } catch {
    return false;
  }
})();

/** Runs siftrust as a user who is not root. */
async function runAsUser(h: RemoteHome, ...args: string[]): Promise<CliResult> {
  if (!IS_ROOT) return await run(h, ...args);
  const entry = CLI_ENTRY;
  const { code, stdout, stderr } = await new Deno.Command("unshare", {
    args: ["--user", Deno.execPath(), "run", "--quiet", ...PERMISSIONS, entry, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", DENO_DIR, ...h.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
    stdoutBytes: stdout,
  };
}

/** A test that needs root. */
function rootTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: !IS_ROOT, fn });
}

const DEFAULT_LIST = [
  "",
  "NAME           URI                  DEFAULT?  GLOBAL?  EXCLUSIVE?  SECURE?",
  "DefaultRemote  cloud.apptainer.org  ✓         ✓                    ✓",
  "",
].join("\n");

// ---------------------------------------------------------------------------------------------
// remote

Deno.test("remote list on a fresh machine shows the built-in DefaultRemote", async () => {
  const h = await remoteHome("siftrust-remote-");
  try {
    const result = await ok(h, "remote", "list");
    assert.equal(result.stdout, DEFAULT_LIST);
    assert.equal(result.stderr, "");
    assert.equal(await exists(h.user), false, "reading creates no file");
    // -c/--config before or after the subcommand.
    const other = `${h.dir}/other.yaml`;
    await Deno.writeTextFile(other, "Active: x\nRemotes:\n    x:\n        URI: x.example.com\n");
    for (const args of [["remote", "-c", other, "list"], ["remote", "list", "--config", other]]) {
      assert.match((await ok(h, ...args)).stdout, /^x  +x\.example\.com  +✓ /m);
    }
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("remote add, use, remove and list on the user's file", async () => {
  const h = await remoteHome("siftrust-remote-");
  try {
    let result = await ok(
      h,
      "remote",
      "add",
      "--no-login",
      "myremote",
      "https://enterprise.example.com/",
    );
    assert.equal(result.stderr, 'INFO:    Remote "myremote" added.\n');
    assert.equal(
      await read(h.user),
      "Active: myremote\nRemotes:\n    myremote:\n        URI: enterprise.example.com\n" +
        "        System: false\n        Exclusive: false\n",
    );
    assert.equal(await mode(h.user), 0o600);

    await refused(h, [
      [2, "myremote is already a remote", "remote", "add", "--no-login", "myremote", "x"],
      [2, "invalid name: cannot have empty name", "remote", "add", "--no-login", "", "x"],
      [2, "invalid URI: cannot have empty URI", "remote", "add", "--no-login", "e", ""],
      [
        2,
        "http URI requires --insecure or APPTAINER_ADD_INSECURE=true",
        "remote",
        "add",
        "--no-login",
        "test",
        "http://test.example.com",
      ],
    ]);

    await ok(h, "remote", "add", "--no-login", "-n", "-i", "test", "http://test.example.com");
    result = await runCli(
      ["remote", "add", "--no-login", "--no-default", "Zed", "http://zed.example.com/a/../b/"],
      { env: { ...h.env, APPTAINER_ADD_INSECURE: "true" } },
    );
    assert.equal(result.code, 0, result.stderr);
    await ok(h, "remote", "add", "--no-login", "-n", "alpha", "alpha.example.com:8443/lib");

    // Sorted byte-wise: uppercase first.
    assert.equal(
      (await ok(h, "remote", "list")).stdout,
      [
        "",
        "NAME           URI                         DEFAULT?  GLOBAL?  EXCLUSIVE?  SECURE?",
        "DefaultRemote  cloud.apptainer.org                   ✓                    ✓",
        "Zed            zed.example.com/b                                          ✗!",
        "alpha          alpha.example.com:8443/lib                                 ✓",
        "myremote       enterprise.example.com      ✓                              ✓",
        "test           test.example.com                                           ✗!",
        "",
      ].join("\n"),
    );

    result = await ok(h, "remote", "use", "DefaultRemote");
    assert.equal(result.stderr, 'INFO:    Remote "DefaultRemote" now in use.\n');
    const config = RemoteConfig.parse(await read(h.user), h.user);
    assert.equal(config.active, "DefaultRemote");
    assert.equal(config.remote("DefaultRemote")?.system, true, "use writes the merged view");
    await fails(h, 2, "nope is not a remote", "remote", "use", "nope");

    result = await ok(h, "remote", "remove", "myremote");
    assert.equal(result.stderr, 'INFO:    Remote "myremote" removed.\n');
    assert.equal(RemoteConfig.parse(await read(h.user), h.user).remote("myremote"), undefined);
    await refused(h, [
      [2, "myremote is not a remote", "remote", "remove", "myremote"],
      [
        2,
        /^ERROR: {3}DefaultRemote is global and can't be removed/,
        "remote",
        "remove",
        "DefaultRemote",
      ],
    ]);
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("remote: a bad remote.yaml is one error line naming file:line:col, exit 2", async () => {
  const h = await remoteHome("siftrust-remote-");
  try {
    await Deno.mkdir(`${h.env.APPTAINER_CONFIGDIR}`);
    await Deno.writeTextFile(h.user, "Active: a\nRemotes:\n    a:\n        System: maybe\n");
    for (const args of [["remote", "list"], ["keyserver", "list"], ["remote", "use", "a"]]) {
      await fails(h, 2, `${h.user}:4:17: Remotes.a.System must be true or false`, ...args);
    }
    await Deno.writeTextFile(h.user, "");
    await Deno.mkdir(`${h.env.SIFTRUST_SYSCONFDIR}/apptainer`, { recursive: true });
    await Deno.writeTextFile(h.system, "Active: [x]\n");
    await fails(h, 2, `${h.system}:1:9: Active must be a string`, "remote", "list");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

rootTest(
  "remote --global writes the system file; an exclusive remote cannot be switched away from",
  async () => {
    const h = await remoteHome("siftrust-remote-");
    try {
      let result = await ok(
        h,
        "remote",
        "add",
        "--global",
        "company",
        "https://enterprise7.example.com",
      );
      assert.equal(
        result.stderr,
        'INFO:    Remote "company" added.\n' +
          "INFO:    Global option detected. Will not automatically log into remote.\n",
      );
      assert.equal(await mode(h.system), 0o644);
      assert.equal(await exists(h.user), false, "the user's file is not touched");
      let system = RemoteConfig.parse(await read(h.system), h.system);
      assert.deepEqual(system.remotes.map((r) => [r.name, r.system]), [
        ["DefaultRemote", true],
        ["company", true],
      ]);
      assert.equal(system.active, "company");

      await ok(h, "remote", "add", "--no-login", "--no-default", "mine", "mine.example.com");
      result = await ok(h, "remote", "use", "--exclusive", "company");
      assert.equal(result.stderr, 'INFO:    Remote "company" now in use.\n');
      system = RemoteConfig.parse(await read(h.system), h.system);
      assert.equal(system.remote("company")?.exclusive, true);

      const before = await read(h.user);
      await refused(h, [
        [
          2,
          "could not use mine: remote company has been set exclusive by the system administrator",
          "remote",
          "use",
          "mine",
        ],
        [
          2,
          "could not use other: remote company has been set exclusive by the system administrator",
          "remote",
          "add",
          "--no-login",
          "other",
          "other.example.com",
        ],
      ]);
      assert.equal(await read(h.user), before, "a refused change leaves the file as it was");
      await ok(h, "remote", "add", "--no-login", "--no-default", "other", "other.example.com");
      await ok(h, "remote", "use", "company");

      assert.equal(
        (await ok(h, "remote", "list")).stdout,
        [
          "",
          "NAME           URI                      DEFAULT?  GLOBAL?  EXCLUSIVE?  SECURE?",
          "DefaultRemote  cloud.apptainer.org                ✓                    ✓",
          "company        enterprise7.example.com  ✓         ✓        ✓           ✓",
          "mine           mine.example.com                                        ✓",
          "other          other.example.com                                       ✓",
          "",
        ].join("\n"),
      );

      // A non-exclusive `use --global` clears the flag; then users may switch again.
      await ok(h, "remote", "use", "--global", "company");
      await ok(h, "remote", "use", "mine");
      result = await ok(h, "remote", "remove", "--global", "company");
      assert.equal(result.stderr, 'INFO:    Remote "company" removed.\n');
      system = RemoteConfig.parse(await read(h.system), h.system);
      assert.equal(system.remote("company"), undefined);
      assert.equal(system.active, "");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);

Deno.test({
  name: "remote and keyserver changes to the system configuration need root",
  ignore: IS_ROOT && !CAN_UNSHARE,
  fn: async () => {
    const h = await remoteHome("siftrust-remote-");
    try {
      const cases: [string[], string][] = [
        [
          ["remote", "add", "--global", "a", "a.example.com"],
          /^ERROR: {3}Unable to modify global endpoint configuration file: not root user/.source,
        ],
        [
          ["remote", "remove", "--global", "DefaultRemote"],
          /^ERROR: {3}Unable to modify global endpoint configuration file: not root user/.source,
        ],
        [
          ["remote", "use", "--exclusive", "DefaultRemote"],
          /^ERROR: {3}unable to set endpoint as exclusive: not root user$/.source,
        ],
        [
          ["keyserver", "add", "https://pgp.example.com"],
          /^ERROR: {3}Unable to modify keyserver configuration: not root user/.source,
        ],
        [
          ["keyserver", "remove", "https://keys.openpgp.org"],
          /^ERROR: {3}Unable to modify keyserver configuration: not root user/.source,
        ],
      ];
      for (const [args, message] of cases) {
        const result = await runAsUser(h, ...args);
        assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr.trimEnd(), new RegExp(message));
      }
      assert.equal(await exists(`${h.env.SIFTRUST_SYSCONFDIR}`), false, "nothing written");
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------------------------
// keyserver

const LEGEND = "(* = system endpoint, ^ = default endpoint)\n";

rootTest(
  "keyserver add/remove/list: order, duplicates, the discovered default, the primary",
  async () => {
    const h = await remoteHome("siftrust-remote-");
    try {
      assert.equal(
        (await ok(h, "keyserver", "list")).stdout,
        `\nDefaultRemote *^\n   #1  https://keys.openpgp.org  🔒\n\n${LEGEND}`,
      );
      let result = await ok(h, "keyserver", "add", "--order", "1", "-i", "http://localhost:11371");
      assert.equal(
        result.stderr,
        'INFO:    Keyserver http://localhost:11371 added to remote "DefaultRemote" as #1.\n',
      );
      // The rendering Apptainer prints for this list.
      assert.equal(
        (await ok(h, "keyserver", "list")).stdout,
        "\nDefaultRemote *^\n   #1  http://localhost:11371    \n   #2  https://keys.openpgp.org  🔒\n\n" +
          LEGEND,
      );
      // The discovered default was materialized (non-External); the file is 0644.
      assert.equal(
        await read(h.system),
        `Active: DefaultRemote
Remotes:
    DefaultRemote:
        URI: cloud.apptainer.org
        System: true
        Exclusive: false
        Keyservers:
            - URI: http://localhost:11371
              Skip: false
              External: true
              Insecure: true
            - URI: https://keys.openpgp.org
              Skip: false
              External: false
              Insecure: false
`,
      );
      assert.equal(await mode(h.system), 0o644);

      await refused(h, [
        [2, "order must be > 0", "keyserver", "add", "--order", "0", "https://a.example"],
        [
          2,
          "order is out of range: maximum is 3",
          "keyserver",
          "add",
          "--order",
          "4",
          "https://a.example",
        ],
      ]);
      // Duplicates are found after normalization: hkp is http on 11371, hkps is https.
      await refused(h, [
        [2, "hkp://localhost is already configured", "keyserver", "add", "hkp://localhost"],
        [
          2,
          "hkps://keys.openpgp.org is already configured",
          "keyserver",
          "add",
          "hkps://keys.openpgp.org",
        ],
      ]);
      await ok(h, "keyserver", "add", "--order", "3", "https://pgp.example.com");

      // Removing the discovered default only hides it.
      result = await ok(h, "keyserver", "remove", "https://keys.openpgp.org");
      assert.equal(
        result.stderr,
        'INFO:    Keyserver https://keys.openpgp.org removed from remote "DefaultRemote".\n',
      );
      let config = RemoteConfig.parse(await read(h.system), h.system);
      assert.deepEqual(
        config.remote("DefaultRemote")!.keyservers.map((k) => [k.uri, k.skip]),
        [["http://localhost:11371", false], ["https://keys.openpgp.org", true], [
          "https://pgp.example.com",
          false,
        ]],
      );
      assert.equal(
        (await ok(h, "keyserver", "list")).stdout,
        "\nDefaultRemote *^\n   #1  http://localhost:11371   \n   #2  https://pgp.example.com  🔒\n\n" +
          LEGEND,
      );
      await fails(
        h,
        2,
        "order is out of range: maximum is 3",
        "keyserver",
        "add",
        "--order",
        "4",
        "https://b.example",
      );
      // Adding it back un-skips it, at the position asked for (as shown, not in the raw list).
      await ok(h, "keyserver", "add", "--order", "2", "hkps://keys.openpgp.org");
      config = RemoteConfig.parse(await read(h.system), h.system);
      assert.deepEqual(
        config.remote("DefaultRemote")!.keyservers.map((k) => [k.uri, k.skip, k.external]),
        [
          ["http://localhost:11371", false, true],
          ["https://keys.openpgp.org", false, false],
          ["https://pgp.example.com", false, true],
        ],
      );

      await fails(
        h,
        2,
        "keyserver https://nope.example is not configured",
        "keyserver",
        "remove",
        "https://nope.example",
      );
      await ok(h, "keyserver", "remove", "http://localhost:11371");
      await ok(h, "keyserver", "remove", "DefaultRemote", "https://pgp.example.com");
      config = RemoteConfig.parse(await read(h.system), h.system);
      assert.deepEqual(config.remote("DefaultRemote")!.keyservers.map((k) => k.uri), [
        "https://keys.openpgp.org",
      ]);
      await refused(h, [
        [
          2,
          "the primary keyserver https://keys.openpgp.org can't be removed",
          "keyserver",
          "remove",
          "https://keys.openpgp.org",
        ],
        [
          2,
          "no endpoint found: nope is not a remote",
          "keyserver",
          "add",
          "nope",
          "https://a.example",
        ],
        [2, /^ERROR: {3}unsupported protocol scheme ftp/, "keyserver", "add", "ftp://a.example"],
      ]);
    } finally {
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);

rootTest("keyserver add needs a system remote; list is sorted by name", async () => {
  const h = await remoteHome("siftrust-remote-");
  try {
    await Deno.mkdir(`${h.env.SIFTRUST_SYSCONFDIR}/apptainer`, { recursive: true });
    await Deno.writeTextFile(
      h.system,
      "Active: plain\nRemotes:\n    plain:\n        URI: cloud.apptainer.org\n" +
        "        System: false\n        Exclusive: false\n",
    );
    await fails(
      h,
      2,
      "current endpoint is not a system defined endpoint",
      "keyserver",
      "add",
      "https://a.example",
    );
    await Deno.writeTextFile(
      h.system,
      "Active: ''\nRemotes:\n    x:\n        URI: cloud.apptainer.org\n        System: true\n",
    );
    await fails(
      h,
      2,
      "no endpoint found: no default remote",
      "keyserver",
      "add",
      "https://a.example",
    );

    await Deno.remove(h.system);
    await ok(h, "remote", "add", "--global", "--no-default", "aaa", "cloud.apptainer.org");
    await ok(h, "keyserver", "add", "aaa", "https://pgp.example.com");
    // A user remote whose discovery fails (Deno refuses port 1 at once).
    await ok(h, "remote", "add", "--no-login", "-i", "Broken", "http://127.0.0.1:1");
    const result = await ok(h, "keyserver", "list");
    assert.equal(
      result.stdout,
      [
        "",
        "Broken ^",
        "   (unable to fetch associated keyserver info for this endpoint)",
        "",
        "DefaultRemote *",
        "   #1  https://keys.openpgp.org  🔒",
        "",
        "aaa *",
        "   #1  https://keys.openpgp.org  🔒",
        "   #2  https://pgp.example.com   🔒",
        "",
        LEGEND,
      ].join("\n"),
    );
    assert.equal(
      (await ok(h, "keyserver", "list", "aaa")).stdout,
      "\naaa *\n   #1  https://keys.openpgp.org  🔒\n   #2  https://pgp.example.com   🔒\n\n" +
        LEGEND,
    );
    await refused(h, [
      [2, 'no remote-endpoint with the name "nope" found', "keyserver", "list", "nope"],
      [2, /^ERROR: {3}give the keyserver URL to log out of/, "keyserver", "logout"],
    ]);
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Logins against small servers on 127.0.0.1

const GOOD_TOKEN = "g".repeat(200);
const BAD_TOKEN = "b".repeat(200);

/** A remote endpoint (discovery, token service, versions) and a keyserver that wants logins. */
function fakeServices(): { server: Deno.HttpServer; port: number; auth: string[] } {
  const auth: string[] = [];
  let port = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { pathname } = new URL(req.url);
    const base = `http://127.0.0.1:${port}`;
    if (pathname === "/assets/config/config.prod.json") {
      return Response.json({
        tokenAPI: { uri: `${base}/token` },
        keystoreAPI: { uri: base },
        libraryAPI: { uri: `${base}/library` },
        consentAPI: { nouri: true },
      });
    }
    if (pathname === "/token/v1/token-status") {
      const good = req.headers.get("Authorization") === `Bearer ${GOOD_TOKEN}`;
      return new Response(null, { status: good ? 200 : 404 });
    }
    if (pathname === "/version" || pathname === "/token/version") {
      return Response.json({ data: { version: "1.2.3" } });
    }
    if (pathname === "/pks") {
      const header = req.headers.get("Authorization") ?? "";
      auth.push(header);
      const good = header === "Basic dTpw" || header === "Bearer s3cret";
      return new Response(null, { status: good ? 200 : 401 });
    }
    return new Response("not found", { status: 404 });
  });
  port = server.addr.port;
  return { server, port, auth };
}

Deno.test("remote login: the token is checked before it is stored; status and logout", async () => {
  const h = await remoteHome("siftrust-remote-");
  const { server, port } = fakeServices();
  try {
    const good = `${h.dir}/good`;
    const bad = `${h.dir}/bad`;
    await Deno.writeTextFile(good, `${GOOD_TOKEN}\n`);
    await Deno.writeTextFile(bad, `${BAD_TOKEN}\n`);
    await Deno.writeTextFile(`${h.dir}/short`, "short\n");
    const url = `http://127.0.0.1:${port}`;

    // A failed login after `add` leaves the remote in place, without a token.
    await fails(
      h,
      1,
      "while verifying token: error response from server: Invalid Credentials",
      "remote",
      "add",
      "-i",
      "--tokenfile",
      bad,
      "e",
      url,
    );
    assert.equal(RemoteConfig.parse(await read(h.user), h.user).remote("e")?.token, "");

    let result = await ok(h, "remote", "login", "--tokenfile", good, "e");
    assert.equal(
      result.stderr,
      [
        "INFO:    Access Token Verified!",
        `WARNING: credentials are stored unencrypted in ${h.user}`,
        `INFO:    Token stored in ${h.user}`,
        "",
      ].join("\n"),
    );
    assert.equal(RemoteConfig.parse(await read(h.user), h.user).remote("e")?.token, GOOD_TOKEN);
    assert.equal(await mode(h.user), 0o600);

    const before = await read(h.user);
    await refused(h, [
      [
        1,
        "while verifying token: error response from server: Invalid Credentials",
        "remote",
        "login",
        "--tokenfile",
        bad,
      ],
      [
        2,
        `the token in ${h.dir}/short has 5 characters: an access token has 200 to 4096`,
        "remote",
        "login",
        "--tokenfile",
        `${h.dir}/short`,
      ],
    ]);
    assert.equal(await read(h.user), before, "the old token is kept");
    result = await ok(h, "remote", "login", "--tokenfile", good, "e");
    assert.doesNotMatch(result.stderr, /WARNING/, "the warning is given once");

    result = await ok(h, "remote", "status", "e");
    assert.equal(result.stderr, "INFO:    Checking status of remote: e\n");
    assert.equal(
      result.stdout,
      [
        "",
        "SERVICE    STATUS  VERSION  URI",
        `keyserver  OK      1.2.3    ${url}`,
        `library    N/A              ${url}/library`,
        `token      OK      1.2.3    ${url}/token`,
        "",
        "Valid authentication token set (logged in).",
        "",
      ].join("\n"),
    );
    result = await ok(h, "remote", "logout");
    assert.equal(result.stderr, "INFO:    Logout succeeded\n");
    assert.equal(RemoteConfig.parse(await read(h.user), h.user).remote("e")?.token, "");
    assert.match(
      (await ok(h, "remote", "status")).stdout,
      /No authentication token set \(logged out\)\.\n$/,
    );

    await refused(h, [
      [
        1,
        /^ERROR: {3}remote DefaultRemote \(cloud\.apptainer\.org\) has no token service/,
        "remote",
        "login",
        "--tokenfile",
        good,
        "DefaultRemote",
      ],
      [
        2,
        "--tokenfile is only supported for login to a remote endpoint, not OCI (docker/oras) or keyservers",
        "remote",
        "login",
        "--tokenfile",
        good,
        "docker://registry.example.com",
      ],
    ]);
  } finally {
    await server.shutdown();
    await Deno.remove(h.dir, { recursive: true });
  }
});

Deno.test("remote status without a reachable endpoint says so at once", async () => {
  const h = await remoteHome("siftrust-remote-");
  try {
    // A port nothing listens on.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await ok(h, "remote", "add", "--no-login", "-i", "gone", `http://127.0.0.1:${port}`);
    const started = Date.now();
    await fails(
      h,
      1,
      new RegExp(
        `^ERROR: {3}cannot check remote gone \\(127\\.0\\.0\\.1:${port}\\): cannot reach http://127\\.0\\.0\\.1:${port}/assets/config/config\\.prod\\.json`,
      ),
      "remote",
      "status",
    );
    assert.ok(Date.now() - started < 8000, "no hang");
  } finally {
    await Deno.remove(h.dir, { recursive: true });
  }
});

rootTest(
  "keyserver login: only External keyservers; checked with Basic or Bearer; logout",
  async () => {
    const h = await remoteHome("siftrust-remote-");
    const { server, port, auth } = fakeServices();
    try {
      const ks = `http://127.0.0.1:${port}`;
      await fails(
        h,
        2,
        new RegExp(
          `^ERROR: {3}while login to ${ks}/pks: no external keyserver configuration found for ${ks}/pks`,
        ),
        "keyserver",
        "login",
        "-u",
        "u",
        "-p",
        "p",
        `${ks}/pks`,
      );
      await ok(h, "keyserver", "add", "--insecure", ks);

      let result = await ok(h, "keyserver", "login", "-u", "u", "-p", "p", `${ks}/pks`);
      assert.equal(
        result.stderr,
        [
          `WARNING: ${ks}/pks is configured as insecure, forcing insecure flag for login`,
          `WARNING: credentials are stored unencrypted in ${h.user}`,
          `INFO:    Token stored in ${h.user}`,
          "",
        ].join("\n"),
      );
      assert.deepEqual(RemoteConfig.parse(await read(h.user), h.user).credentials, [
        { uri: `${ks}/pks`, auth: "Basic dTpw", insecure: true },
      ]);
      assert.equal(await mode(h.user), 0o600);

      const before = await read(h.user);
      await refused(h, [
        [
          1,
          `while login to ${ks}/pks: error response from server: 401 Unauthorized`,
          "keyserver",
          "login",
          "-u",
          "u",
          "-p",
          "wrong",
          `${ks}/pks`,
        ],
        [2, "a password is required", "keyserver", "login", "--password-stdin", `${ks}/pks`],
      ]);
      assert.equal(await read(h.user), before);

      // No username: a bearer token, which replaces the login for the same scheme and host.
      result = await runCli(["keyserver", "login", "--password-stdin", `${ks}/pks`], {
        env: h.env,
        stdin: "s3cret\r\n",
      });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(RemoteConfig.parse(await read(h.user), h.user).credentials, [
        { uri: `${ks}/pks`, auth: "Bearer s3cret", insecure: true },
      ]);
      assert.deepEqual(auth, ["Basic dTpw", "Basic dTp3cm9uZw==", "Bearer s3cret"]);

      result = await ok(h, "keyserver", "logout", ks);
      assert.equal(result.stderr, "INFO:    Logout succeeded\n");
      assert.deepEqual(RemoteConfig.parse(await read(h.user), h.user).credentials, []);
    } finally {
      await server.shutdown();
      await Deno.remove(h.dir, { recursive: true });
    }
  },
);
