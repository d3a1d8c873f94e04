/**
 * The one configuration resolution (core/config/resolve.ts): the same configuration gives
 * `verify`, the `key` commands and a policy's `check` the same keyservers — including a
 * system `remote.yaml` with no active remote and no remotes (the built-in default, as
 * Apptainer's `getRemote` falls back to it), and one with remotes but none active (the same
 * error for all) — and every location comes from the environment map passed in.
 */

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  DEFAULT_ENDPOINT_URI,
  DEFAULT_KEYSERVER,
  discoverServices,
  type Endpoint,
  type PolicyTrust,
  ResolutionError,
  resolveRun,
  type RunContext,
  SYSTEM_CACHE_DIR,
  SYSTEM_POLICY,
  TRUST_VARIABLES,
} from "../../core/config/mod.ts";
import { sanitizedEnvironment } from "../../core/config/environment.ts";
import { IGNORED_WHEN_SANITIZED } from "../../core/config/environment.ts";
import { homeInPasswd } from "../../core/config/accounts.ts";
import { KeySet } from "../../core/keys/mod.ts";
import { policyKeys } from "../../policy/mod.ts";
import type { Policy } from "../../policy/model.ts";

/** A temporary folder with a user's and a system's configuration folders. */
async function configDirs(): Promise<{
  root: string;
  env: Record<string, string>;
  writeSystem(text: string): Promise<void>;
  writeUser(text: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const root = await Deno.makeTempDir({ prefix: "siftrust-resolve-" });
  const env = {
    HOME: join(root, "home"),
    SIFTRUST_SYSCONFDIR: join(root, "etc"),
    APPTAINER_CONFIGDIR: join(root, "config"),
  };
  await Deno.mkdir(join(env.SIFTRUST_SYSCONFDIR, "apptainer"), { recursive: true });
  await Deno.mkdir(env.APPTAINER_CONFIGDIR, { recursive: true });
  return {
    root,
    env,
    writeSystem: (text) =>
      Deno.writeTextFile(join(env.SIFTRUST_SYSCONFDIR, "apptainer", "remote.yaml"), text),
    writeUser: (text) => Deno.writeTextFile(join(env.APPTAINER_CONFIGDIR, "remote.yaml"), text),
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

/** A policy key block that uses the keyrings and the user's remote. */
const USER_REMOTE_POLICY: PolicyTrust = { keys: { files: [], local: true, offline: false } };

/**
 * Discovery must not reach the network in these tests: only the built-in endpoint, whose
 * keyserver is hard-wired, is answered.
 */
function noDiscovery(endpoint: Endpoint): Promise<Map<string, string>> {
  if (endpoint.uri === DEFAULT_ENDPOINT_URI) return discoverServices(endpoint);
  throw new Error(`unexpected discovery of ${endpoint.uri}`);
}

/** The contexts of the commands: verify, a key command (with --keysdir), a policy check. */
function commandContexts(env: Record<string, string>): Record<string, RunContext> {
  const base = { env, uid: 1000, euid: 1000, discover: noDiscovery };
  return {
    verify: { ...base },
    key: { ...base, keysDir: "/elsewhere/keys" },
    check: { ...base, policy: USER_REMOTE_POLICY },
  };
}

const URIS = (list: { uri: string }[]) => list.map((k) => k.uri);

Deno.test("no active remote and no remotes: every command falls back to the built-in default keyserver", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem('Active: ""\nRemotes: {}\n');
  for (const [command, context] of Object.entries(commandContexts(dirs.env))) {
    const choice = await resolveRun(context).keyservers();
    assertEquals(choice.source, "builtin", command);
    assertEquals(URIS(choice.keyservers), [DEFAULT_KEYSERVER], command);
  }
  // The policy layer (check and exec) gets the same list.
  const keys = await policyKeys(
    { path: "p", signers: [], keys: USER_REMOTE_POLICY.keys } as unknown as Policy,
    { env: dirs.env, uid: 1000, euid: 1000, discover: noDiscovery },
    () => new KeySet([]),
  );
  assertEquals(URIS(keys.keyservers), [DEFAULT_KEYSERVER]);
  assertEquals(keys.warnings, []);
});

Deno.test("no configuration file at all: the built-in default, for every command", async () => {
  await using dirs = await configDirs();
  for (const [command, context] of Object.entries(commandContexts(dirs.env))) {
    const choice = await resolveRun(context).keyservers();
    assertEquals(
      [choice.source, URIS(choice.keyservers)],
      ["builtin", [DEFAULT_KEYSERVER]],
      command,
    );
  }
});

Deno.test("remotes but none active: the same error for every command; check keeps its keyrings", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem(
    'Active: ""\nRemotes:\n    site:\n        URI: example.invalid\n        System: true\n        Exclusive: false\n',
  );
  for (const [command, context] of Object.entries(commandContexts(dirs.env))) {
    await rejects(
      resolveRun(context).keyservers(),
      (error) =>
        error instanceof ResolutionError && error.kind === "no-default-remote" &&
        error.message.includes("available endpoints are: site"),
      command,
    );
  }
  const keys = await policyKeys(
    { path: "p", signers: [], keys: USER_REMOTE_POLICY.keys } as unknown as Policy,
    { env: dirs.env, uid: 1000, euid: 1000, discover: noDiscovery },
    () => new KeySet([]),
  );
  assertEquals(keys.keyservers, []);
  assertEquals(keys.warnings, []);
  assertEquals(keys.keyserverProblem?.kind, "no-default-remote");
  assertEquals(
    keys.keyserverProblem?.message,
    "no default endpoint set; available endpoints are: site",
  );
});

const SITE = (exclusive: boolean) =>
  `Active: site\nRemotes:\n    site:\n        URI: example.invalid\n        System: true\n        Exclusive: ${exclusive}\n        Keyservers:\n` +
  "            - URI: https://a.example\n              Skip: false\n              External: true\n              Insecure: false\n" +
  "            - URI: https://skipped.example\n              Skip: true\n              External: true\n              Insecure: false\n" +
  "            - URI: hkp://b.example\n              Skip: false\n              External: true\n              Insecure: true\n" +
  "Credentials:\n    - URI: https://a.example\n      Auth: Basic dTpw\n      Insecure: false\n";

Deno.test("a configured remote: the same ordered keyservers, flags and credentials for every command", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem(SITE(false));
  const expected = [
    { uri: "https://a.example", insecure: false, authorization: "Basic dTpw" },
    { uri: "hkp://b.example", insecure: true, authorization: undefined },
  ];
  for (const [command, context] of Object.entries(commandContexts(dirs.env))) {
    const resolution = resolveRun(context);
    const choice = await resolution.keyservers();
    assertEquals([choice.source, choice.remote], ["remote", "site"], command);
    assertEquals(choice.keyservers, expected, command);
    assertEquals((await resolution.primaryKeyserver()).keyserver, expected[0], command);
  }
});

