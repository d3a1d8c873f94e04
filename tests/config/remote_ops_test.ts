/**
 * The remote and keyserver-list operations of core/config, called directly (no CLI): endpoint
 * URI rules, adding/removing/choosing remotes with exclusivity and the root rule (the root
 * check injected), keyserver positions, hidden defaults and the primary keyserver (discovery
 * injected), and the one "holds secrets" rule.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  addKeyserver,
  addRemote,
  type ConfigFiles,
  DiscoveryError,
  type KeyserverEntry,
  keyserverListing,
  readConfig,
  readEffective,
  RemoteConfig,
  RemoteError,
  type RemoteErrorKind,
  removeKeyserver,
  removeRemote,
  useRemote,
} from "../../core/config/mod.ts";
import { holdsSecrets } from "../../core/config/remote_config.ts";
import { insertAtOrder } from "../../core/config/keyserver_list.ts";
import { normalizeEndpointUri } from "../../core/config/endpoint_uri.ts";

/** A user and a system file in a temp folder; root or not as asked. */
async function files(root = true): Promise<ConfigFiles & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-ops-" });
  return {
    dir,
    user: `${dir}/home/remote.yaml`,
    system: `${dir}/etc/remote.yaml`,
    userIsSystem: false,
    isRoot: () => root,
  };
}

async function rejectsWith(kind: RemoteErrorKind, promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => assert.fail(`expected ${kind}`), (e: unknown) => e);
  assert.ok(error instanceof RemoteError, String(error));
  assert.equal(error.kind, kind, error.message);
  return error.message;
}

function throwsKind(kind: RemoteErrorKind, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof RemoteError && e.kind === kind);
}

Deno.test("normalizeEndpointUri: Apptainer's stored form; http needs insecure", () => {
  assert.deepEqual(normalizeEndpointUri("https://Cloud.example.com//a/./b/../c/?x#y", true), {
    uri: "Cloud.example.com/a/c",
    insecure: false,
    insecureIgnored: true,
  });
  assert.deepEqual(normalizeEndpointUri("cloud.example.com/", false), {
    uri: "cloud.example.com",
    insecure: false,
    insecureIgnored: false,
  });
  assert.deepEqual(normalizeEndpointUri("HTTP://127.0.0.1:8080", true), {
    uri: "127.0.0.1:8080",
    insecure: true,
    insecureIgnored: false,
  });
  throwsKind("insecure-required", () => normalizeEndpointUri("http://a.example", false));
  throwsKind("invalid-uri", () => normalizeEndpointUri("  ", false));
  throwsKind("invalid-uri", () => normalizeEndpointUri("ftp://a.example", true));
  throwsKind("invalid-uri", () => normalizeEndpointUri("https:///", false));
  throwsKind("invalid-uri", () => normalizeEndpointUri("a b.example", false));
});

Deno.test("holdsSecrets: a token or a login's Auth; a registry entry holds none", () => {
  const config = RemoteConfig.empty("x");
  assert.equal(holdsSecrets(config), false);
  config.setCredentials([{ uri: "docker://r.example", auth: "", insecure: false }]);
  assert.equal(holdsSecrets(config), false);
  config.setCredentials([{ uri: "https://k.example", auth: "Bearer t", insecure: false }]);
  assert.equal(holdsSecrets(config), true);
  const withToken = RemoteConfig.empty("y");
  withToken.setRemote({
    name: "r",
    uri: "r.example",
    token: "t",
    system: false,
    exclusive: false,
    insecure: false,
    keyservers: [],
  });
  assert.equal(holdsSecrets(withToken), true);
});

