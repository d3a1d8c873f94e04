/**
 * Logins, called directly (no CLI) against small servers on 127.0.0.1: endpoint tokens
 * (token file rules, the check, storing, `remote status`), keyserver logins (only External
 * keyservers; Basic or Bearer; forced insecure), and OCI registry logins (target parsing,
 * `docker-config.json` rules, a Bearer challenge followed to its realm, storing and logout).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  addKeyserver,
  type ConfigFiles,
  type Endpoint,
  endpointLogin,
  endpointStatus,
  keyserverLogin,
  keyserverLoginTarget,
  keyserverLogout,
  readConfig,
  readTokenFile,
  RemoteError,
  type RemoteErrorKind,
} from "../../core/config/mod.ts";
import {
  RegistryError,
  type RegistryErrorKind,
  registryLogin,
  registryLogout,
  registryTarget,
} from "../../core/registry/mod.ts";
import { bearerChallenge } from "../../core/registry/login.ts";
import { parseDockerConfig } from "../../core/registry/docker_config.ts";

const GOOD_TOKEN = "g".repeat(200);

async function files(): Promise<ConfigFiles & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-logins-" });
  return {
    dir,
    user: `${dir}/home/remote.yaml`,
    system: `${dir}/etc/remote.yaml`,
    userIsSystem: false,
    isRoot: () => true,
  };
}

async function rejectsWith(
  kind: RemoteErrorKind | RegistryErrorKind,
  promise: Promise<unknown>,
): Promise<string> {
  const error = await promise.then(() => assert.fail(`expected ${kind}`), (e: unknown) => e);
  assert.ok(error instanceof RemoteError || error instanceof RegistryError, String(error));
  assert.equal(error.kind, kind, error.message);
  return error.message;
}

/** An endpoint (discovery, token service, versions), a keyserver and a token-auth registry. */
function fakeServices() {
  let port = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    const base = `http://127.0.0.1:${port}`;
    const auth = req.headers.get("Authorization") ?? "";
    switch (url.pathname) {
      case "/assets/config/config.prod.json":
        return Response.json({
          tokenAPI: { uri: `${base}/token/` },
          keystoreAPI: { uri: base },
          libraryAPI: { uri: `${base}/library` },
        });
      case "/token/v1/token-status":
        return new Response(null, { status: auth === `Bearer ${GOOD_TOKEN}` ? 200 : 404 });
      case "/token/version":
        return Response.json({ version: "2.0" });
      case "/version":
        return Response.json({ data: { version: "1.2.3" } });
      case "/pks":
        return new Response(null, {
          status: auth === "Basic dTpw" || auth === "Bearer s3cret" ? 200 : 401,
        });
      case "/v2/":
        return new Response(null, {
          status: 401,
          headers: {
            "WWW-Authenticate": `Bearer realm="${base}/auth",service="reg",scope="x:y"`,
          },
        });
      case "/auth": {
        const ok = auth === "Basic dTpw" && url.searchParams.get("service") === "reg" &&
          url.searchParams.get("scope") === "x:y";
        return new Response(null, { status: ok ? 200 : 401 });
      }
    }
    return new Response("not found", { status: 404 });
  });
  port = server.addr.port;
  return { server, port };
}

function endpoint(port: number, token = ""): Endpoint {
  return {
    name: "e",
    uri: `127.0.0.1:${port}`,
    token,
    system: false,
    exclusive: false,
    insecure: true,
    keyservers: [],
  };
}