Deno.test("--url: that keyserver alone, without credentials; refused by an exclusive remote unless listed", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem(SITE(false));
  const base = { env: dirs.env, uid: 1000, euid: 1000, discover: noDiscovery };
  const choice = await resolveRun({ ...base, url: "http://127.0.0.1:1" }).keyservers();
  assertEquals([choice.source, choice.keyservers], ["url", [{
    uri: "http://127.0.0.1:1",
    insecure: false,
  }]]);
  await rejects(
    resolveRun({ ...base, url: "ftp://x" }).keyservers(),
    (error) => error instanceof ResolutionError && error.kind === "bad-url",
  );
  await dirs.writeSystem(SITE(true));
  await rejects(
    resolveRun({ ...base, url: "http://127.0.0.1:1" }).keyservers(),
    (error) => error instanceof ResolutionError && error.kind === "url-not-allowed",
  );
  const allowed = await resolveRun({ ...base, url: "https://a.example/x" }).keyservers();
  assertEquals(URIS(allowed.keyservers), ["https://a.example/x"]);
});

Deno.test("a user remote of the system's name wins over it, with a notice", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem(SITE(false));
  await dirs.writeUser(
    "Active: site\nRemotes:\n    site:\n        URI: mine.invalid\n        System: false\n        Exclusive: false\n        Keyservers:\n" +
      "            - URI: https://mine.example\n              Skip: false\n              External: true\n              Insecure: false\n",
  );
  const choice = await resolveRun(commandContexts(dirs.env).verify).keyservers();
  assertEquals(URIS(choice.keyservers), ["https://mine.example"]);
  assertEquals(choice.messages, [
    { level: "info", text: "site defined both globally and individually, using individual" },
  ]);
});

