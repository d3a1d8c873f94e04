/**
 * `verify`, `key search` and `check` contact the keyservers the one configuration resolution
 * chooses, observed on the wire: two HKP stubs on 127.0.0.1 record the lookups they get, and
 * a proxy stub records the CONNECT requests for the built-in default keyserver
 * (keys.openpgp.org, reached through `HTTPS_PROXY`, refused there, so nothing leaves the
 * machine). The image is examples/example-signed.sif, whose signer's key is in no keyring of
 * the test user, so every command has to ask a keyserver.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { type IsolatedEnv, preparedEnv, tempDir } from "../helpers/env.ts";

const IMAGE = `${REPO_ROOT}examples/example-signed.sif`;
const SIGNER = "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A";

/** An HKP stub that answers every request with 404 and records the lookups it got. */
class HkpStub {
  readonly url: string;
  readonly requests: string[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor(readonly name: string) {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const url = new URL(request.url);
      this.requests.push(`${url.pathname}?op=${url.searchParams.get("op")}`);
      return new Response("not found", { status: 404 });
    });
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async stop(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** An HTTP proxy stub that records CONNECT targets and refuses them (403). */
class ProxyStub {
  readonly url: string;
  readonly connects: string[] = [];
  readonly #listener: Deno.Listener;
  readonly #done: Promise<void>;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.url = `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
    this.#done = this.#serve();
  }

  async #serve(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#answer(conn);
    } catch {
      // Closed.
    }
  }

  async #answer(conn: Deno.Conn): Promise<void> {
    try {
      const buffer = new Uint8Array(4096);
      const n = await conn.read(buffer);
      const line = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
      this.connects.push(line.split(" ").slice(0, 2).join(" "));
      await conn.write(
        new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"),
      );
    } catch {
      // The client went away.
    } finally {
      conn.close();
    }
  }

  async stop(): Promise<void> {
    this.#listener.close();
    await this.#done;
  }
}

/** A user with nothing in their keyrings, a system folder for `remote.yaml`, and a cache. */
async function userEnv(root: string): Promise<IsolatedEnv> {
  const env = await preparedEnv(root);
  await Deno.mkdir(join(env.SIFTRUST_SYSCONFDIR, "apptainer"));
  return env;
}

/** A policy that trusts the example signer, with the keyrings and the user's remote. */
async function writePolicy(root: string): Promise<string> {
  const path = join(root, "policy.yaml");
  await Deno.writeTextFile(
    path,
    `version: 1\nsigners:\n  demo:\n    fingerprint: "${SIGNER}"\n`,
  );
  return path;
}

/** The commands compared: verify, key search and check, as `env`'s user runs them. */
function commands(policy: string): Record<string, string[]> {
  return {
    verify: ["verify", IMAGE],
    search: ["key", "search", "someone@example.org"],
    check: ["check", "--no-cache", "--policy", policy, IMAGE],
  };
}

Deno.test("no active remote and no remotes: verify, key search and check all ask the built-in keys.openpgp.org", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-resolve-cli-" });
  const proxy = new ProxyStub();
  try {
    const env = {
      ...(await userEnv(root)),
      HTTPS_PROXY: proxy.url,
      https_proxy: proxy.url,
      NO_PROXY: "",
      no_proxy: "",
      // Deno's own update check would go through the proxy too.
      DENO_NO_UPDATE_CHECK: "1",
    };
    await Deno.writeTextFile(
      join(env.SIFTRUST_SYSCONFDIR, "apptainer", "remote.yaml"),
      'Active: ""\nRemotes: {}\n',
    );
    const policy = await writePolicy(root);
    for (
      const [command, args] of Object.entries({
        verify: ["verify", IMAGE],
        search: ["key", "search", "someone@example.org"],
        check: ["check", "--no-cache", "--policy", policy, IMAGE],
      })
    ) {
      const before = proxy.connects.length;
      const result = await runCli(args, { env });
      ok(result.code !== 0 && result.code !== 70, `${command}: ${result.code} ${result.stderr}`);
      const asked = proxy.connects.slice(before).filter((c) => !c.includes("deno.land"));
      ok(
        asked.length > 0 && asked.every((c) => c === "CONNECT keys.openpgp.org:443"),
        `${command} asked ${JSON.stringify(asked)}: ${result.stderr}`,
      );
      if (command !== "check") {
        ok(
          result.stderr.includes(
            "WARNING: No default remote in use, falling back to default keyserver: https://keys.openpgp.org",
          ),
          result.stderr,
        );
      }
    }
  } finally {
    await proxy.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a remote with two keyservers: verify and check walk both in order, key search asks the primary", async () => {
  const root = await Deno.makeTempDir({ prefix: "siftrust-resolve-cli-" });
  const first = new HkpStub("first");
  const second = new HkpStub("second");
  try {
    const env = await userEnv(root);
    const entry = (uri: string) =>
      `            - URI: ${uri}\n              Skip: false\n              External: true\n              Insecure: false\n`;
    await Deno.writeTextFile(
      join(env.SIFTRUST_SYSCONFDIR, "apptainer", "remote.yaml"),
      "Active: site\nRemotes:\n    site:\n        URI: example.invalid\n        System: true\n        Exclusive: false\n        Keyservers:\n" +
        entry(first.url) + entry(second.url),
    );
    const policy = await writePolicy(root);
    const seen: Record<string, [string[], string[]]> = {};
    for (const [command, args] of Object.entries(commands(policy))) {
      const result = await runCli(args, { env });
      ok(result.code !== 0 && result.code !== 70, `${command}: ${result.code} ${result.stderr}`);
      seen[command] = [first.requests.splice(0), second.requests.splice(0)];
    }
    const lookup = "/pks/lookup?op=get";
    assertEquals(seen.verify, [[lookup], [lookup]]);
    assertEquals(seen.check, seen.verify);
    assertEquals(seen.search, [["/pks/lookup?op=index"], []]);
  } finally {
    await first.stop();
    await second.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("remotes but none active: verify and key search refuse (exit 2) with the same reason check warns about", async () => {
  await using rootTemp = await tempDir("siftrust-resolve-cli-");
  const root = rootTemp.dir;
  const env = await userEnv(root);
  await Deno.writeTextFile(
    join(env.SIFTRUST_SYSCONFDIR, "apptainer", "remote.yaml"),
    'Active: ""\nRemotes:\n    site:\n        URI: example.invalid\n        System: true\n        Exclusive: false\n',
  );
  const run = commands(await writePolicy(root));
  const verify = await runCli(run.verify, { env });
  const search = await runCli(run.search, { env });
  const check = await runCli(run.check, { env });
  const reason =
    "no default endpoint set: use 'siftrust remote use <endpoint>', available endpoints are: site";
  assertEquals(verify.code, 2, verify.stderr);
  ok(
    verify.stderr.includes(`Error while getting keyserver client config: ${reason}`),
    verify.stderr,
  );
  assertEquals(search.code, 2, search.stderr);
  ok(search.stderr.includes(`Keyserver client failed: ${reason}`), search.stderr);
  // check decides with its keyrings alone: the signer's key is unavailable (exit 4).
  ok(check.stderr.includes(`WARNING: ${reason}`), check.stderr);
  assertEquals(check.code, 4, check.stderr);
});