Deno.test("readTokenFile: the first line, 200 to 4096 characters", async () => {
  const f = await files();
  try {
    await Deno.writeTextFile(`${f.dir}/good`, ` ${GOOD_TOKEN}\r\nsecond line\n`);
    assert.equal(await readTokenFile(`${f.dir}/good`), GOOD_TOKEN);
    await Deno.writeTextFile(`${f.dir}/short`, "short\n");
    assert.equal(
      await rejectsWith("token-file", readTokenFile(`${f.dir}/short`)),
      `the token in ${f.dir}/short has 5 characters: an access token has 200 to 4096`,
    );
    await rejectsWith("token-file", readTokenFile(`${f.dir}/missing`));
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("endpoint tokens: checked before they are stored; status reports services and token", async () => {
  const f = await files();
  const { server, port } = fakeServices();
  try {
    assert.equal(
      await rejectsWith("rejected", endpointLogin(f, endpoint(port), "b".repeat(200))),
      "while verifying token: error response from server: Invalid Credentials",
    );
    assert.equal(await readConfig(f.user), undefined, "nothing written");
    assert.deepEqual(await endpointLogin(f, endpoint(port), GOOD_TOKEN), { firstSecret: true });
    assert.equal((await readConfig(f.user))?.remote("e")?.token, GOOD_TOKEN);
    assert.equal((await Deno.stat(f.user)).mode! & 0o777, 0o600);
    assert.deepEqual(await endpointLogin(f, endpoint(port), GOOD_TOKEN), { firstSecret: false });
    await rejectsWith(
      "secrets-in-system-file",
      endpointLogin({ ...f, userIsSystem: true }, endpoint(port), GOOD_TOKEN),
    );

    const base = `http://127.0.0.1:${port}`;
    assert.deepEqual(await endpointStatus(endpoint(port, GOOD_TOKEN)), {
      services: [
        { name: "keyserver", uri: base, ok: true, version: "1.2.3" },
        { name: "library", uri: `${base}/library`, ok: false, version: "" },
        { name: "token", uri: `${base}/token/`, ok: true, version: "2.0" },
      ],
      token: "valid",
    });
    assert.equal((await endpointStatus(endpoint(port, "bad"))).token, "invalid");
    assert.equal((await endpointStatus(endpoint(port))).token, "none");
  } finally {
    await server.shutdown();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("endpoint without a token service, and one that does not answer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const f = await files();
  try {
    const builtin = { ...endpoint(0), name: "DefaultRemote", uri: "cloud.apptainer.org" };
    assert.match(
      await rejectsWith("no-service", endpointLogin(f, builtin, GOOD_TOKEN)),
      /^remote DefaultRemote \(cloud\.apptainer\.org\) has no token service/,
    );
    assert.match(
      await rejectsWith("unreachable", endpointStatus(endpoint(closed))),
      new RegExp(`^cannot check remote e \\(127\\.0\\.0\\.1:${closed}\\): cannot reach http://`),
    );
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("keyserver logins: only External keyservers, forced insecure, Basic or Bearer", async () => {
  const f = await files();
  const { server, port } = fakeServices();
  const ks = `http://127.0.0.1:${port}`;
  try {
    await rejectsWith("no-external-keyserver", keyserverLoginTarget(f, `${ks}/pks`, false));
    await addKeyserver(f, { uri: ks, insecure: true });
    const target = await keyserverLoginTarget(f, `${ks}/pks`, false);
    assert.deepEqual(target, {
      uri: `${ks}/pks`,
      checkUrl: `${ks}/pks`,
      insecure: true,
      forcedInsecure: true,
    });
    assert.equal(
      await rejectsWith("rejected", keyserverLogin(f, target, { username: "u", password: "x" })),
      `while login to ${ks}/pks: error response from server: 401 Unauthorized`,
    );
    assert.deepEqual(await keyserverLogin(f, target, { username: "u", password: "p" }), {
      firstSecret: true,
    });
    assert.deepEqual((await readConfig(f.user))?.credentials, [
      { uri: `${ks}/pks`, auth: "Basic dTpw", insecure: true },
    ]);
    // No username: the password is a bearer token; it replaces the login to the same host.
    assert.deepEqual(await keyserverLogin(f, target, { username: "", password: "s3cret" }), {
      firstSecret: false,
    });
    assert.deepEqual((await readConfig(f.user))?.credentials, [
      { uri: `${ks}/pks`, auth: "Bearer s3cret", insecure: true },
    ]);
    await keyserverLogout(f, ks);
    assert.deepEqual((await readConfig(f.user))?.credentials, []);
  } finally {
    await server.shutdown();
    await Deno.remove(f.dir, { recursive: true });
  }
});

Deno.test("registry references, docker-config.json rules and Bearer challenges", () => {
  assert.deepEqual(registryTarget("DOCKER://Reg.Example:5000/"), {
    scheme: "docker",
    host: "reg.example:5000",
  });
  assert.equal(registryTarget("myremote"), undefined);
  assert.throws(
    () => registryTarget("oras://reg.example/path"),
    (e: unknown) => e instanceof RegistryError && e.kind === "invalid-target",
  );
  assert.deepEqual(parseDockerConfig(" \n", "p"), {});
  assert.deepEqual(parseDockerConfig('{"auths":{},"other":1}', "p"), { auths: {}, other: 1 });
  for (const text of ["{", "[]", '{"auths": []}']) {
    assert.throws(
      () => parseDockerConfig(text, "p"),
      (e: unknown) => e instanceof RegistryError && e.kind === "docker-config",
      text,
    );
  }
  assert.deepEqual(bearerChallenge('Bearer realm="https://a/token",service="s"'), {
    realm: "https://a/token",
    service: "s",
  });
  assert.equal(bearerChallenge('Basic realm="x"'), undefined);
  assert.equal(bearerChallenge('Bearer service="s"'), undefined);
  assert.equal(bearerChallenge(null), undefined);
});

Deno.test("registry login: the token realm is asked; stored in docker-config.json; logout", async () => {
  const f = await files();
  const { server, port } = fakeServices();
  const host = `127.0.0.1:${port}`;
  const docker = `${f.dir}/home/docker-config.json`;
  // Apptainer's folder holds a docker-config.json, so that is the file used.
  const env = (name: string) => ({ APPTAINER_CONFIGDIR: `${f.dir}/home` })[name];
  try {
    const target = registryTarget(`docker://${host}`)!;
    assert.match(
      await rejectsWith(
        "rejected",
        registryLogin(f, target, { username: "u", password: "x", insecure: true, env }),
      ),
      /refused the username or password \(401 Unauthorized\); nothing was stored$/,
    );
    assert.equal(await readConfig(f.user), undefined, "nothing written");
    await Deno.mkdir(`${f.dir}/home`);
    await Deno.writeTextFile(docker, '{"credsStore": "keep-me"}');
    const stored = await registryLogin(f, target, {
      username: "u",
      password: "p",
      insecure: true,
      env,
    });
    assert.deepEqual(stored, { authFile: docker, firstSecret: true });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)), {
      credsStore: "keep-me",
      auths: { [host]: { auth: "dTpw" } },
    });
    assert.equal((await Deno.stat(docker)).mode! & 0o777, 0o600);
    await registryLogin(f, registryTarget(`oras://${host}`)!, {
      username: "u",
      password: "p",
      insecure: true,
      env,
    });
    assert.deepEqual((await readConfig(f.user))?.credentials.map((c) => c.uri), [
      `docker://${host}`,
      `oras://${host}`,
    ]);
    // The oras login still uses the shared secret.
    assert.deepEqual(await registryLogout(f, target, { env }), {
      authFile: docker,
      secret: "kept",
    });
    assert.ok(JSON.parse(await Deno.readTextFile(docker)).auths[host]);
    assert.deepEqual(await registryLogout(f, registryTarget(`oras://${host}`)!, { env }), {
      authFile: docker,
      secret: "removed",
    });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(docker)).auths, {});
    assert.deepEqual((await readConfig(f.user))?.credentials, []);
  } finally {
    await server.shutdown();
    await Deno.remove(f.dir, { recursive: true });
  }
});