Deno.test("a policy's own keyservers, its remote (exclusive or followed by the user's), offline, --local", async () => {
  await using dirs = await configDirs();
  await dirs.writeSystem(SITE(false));
  const base = { env: dirs.env, uid: 0, euid: 0 };
  const keys = { files: [], local: false, offline: false };
  const own = await resolveRun({
    ...base,
    policy: { keys: { ...keys, keyservers: [{ uri: "https://p.example" }] } },
  }).keyservers();
  assertEquals([own.source, own.keyservers], ["policy", [{
    uri: "https://p.example",
    insecure: false,
  }]]);
  const discovered: string[] = [];
  const discover = (endpoint: Endpoint) => {
    discovered.push(endpoint.uri);
    return Promise.resolve(new Map([["keyserver", "https://policy-remote.example"]]));
  };
  const remote = { name: "lab", uri: "lab.invalid", exclusive: true };
  const exclusive = await resolveRun({ ...base, discover, policy: { keys, remote } })
    .keyservers();
  assertEquals(URIS(exclusive.keyservers), ["https://policy-remote.example"]);
  const shared = await resolveRun({
    ...base,
    discover,
    policy: { keys, remote: { ...remote, exclusive: false } },
  }).keyservers();
  assertEquals(URIS(shared.keyservers), [
    "https://policy-remote.example",
    "https://a.example",
    "hkp://b.example",
  ]);
  assertEquals(discovered, ["lab.invalid", "lab.invalid"]);
  for (
    const context of [
      { ...base, policy: { keys: { ...keys, offline: true } } },
      { ...base, local: true },
    ]
  ) {
    const none = await resolveRun({ ...context, discover: noDiscovery }).keyservers();
    assertEquals([none.source, none.keyservers], ["none", []]);
  }
});

