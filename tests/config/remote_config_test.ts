/**
 * The `remote.yaml` model (core/config): strict parse errors that name file, line and column;
 * fields siftrust does not know survive a rewrite; the layout Apptainer emits; and the
 * system-into-user merge rules.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError, type Endpoint, RemoteConfig } from "../../core/config/mod.ts";
import { builtinConfig, effectiveConfig, mergeSystemInto } from "../../core/config/merge.ts";

const F = "/etc/apptainer/remote.yaml";

function endpoint(name: string, fields: Partial<Endpoint> = {}): Endpoint {
  return {
    name,
    uri: `${name}.example.com`,
    token: "",
    system: false,
    exclusive: false,
    insecure: false,
    keyservers: [],
    ...fields,
  };
}

/** The parse error of `text`, as thrown. */
function parseError(text: string): string {
  try {
    RemoteConfig.parse(text, F);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail(`no error for ${JSON.stringify(text)}`);
}

Deno.test("parse: bad YAML names the file, line and column", () => {
  assert.match(
    parseError("Active: a\nRemotes:\n  a: : b\n"),
    /^\/etc\/apptainer\/remote\.yaml:3:\d+: /,
  );
  assert.match(parseError("Active: a\nActive: b\n"), /^\/etc\/apptainer\/remote\.yaml:2:1: /);
  assert.match(parseError("Remotes:\n\tx: 1\n"), /^\/etc\/apptainer\/remote\.yaml:2:\d+: /);
});

Deno.test("parse: wrong types name the field and its position", () => {
  const cases: [string, string][] = [
    ["Active: [a, b]\n", "1:9: Active must be a string"],
    ["Remotes: [a]\n", "1:10: Remotes must be a mapping of names to remotes"],
    ["Remotes:\n  a: text\n", "2:6: Remotes.a must be a mapping"],
    ["Remotes:\n  a:\n    System: maybe\n", "3:13: Remotes.a.System must be true or false"],
    ["Remotes:\n  a:\n    URI: {x: 1}\n", "3:10: Remotes.a.URI must be a string"],
    [
      "Remotes:\n  a:\n    Keyservers:\n      - URI: https://k\n        Skip: 1\n",
      "5:15: Remotes.a.Keyservers[0].Skip must be true or false",
    ],
    ["Remotes:\n  a:\n    Keyservers: https://k\n", "3:17: Remotes.a.Keyservers must be a list"],
    ["Credentials:\n  URI: x\n", "2:3: Credentials must be a list"],
    ["Credentials:\n  - text\n", "2:5: Credentials[0] must be a mapping"],
    [
      "Credentials:\n  - URI: x\n    Insecure: no\n",
      "3:15: Credentials[0].Insecure must be true or false",
    ],
    ["- a\n- b\n", "1:1: remote.yaml must be a mapping (Active, Remotes, Credentials)"],
  ];
  for (const [text, expected] of cases) assert.equal(parseError(text), `${F}:${expected}`);
});

Deno.test("parse: an empty file is an empty configuration; numbers are read as strings", () => {
  for (const text of ["", "\n", "# only a comment\n"]) {
    const config = RemoteConfig.parse(text, F);
    assert.equal(config.active, "");
    assert.deepEqual(config.remotes, []);
    assert.deepEqual(config.credentials, []);
  }
  const config = RemoteConfig.parse("Active: 42\nRemotes:\n  42:\n    URI: 10.0.0.1\n", F);
  assert.equal(config.active, "42");
  assert.equal(config.remote("42")?.uri, "10.0.0.1");
});

Deno.test("rewrite: unknown fields and comments survive; known fields are written in order", () => {
  const text = [
    "# site configuration",
    "Active: a",
    "Remotes:",
    "    a:",
    "        Future: [1, 2] # a field of a later Apptainer",
    "        Exclusive: false",
    "        System: false",
    "        URI: a.example.com",
    "        Keyservers:",
    "            - URI: https://k.example.com",
    "              Weight: 3",
    "              Skip: false",
    "              External: true",
    "              Insecure: false",
    "Credentials:",
    "    - URI: https://k.example.com",
    "      Auth: Basic dTpw",
    "      Insecure: false",
    "      Note: keep me",
    "Extra:",
    "    nested: true",
    "",
  ].join("\n");
  const config = RemoteConfig.parse(text, F);
  const a = config.remote("a")!;
  config.setRemote({ ...a, token: "t0k3n" });
  config.setRemote(endpoint("b"));
  config.setCredentials([
    ...config.credentials,
    { uri: "docker://registry.example.com", auth: "", insecure: true },
  ]);
  const out = config.toString();
  // Where the unknown field of a remote goes is siftrust's choice: somewhere in its block.
  const future = "        Future: [ 1, 2 ] # a field of a later Apptainer\n";
  const block = out.slice(out.indexOf("    a:\n"), out.indexOf("    b:\n"));
  assert.ok(block.includes(future), out);
  assert.equal(
    out.replace(future, ""),
    [
      "# site configuration",
      "Active: a",
      "Remotes:",
      "    a:",
      "        URI: a.example.com",
      "        Token: t0k3n",
      "        System: false",
      "        Exclusive: false",
      "        Keyservers:",
      "            - URI: https://k.example.com",
      "              Skip: false",
      "              External: true",
      "              Insecure: false",
      "              Weight: 3",
      "    b:",
      "        URI: b.example.com",
      "        System: false",
      "        Exclusive: false",
      "Credentials:",
      "    - URI: https://k.example.com",
      "      Auth: Basic dTpw",
      "      Insecure: false",
      "      Note: keep me",
      "    - URI: docker://registry.example.com",
      "      Insecure: true",
      "Extra:",
      "    nested: true",
      "",
    ].join("\n"),
  );
  // And it reads back the same.
  const again = RemoteConfig.parse(out, F);
  assert.deepEqual(again.remotes, config.remotes);
  assert.deepEqual(again.credentials, config.credentials);
  assert.equal(again.toString(), out);
});

/** A remote.yaml with keyservers and credentials, as Apptainer (go-yaml) writes it. */
const APPTAINER_LAYOUT = `Active: DefaultRemote
Remotes:
    DefaultRemote:
        URI: cloud.apptainer.org
        System: true
        Exclusive: false
        Keyservers:
            - URI: https://keys.openpgp.org
              Skip: false
              External: false
              Insecure: false
            - URI: http://localhost:11371
              Skip: false
              External: true
              Insecure: true
Credentials:
    - URI: https://pgp.example.com
      Auth: Basic dTpw
      Insecure: false
`;

Deno.test("layout: a fresh file is written as Apptainer writes it", () => {
  const empty = RemoteConfig.empty(F);
  assert.equal(empty.toString(), 'Active: ""\nRemotes: {}\n');

  const config = RemoteConfig.empty(F);
  config.active = "DefaultRemote";
  config.setRemote(endpoint("DefaultRemote", {
    uri: "cloud.apptainer.org",
    system: true,
    keyservers: [
      { uri: "https://keys.openpgp.org", skip: false, external: false, insecure: false },
      { uri: "http://localhost:11371", skip: false, external: true, insecure: true },
    ],
  }));
  config.setCredentials([{ uri: "https://pgp.example.com", auth: "Basic dTpw", insecure: false }]);
  assert.equal(config.toString(), APPTAINER_LAYOUT);

  // Apptainer's own file reads back unchanged, and an empty token or a false Insecure is left out.
  const parsed = RemoteConfig.parse(APPTAINER_LAYOUT, F);
  assert.equal(parsed.toString(), APPTAINER_LAYOUT);
  parsed.setRemote({ ...parsed.remote("DefaultRemote")!, token: "", insecure: false });
  assert.equal(parsed.toString(), APPTAINER_LAYOUT);

  // Removing the last login drops the Credentials key; removing a remote leaves `{}`.
  parsed.setCredentials([]);
  parsed.deleteRemote("DefaultRemote");
  parsed.active = "";
  assert.doesNotMatch(parsed.toString(), /Credentials/);
  assert.deepEqual(RemoteConfig.parse(parsed.toString(), F).remotes, []);
});

Deno.test("merge: a user remote of the same name wins, with a notice", () => {
  const system = RemoteConfig.empty(F);
  system.setRemote(endpoint("shared", { uri: "system.example.com", system: true }));
  system.active = "shared";
  const user = RemoteConfig.empty("/home/u/.apptainer/remote.yaml");
  user.setRemote(endpoint("shared", { uri: "mine.example.com" }));
  const notices = mergeSystemInto(user, system);
  assert.deepEqual(notices, ["shared defined both globally and individually, using individual"]);
  assert.equal(user.remote("shared")?.uri, "mine.example.com");
  assert.equal(user.remote("shared")?.system, false);
  // No active remote in the user file: the system's is used.
  assert.equal(user.active, "shared");
});

Deno.test("merge: system copies are refreshed, or added without the system's token", () => {
  const keyservers = [
    { uri: "https://keys.example.com", skip: false, external: true, insecure: false },
  ];
  const system = RemoteConfig.empty(F);
  system.setRemote(
    endpoint("site", { uri: "new.example.com", system: true, keyservers, token: "SYSTEM" }),
  );
  system.setRemote(endpoint("other", { system: true, token: "SYSTEM-TOKEN" }));
  system.active = "other";

  const user = RemoteConfig.empty("/u/remote.yaml");
  user.setRemote(endpoint("site", { uri: "old.example.com", system: true, token: "MINE" }));
  user.setRemote(endpoint("own"));
  user.active = "own";
  assert.deepEqual(mergeSystemInto(user, system), []);

  const site = user.remote("site")!;
  assert.equal(site.uri, "new.example.com");
  assert.deepEqual(site.keyservers, keyservers);
  assert.equal(site.token, "MINE", "the user's token for a system remote is kept");
  const other = user.remote("other")!;
  assert.equal(other.system, true);
  assert.equal(other.token, "", "system tokens are not copied");
  assert.equal(user.active, "own", "the user's active remote stays");
});

Deno.test("merge: an exclusive system remote becomes the active one", () => {
  const system = RemoteConfig.empty(F);
  system.setRemote(endpoint("company", { system: true, exclusive: true }));
  system.active = "company";
  for (const copied of [false, true]) {
    const user = RemoteConfig.empty("/u/remote.yaml");
    user.setRemote(endpoint("mine"));
    if (copied) user.setRemote(endpoint("company", { system: true }));
    user.active = "mine";
    mergeSystemInto(user, system);
    assert.equal(user.active, "company");
    assert.equal(user.remote("company")?.exclusive, true);
  }
  // A user remote that shadows the exclusive one is not forced.
  const shadow = RemoteConfig.empty("/u/remote.yaml");
  shadow.setRemote(endpoint("company"));
  shadow.setRemote(endpoint("mine"));
  shadow.active = "mine";
  mergeSystemInto(shadow, system);
  assert.equal(shadow.active, "mine");
});

Deno.test("effective configuration: built-in default, either file alone, or both merged", () => {
  const builtin = effectiveConfig(undefined, undefined);
  assert.equal(builtin.builtin, true);
  assert.equal(builtin.config.active, "DefaultRemote");
  assert.equal(builtin.config.remote("DefaultRemote")?.uri, "cloud.apptainer.org");
  assert.equal(builtinConfig().remote("DefaultRemote")?.system, true);

  const system = RemoteConfig.empty(F);
  system.setRemote(endpoint("s", { system: true }));
  system.active = "s";
  const user = RemoteConfig.empty("/u/remote.yaml");
  user.setRemote(endpoint("u"));
  assert.equal(effectiveConfig(undefined, system).config.active, "s");
  // A missing system file stands for the one Apptainer installs: the built-in default remote.
  const userAlone = effectiveConfig(user, undefined).config;
  assert.equal(userAlone.active, "DefaultRemote");
  assert.deepEqual(userAlone.remotes.map((r) => r.name).sort(), ["DefaultRemote", "u"]);
  const merged = effectiveConfig(user, system).config;
  assert.deepEqual(
    merged.remotes.map((r) => r.name),
    ["s", "u"],
    "remotes are kept sorted by name",
  );
  assert.equal(merged.active, "s");
  assert.equal(user.remote("s"), undefined, "the user's own configuration is not changed");
});
