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
  TRUST_VARIABLES,
} from "../../core/config/mod.ts";
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
    { path: "p", keys: USER_REMOTE_POLICY.keys } as Policy,
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
    { path: "p", keys: USER_REMOTE_POLICY.keys } as Policy,
    { env: dirs.env, uid: 1000, euid: 1000, discover: noDiscovery },
    () => new KeySet([]),
  );
  assertEquals(keys.keyservers, []);
  ok(keys.warnings.some((w) => w.startsWith("no default endpoint set")), keys.warnings.join("\n"));
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
    uid: 0,
    euid: 0,
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