Deno.test("locations come from the environment map passed in, and the variables read are recorded", () => {
  const env = {
    HOME: "/h",
    SIFTRUST_SYSCONFDIR: "/s",
    XDG_CACHE_HOME: "/c",
    HTTPS_PROXY: "http://proxy:3128",
    no_proxy: "localhost",
  };
  const resolution = resolveRun({ env, uid: 1000, euid: 1000 });
  assertEquals(resolution.locations, {
    systemConfigDir: "/s/apptainer",
    userConfigDir: "/h/.apptainer",
    systemConfig: "/s/apptainer/remote.yaml",
    userConfig: "/h/.apptainer/remote.yaml",
    dockerConfig: "/h/.apptainer/docker-config.json",
    keysDir: "/h/.apptainer/keys",
    publicKeyring: "/h/.apptainer/keys/pgp-public",
    secretKeyring: "/h/.apptainer/keys/pgp-secret",
    globalKeyring: "/s/apptainer/global-pgp-public",
    cacheDir: "/c/siftrust",
    keyCacheDir: "/c/siftrust/keys",
    decisionCacheDir: "/c/siftrust/decisions",
  });
  assertEquals(resolution.proxy, { https: "http://proxy:3128", noProxy: "localhost" });
  const read = resolution.variables();
  for (const name of ["HOME", "SIFTRUST_SYSCONFDIR", "XDG_CACHE_HOME", "APPTAINER_KEYSDIR"]) {
    ok(read.some((r) => r.name === name), name);
  }
  assertEquals(read.find((r) => r.name === "APPTAINER_KEYSDIR")?.set, false);
  // Every variable a resolution reads is one of the documented trust variables.
  for (const { name } of read) ok(TRUST_VARIABLES.includes(name), name);
  // --keysdir replaces the key folder; a relative XDG_CACHE_HOME is ignored; no HOME is "/".
  const other = resolveRun({
    env: { XDG_CACHE_HOME: "relative" },
    uid: 1000,
    euid: 1000,
    keysDir: "/k",
  });
  assertEquals(other.locations.publicKeyring, "/k/pgp-public");
  assertEquals(other.locations.keyCacheDir, "//.cache/siftrust/keys");
  assertEquals(other.locations.globalKeyring, "/etc/apptainer/global-pgp-public");
  // The files a run depends on: a policy's own keyrings and, unless offline, the configuration.
  assertEquals(
    resolveRun({
      env,
      uid: 0,
      euid: 0,
      policy: { keys: { files: ["/p/keys.gpg"], local: false, offline: true } },
    }).files(),
    ["/p/keys.gpg"],
  );
  assertEquals(resolution.files(), [
    "/s/apptainer/global-pgp-public",
    "/h/.apptainer/keys/pgp-public",
    "/s/apptainer/remote.yaml",
    "/h/.apptainer/remote.yaml",
    "/c/siftrust/keys",
  ]);
});

Deno.test("a remote.yaml that cannot be parsed is a config error for every command", async () => {
  await using dirs = await configDirs();
  await dirs.writeUser("Active: site\nRemotes: [\n");
  for (const [command, context] of Object.entries(commandContexts(dirs.env))) {
    await rejects(
      resolveRun(context).keyservers(),
      (error) => error instanceof ResolutionError && error.kind === "config",
      command,
    );
  }
});

Deno.test("enforcing runs: exec, admit, and any run of effective uid 0", () => {
  const cases: [Partial<RunContext>, string, boolean, boolean][] = [
    [{ command: "check", uid: 1000, euid: 1000 }, "none", false, false],
    [{ command: "verify", uid: 1000, euid: 1000 }, "none", false, false],
    [{ command: "check", uid: 1000, euid: 0 }, "root", true, false],
    [{ command: "verify", uid: 0, euid: 0 }, "root", true, false],
    [{ command: "exec", uid: 1000, euid: 1000 }, "exec", true, true],
    [{ command: "exec", uid: 1000, euid: 0 }, "exec", true, true],
    [{ command: "admit", uid: 0, euid: 0 }, "admit", true, true],
  ];
  for (const [context, reason, enforcing, sanitized] of cases) {
    const e = resolveRun({ env: {}, uid: 0, euid: 0, ...context }).enforcement;
    assertEquals([e.reason, e.enforcing, e.sanitized], [reason, enforcing, sanitized], reason);
    assertEquals(e.owners, [...new Set([0, context.euid])]);
    // exec and admit trust only root's caches, never one their invoker owns.
    assertEquals(e.cacheOwners, sanitized ? [0] : e.owners);
  }
});

/** An environment in which a user points every trust input at their own files. */
const USER_ENV = {
  HOME: "/home/u",
  SIFTRUST_SYSCONFDIR: "/home/u/etc",
  SIFTRUST_POLICY: "/home/u/policy.yaml",
  SIFTRUST_CACHEDIR: "/home/u/cache",
  APPTAINER_CONFIGDIR: "/home/u/conf",
  APPTAINER_KEYSDIR: "/home/u/keys",
  XDG_CACHE_HOME: "/home/u/.xdg",
  HTTPS_PROXY: "http://127.0.0.1:9",
  all_proxy: "http://127.0.0.1:9",
  SSL_CERT_FILE: "/home/u/ca.pem",
  PATH: "/usr/bin:/bin",
};