Deno.test("addRemote, useRemote, removeRemote: names, defaults, exclusivity and root", async () => {
  const f = await files();
  try {
    const added = await addRemote(f, {
      name: "mine",
      uri: "mine.example.com",
      insecure: false,
      makeDefault: true,
    });
    assert.equal(added.path, f.user);
    assert.equal(added.insecureIgnored, false);
    const https = await addRemote(f, {
      name: "secure",
      uri: "https://secure.example.com/",
      insecure: true,
      makeDefault: false,
    });
    assert.deepEqual([https.endpoint.uri, https.endpoint.insecure, https.insecureIgnored], [
      "secure.example.com",
      false,
      true,
    ]);
    await rejectsWith(
      "insecure-required",
      addRemote(f, {
        name: "plain",
        uri: "http://plain.example",
        insecure: false,
        makeDefault: false,
      }),
    );
    assert.equal((await readConfig(f.user))?.active, "mine");
    await rejectsWith(
      "exists",
      addRemote(f, { name: "mine", uri: "x", insecure: false, makeDefault: false }),
    );
    await rejectsWith(
      "invalid-name",
      addRemote(f, { name: " ", uri: "x", insecure: false, makeDefault: false }),
    );

    // The administrator adds an exclusive remote: users cannot choose another default.
    await addRemote(f, {
      name: "company",
      uri: "company.example.com",
      insecure: false,
      global: true,
      makeDefault: false,
    });
    await useRemote(f, "company", { exclusive: true });
    const system = await readConfig(f.system);
    assert.equal(system?.remote("company")?.exclusive, true);
    assert.ok(system?.remote("DefaultRemote"), "the shipped default was written first");
    assert.equal(
      await rejectsWith("exclusive", useRemote(f, "mine")),
      "could not use mine: remote company has been set exclusive by the system administrator",
    );
    await rejectsWith("global-remote", removeRemote(f, "company"));
    await rejectsWith("not-found", removeRemote(f, "nope"));
    await removeRemote(f, "mine");
    assert.equal((await readConfig(f.user))?.remote("mine"), undefined);
    assert.equal((await readConfig(f.user))?.active, "");
    // The effective view: the exclusive system remote is the default.
    assert.equal((await readEffective(f)).config.active, "company");

    const user = { ...f, isRoot: () => false };
    await rejectsWith(
      "not-root",
      addRemote(user, { name: "g", uri: "g", insecure: false, global: true, makeDefault: false }),
    );
    await rejectsWith("not-root", removeRemote(user, "company", true));
    await rejectsWith("not-root", useRemote(user, "company", { exclusive: true }));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("insertAtOrder counts only the entries shown (not skipped ones)", () => {
  const entry = (uri: string, skip = false): KeyserverEntry => ({
    uri,
    skip,
    external: true,
    insecure: false,
  });
  const list = [entry("a"), entry("hidden", true), entry("b")];
  insertAtOrder(list, entry("x"), 2);
  assert.deepEqual(list.map((k) => k.uri), ["a", "hidden", "x", "b"]);
  insertAtOrder(list, entry("y"), 9);
  assert.deepEqual(list.map((k) => k.uri), ["a", "hidden", "x", "b", "y"]);
});

Deno.test("keyserver lists: positions, hidden defaults, the primary keyserver, listing", async () => {
  const f = await files();
  // Discovery injected: a system remote that lists no keyserver discovers this one.
  const discover = (endpoint: { uri: string }) => {
    if (endpoint.uri === "broken.example") {
      return Promise.reject(new DiscoveryError("unreachable", "cannot reach it"));
    }
    return Promise.resolve(new Map([["keyserver", "https://found.example"]]));
  };
  try {
    await addRemote(f, {
      name: "site",
      uri: "site.example",
      insecure: false,
      global: true,
      makeDefault: true,
    });
    await rejectsWith(
      "order",
      addKeyserver(f, { uri: "https://a.example", order: 0 }, { discover }),
    );
    assert.equal(
      await rejectsWith(
        "order",
        addKeyserver(f, { uri: "https://a.example", order: 3 }, { discover }),
      ),
      "order is out of range: maximum is 2",
    );
    assert.deepEqual(
      await addKeyserver(f, { uri: "hkp://a.example", order: 1, insecure: true }, { discover }),
      { remote: "site", uri: "hkp://a.example", position: 1 },
    );
    // http://a.example:11371 is hkp://a.example.
    await rejectsWith("exists", addKeyserver(f, { uri: "http://a.example:11371" }, { discover }));
    const list = (await readConfig(f.system))!.remote("site")!.keyservers;
    assert.deepEqual(list.map((k) => [k.uri, k.external, k.insecure]), [
      ["hkp://a.example", true, true],
      ["https://found.example", false, false],
    ]);

    // Removing the discovered one hides it; then the last one shown cannot go.
    await removeKeyserver(f, { uri: "https://found.example" }, { discover });
    assert.equal(
      await rejectsWith("primary-keyserver", removeKeyserver(f, { uri: "hkp://a.example" })),
      "the primary keyserver hkp://a.example can't be removed",
    );
    await rejectsWith("not-found", removeKeyserver(f, { uri: "https://found.example" }));
    // Adding it back un-hides it at the position asked for.
    await addKeyserver(f, { uri: "https://found.example", order: 1 }, { discover });
    assert.deepEqual(
      (await readConfig(f.system))!.remote("site")!.keyservers.map((k) => [k.uri, k.skip]),
      [["https://found.example", false], ["hkp://a.example", false]],
    );

    await rejectsWith("not-found", addKeyserver(f, { remote: "nope", uri: "https://b.example" }));
    await rejectsWith("invalid-uri", addKeyserver(f, { uri: "" }));
    const notRoot = { ...f, isRoot: () => false };
    await rejectsWith("not-root", addKeyserver(notRoot, { uri: "https://b.example" }));
    await rejectsWith("not-root", removeKeyserver(notRoot, { uri: "hkp://a.example" }));

    // A user remote whose discovery fails is listed without keyservers.
    await addRemote(f, {
      name: "Broken",
      uri: "broken.example",
      insecure: false,
      makeDefault: false,
    });
    const { config } = await readEffective(f);
    const listing = await keyserverListing(config, undefined, { discover });
    assert.deepEqual(
      listing.map((r) => [r.name, r.system, r.active, r.keyservers?.map((k) => k.uri)]),
      [
        ["Broken", false, false, undefined],
        ["DefaultRemote", true, false, ["https://found.example"]],
        ["site", true, true, ["https://found.example", "hkp://a.example"]],
      ],
    );
    await rejectsWith("not-found", keyserverListing(config, "nope", { discover }));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});