Deno.test("exec and admit ignore the environment's trust inputs: system policy, config and caches", () => {
  for (const command of ["exec", "admit"]) {
    for (const euid of [0, 1000]) {
      const resolution = resolveRun({
        env: USER_ENV,
        uid: 1000,
        euid,
        command,
        accountHome: euid === 0 ? "/root" : "/home/u",
      });
      const l = resolution.locations;
      assertEquals(resolution.policyFile(), SYSTEM_POLICY, command);
      assertEquals(l.globalKeyring, "/etc/apptainer/global-pgp-public");
      assertEquals(l.systemConfig, "/etc/apptainer/remote.yaml");
      assertEquals(l.decisionCacheDir, `${SYSTEM_CACHE_DIR}/decisions`);
      assertEquals(l.keyCacheDir, `${SYSTEM_CACHE_DIR}/keys`);
      // HOME is the effective user's, from the account database.
      assertEquals(
        l.publicKeyring,
        `${euid === 0 ? "/root" : "/home/u"}/.apptainer/keys/pgp-public`,
      );
      assertEquals(resolution.proxy, {});
      assertEquals(resolution.enforcement.unignorable, []);
      // Not one of the user's variables was read.
      const set = resolution.variables().filter((v) => v.set).map((v) => v.name);
      assertEquals(set, ["HOME"]);
    }
  }
  // --policy still names a policy.
  const named = resolveRun({
    env: USER_ENV,
    uid: 1000,
    euid: 0,
    command: "exec",
    policyFile: "/p",
  });
  assertEquals(named.policyFile(), "/p");
  // TLS settings the runtime read at start cannot be ignored: the run must refuse.
  const tls = resolveRun({
    env: { ...USER_ENV, DENO_CERT: "/home/u/ca.pem" },
    uid: 1000,
    euid: 0,
    command: "exec",
  });
  assertEquals(tls.enforcement.unignorable, ["DENO_CERT"]);
  assertEquals(sanitizedEnvironment(USER_ENV, "/root"), { PATH: "/usr/bin:/bin", HOME: "/root" });
  for (const name of Object.keys(USER_ENV).filter((n) => n !== "PATH")) {
    ok(IGNORED_WHEN_SANITIZED.includes(name), name);
  }
});

Deno.test("root's own runs take root's environment, but keep caches out of any HOME", () => {
  const root = resolveRun({ env: USER_ENV, uid: 0, euid: 0, command: "check" });
  assertEquals(root.policyFile(), "/home/u/policy.yaml");
  assertEquals(root.locations.globalKeyring, "/home/u/etc/apptainer/global-pgp-public");
  // SIFTRUST_CACHEDIR is root's explicit choice (checked for ownership like the rest).
  assertEquals(root.locations.decisionCacheDir, "/home/u/cache/decisions");
  // Without it, root's caches are the system's, whatever HOME and XDG_CACHE_HOME say.
  const { SIFTRUST_CACHEDIR: _, ...withoutCacheDir } = USER_ENV;
  const system = resolveRun({ env: withoutCacheDir, uid: 1000, euid: 0, command: "check" });
  assertEquals(system.locations.decisionCacheDir, `${SYSTEM_CACHE_DIR}/decisions`);
  assertEquals(system.locations.keyCacheDir, `${SYSTEM_CACHE_DIR}/keys`);
  assertEquals(system.proxy, { https: "http://127.0.0.1:9", http: "http://127.0.0.1:9" });
  // A user deciding for themselves keeps their own caches.
  const user = resolveRun({ env: withoutCacheDir, uid: 1000, euid: 1000, command: "check" });
  assertEquals(user.locations.decisionCacheDir, "/home/u/.xdg/siftrust/decisions");
});

Deno.test("homeInPasswd: the home field of the uid's line", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000:U,,,:/home/u:/bin/sh\nbad\n";
  assertEquals(homeInPasswd(passwd, 0), "/root");
  assertEquals(homeInPasswd(passwd, 1000), "/home/u");
  assertEquals(homeInPasswd(passwd, 4242), undefined);
});
