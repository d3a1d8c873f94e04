/**
 * Keyservers for real: `siftrust key push|search|pull` and `verify` against SKS (a real HKP
 * keyserver) on 127.0.0.1, and against small misbehaving servers — a closed port, one that
 * never answers, one that answers 500, 401, junk, or a key other than the one asked for.
 *
 * The SKS database is built once per file; each test starts its own SKS (and fake servers) on
 * free ports and stops them in `finally`. Keys come from gpg; the signed image from
 * `siftrust sign`.
 */

import {
  deepStrictEqual as assertEquals,
  doesNotMatch,
  match,
  ok,
  rejects,
} from "node:assert/strict";
import { join } from "node:path";
import { USER_AGENT } from "../../core/http/mod.ts";
import * as openpgp from "openpgp";
import {
  HkpError,
  lookupKey,
  pushKey,
  RemoteKeyFinder,
  type RemoteKeyWarning,
  searchIndex,
} from "../../core/keyserver/mod.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { GpgHome, type GpgKey } from "../helpers/gpg.ts";
import { peerTest } from "../helpers/peers.ts";
import { preparedEnv } from "../helpers/env.ts";
import { buildImage } from "../helpers/images.ts";

// ------------------------------------------------------------------------------------------
// Servers

/** A port nothing listens on (at the time of the call). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** An SKS keyserver on 127.0.0.1, over the file's database. */
class Sks {
  readonly url: string;
  readonly #child: Deno.ChildProcess;

  private constructor(url: string, child: Deno.ChildProcess) {
    this.url = url;
    this.#child = child;
  }

  static async start(base: string): Promise<Sks> {
    const port = closedPort();
    const child = new Deno.Command("sks", {
      args: ["db", "-basedir", base, "-hkp_address", "127.0.0.1", "-hkp_port", String(port)],
      cwd: base,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const sks = new Sks(`http://127.0.0.1:${port}`, child);
    const deadline = Date.now() + 15_000;
    while (true) {
      try {
        const response = await fetch(`${sks.url}/pks/lookup?op=stats`);
        await response.body?.cancel();
        if (response.ok) return sks;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await sks.stop();
        throw new Error("SKS did not start within 15 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }, 5000);
    await this.#child.status;
    clearTimeout(timer);
  }
}

/** A request a fake keyserver received. */
interface Received {
  method: string;
  pathAndQuery: string;
  headers: Headers;
  body: string;
}

/** A tiny HTTP server on 127.0.0.1 that answers as `answer` says and records requests. */
class FakeKeyserver {
  readonly url: string;
  readonly received: Received[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #held: (() => void)[] = [];

  constructor(answer: (request: Request) => Response | "hang") {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const url = new URL(request.url);
        this.received.push({
          method: request.method,
          pathAndQuery: url.pathname + url.search,
          headers: request.headers,
          body: await request.text(),
        });
        const response = answer(request);
        if (response !== "hang") return response;
        await new Promise<void>((resolve) => this.#held.push(resolve));
        return new Response("too late", { status: 503 });
      },
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  async stop(): Promise<void> {
    for (const release of this.#held) release();
    await this.#server.shutdown();
  }
}

/** Stops servers (those that were started), whatever happens. */
async function stopAll(...servers: ({ stop(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(servers.map((server) => server?.stop()));
}

// ------------------------------------------------------------------------------------------
// Fixture: the SKS database, gpg keys, a signed image (made once per file).

interface Fixture {
  root: string;
  /** SKS's -basedir. */
  sksBase: string;
  gpg: GpgHome;
  /** The signer: its public key goes to the keyserver. */
  alice: GpgKey;
  aliceArmored: string;
  /** Another key, which a misbehaving keyserver sends instead of Alice's. */
  mallory: GpgKey;
  malloryArmored: string;
  /** An image signed by Alice. */
  image: string;
}

let fixturePromise: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  fixturePromise ??= makeFixture();
  return fixturePromise;
}

async function makeFixture(): Promise<Fixture> {
  const root = await Deno.makeTempDir({ prefix: "siftrust-keyserver-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(root, { recursive: true });
    } catch {
      // Gone already.
    }
  });
  const sksBase = join(root, "sks");
  for (
    const dir of ["etc/sks", "var/lib/sks/dump", "var/run/sks", "var/log/sks", "var/spool/sks"]
  ) {
    await Deno.mkdir(join(sksBase, dir), { recursive: true });
  }
  await Deno.writeTextFile(
    join(sksBase, "etc/sks/sksconf"),
    "hostname: localhost\nhkp_address: 127.0.0.1\nrecon_address: 127.0.0.1\ndisable_mailsync:\ndontgossip:\n",
  );
  await Deno.writeTextFile(join(sksBase, "etc/sks/membership"), "");
  await Deno.writeTextFile(join(sksBase, "etc/sks/mailsync"), "");
  const build = await new Deno.Command("sks", {
    args: ["build", "-basedir", sksBase, "-stdoutlog"],
    cwd: sksBase,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (build.code !== 0) {
    throw new Error(`sks build failed: ${new TextDecoder().decode(build.stderr)}`);
  }

  const gpg = await GpgHome.create();
  const alice = await gpg.generate("rsa2048");
  const mallory = await gpg.generate("passphrase");
  const aliceArmored = await Deno.readTextFile(
    await gpg.exportPublic([alice], join(root, "alice.asc"), { armor: true }),
  );
  const malloryArmored = await Deno.readTextFile(
    await gpg.exportPublic([mallory], join(root, "mallory.asc"), { armor: true }),
  );

  const image = join(root, "image.sif");
  await buildImage(image);
  const signer = await userEnv(root, "signer");
  await gpg.makeKeysDir(signer.env.APPTAINER_KEYSDIR, { publicKeys: [alice], secretKeys: [alice] });
  const signed = await runCli(["sign", image], { env: signer.env });
  if (signed.code !== 0) throw new Error(`siftrust sign failed: ${signed.stderr}`);
  return { root, sksBase, gpg, alice, aliceArmored, mallory, malloryArmored, image };
}

let users = 0;

/**
 * A fresh siftrust user: HOME, key folder, configuration folder, system folder and cache in
 * `root`, and a `remote.yaml` whose active remote lists these keyservers (none: no file).
 */
async function userEnv(
  root: string,
  name: string,
  keyservers?: string[],
): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = join(root, `${name}-${++users}`);
  const env = await preparedEnv(dir);
  if (keyservers !== undefined) {
    const entries = keyservers.map((uri) =>
      `            - URI: ${uri}\n              Skip: false\n              External: true\n              Insecure: true\n`
    ).join("");
    await Deno.writeTextFile(
      join(env.APPTAINER_CONFIGDIR, "remote.yaml"),
      `Active: site\nRemotes:\n    site:\n        URI: example.invalid\n        System: false\n        Exclusive: false\n        Keyservers:\n${entries}`,
    );
  }
  return { dir, env };
}

/** Puts a key on a keyserver (straight HKP, to set the scene). */
async function publish(url: string, armored: string): Promise<void> {
  await pushKey({ uri: url, insecure: false }, armored);
}

const warnings = (result: CliResult) =>
  result.stderr.split("\n").filter((line) => line.startsWith("WARNING: "));

/** The key block, wrapped in HTML as SKS wraps it. */
const htmlWrapped = (armored: string) =>
  `<html><head><title>Get</title></head><body><pre>\n${armored}</pre></body></html>\n`;

// ------------------------------------------------------------------------------------------
// Tests

Deno.test("HKP requests: sorted query, key IDs with their leading zeros, headers, status errors", async () => {
  let answer = () => new Response("", { status: 200 });
  const fake = new FakeKeyserver(() => answer());
  try {
    const withAuth = {
      uri: fake.url + "/ignored/path",
      insecure: false,
      authorization: "Basic eDp5",
    };
    answer = () => new Response("no key here");
    await rejects(
      lookupKey(withAuth, "0023456789ABCDEF"),
      (e) => e instanceof HkpError && e.kind === "answer" && /holds no armored/.test(e.message),
    );
    const [get] = fake.received;
    assertEquals(get.method, "GET");
    assertEquals(get.pathAndQuery, "/pks/lookup?exact=on&op=get&search=0x0023456789abcdef");
    assertEquals(get.headers.get("user-agent"), USER_AGENT);
    assertEquals(get.headers.get("authorization"), "Basic eDp5");

    answer = () => new Response("info:1:0\n");
    assertEquals(
      await searchIndex({ uri: fake.url, insecure: false, authorization: "Bearer " }, "a b@c"),
      "info:1:0\n",
    );
    const search = fake.received[1];
    assertEquals(
      search.pathAndQuery,
      "/pks/lookup?fingerprint=on&op=index&options=mr&search=a+b%40c&x-pagesize=256",
    );
    assertEquals(search.headers.get("authorization"), null, "never an empty Bearer");

    answer = () => new Response("thanks");
    assertEquals(await pushKey({ uri: fake.url, insecure: false }, "A+B =\n"), "thanks");
    const push = fake.received[2];
    assertEquals([push.method, push.pathAndQuery], ["POST", "/pks/add"]);
    assertEquals(push.headers.get("content-type"), "application/x-www-form-urlencoded");
    assertEquals(new URLSearchParams(push.body).get("keytext"), "A+B =\n");

    answer = () =>
      Response.json({ error: { code: 404, message: "entity not found" } }, { status: 404 });
    await rejects(
      lookupKey({ uri: fake.url, insecure: false }, "0123456789ABCDEF"),
      (e) =>
        e instanceof HkpError && e.status === 404 &&
        e.message === "404 Not Found: entity not found" &&
        e.describe() === `${fake.url} answered 404 Not Found: entity not found`,
    );
    answer = () => new Response("<html>oops</html>", { status: 502 });
    await rejects(
      searchIndex({ uri: fake.url, insecure: false }, "x"),
      (e) => e instanceof HkpError && e.message === "502 Bad Gateway",
    );
    await rejects(
      searchIndex({ uri: "ftp://127.0.0.1", insecure: false }, "x"),
      (e) =>
        e instanceof HkpError && e.kind === "config" &&
        /unsupported protocol scheme ftp/.test(e.message),
    );
  } finally {
    await fake.stop();
  }
  const port = closedPort();
  await rejects(
    lookupKey({ uri: `hkp://127.0.0.1:${port}`, insecure: false }, "0123456789ABCDEF"),
    (e) =>
      e instanceof HkpError && e.kind === "transport" &&
      e.message.startsWith(`cannot reach http://127.0.0.1:${port}: `),
  );
});

Deno.test("RemoteKeyFinder: the cache first, corrupt files ignored, stale copies refreshed or used as a last resort", async () => {
  const { publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name: "Cached", email: "cached@example.org" }],
    format: "object",
  });
  const fingerprint = publicKey.getFingerprint().toUpperCase();
  const keyId = publicKey.getKeyID().toHex();
  const dir = await Deno.makeTempDir({ prefix: "siftrust-key-cache-" });
  const cacheDir = join(dir, "keys");
  let server: FakeKeyserver | undefined = new FakeKeyserver(() =>
    new Response(htmlWrapped(publicKey.armor()))
  );
  const url = server.url;
  const keyservers = [{ uri: url, insecure: false }];
  const finder = (now = Date.now(), cache: string | null = cacheDir) => {
    const seen: RemoteKeyWarning[] = [];
    const f = new RemoteKeyFinder({
      keyservers,
      cacheDir: cache ?? undefined,
      now: () => now,
      onWarning: (w) => seen.push(w),
    });
    return { f, seen };
  };
  try {
    await Deno.mkdir(cacheDir, { recursive: true });
    await Deno.writeTextFile(join(cacheDir, fingerprint), "not a key");
    await Deno.writeTextFile(join(cacheDir, "0".repeat(40)), publicKey.armor());

    const first = finder();
    const found = await first.f.find([keyId]);
    assertEquals(found?.source, { kind: "remote", location: url });
    assertEquals(found?.key.fingerprint, fingerprint);
    assertEquals(server.received.length, 1, "the corrupt cache file was ignored");
    await first.f.find([keyId]);
    assertEquals(server.received.length, 1, "one lookup per key ID");
    assertEquals((await Deno.stat(join(cacheDir, fingerprint))).mode! & 0o777, 0o600);

    const cached = finder();
    assertEquals((await cached.f.find([keyId]))?.source, { kind: "remote", location: url });
    assertEquals([server.received.length, cached.seen], [1, []], "a fresh cached key: no request");

    const later = Date.now() + 2 * 24 * 3600_000;
    const refresh = finder(later);
    ok(await refresh.f.find([keyId]));
    assertEquals(server.received.length, 2, "a stale cached key is fetched again");

    await server.stop();
    server = undefined;
    const lastResort = finder(Date.now() + 4 * 24 * 3600_000);
    assertEquals((await lastResort.f.find([keyId]))?.source.location, url);
    assertEquals(lastResort.seen.length, 2, JSON.stringify(lastResort.seen));
    match(lastResort.seen[0].message, /^failed to get key material: cannot reach /);
    match(lastResort.seen[1].message, new RegExp(`^using the copy of key ${fingerprint} cached`));

    const noCache = finder(Date.now(), null);
    assertEquals(await noCache.f.find([keyId]), undefined);
    assertEquals(noCache.seen.map((w) => w.keyserver), [url]);
  } finally {
    await stopAll(server);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RemoteKeyFinder: a key other than the one asked for is not used; 404s are reported only when no keyserver has the key", async () => {
  const make = async (name: string) =>
    (await openpgp.generateKey({
      type: "ecc",
      curve: "ed25519Legacy",
      userIDs: [{ name }],
      format: "object",
    })).publicKey;
  const [wanted, other] = [await make("Wanted"), await make("Other")];
  const impostor = new FakeKeyserver(() => new Response(other.armor()));
  const missing = new FakeKeyserver(() => new Response("No results", { status: 404 }));
  const honest = new FakeKeyserver(() => new Response(wanted.armor()));
  try {
    const ks = (...servers: FakeKeyserver[]) =>
      servers.map((s) => ({ uri: s.url, insecure: false }));
    const seen: RemoteKeyWarning[] = [];
    const finder = new RemoteKeyFinder({
      keyservers: ks(missing, impostor, honest),
      onWarning: (w) => seen.push(w),
    });
    assertEquals((await finder.find([wanted.getKeyID().toHex()]))?.source.location, honest.url);
    assertEquals(seen.map((w) => w.message), [
      `failed to get key material: ${impostor.url} sent the key ${other.getFingerprint().toUpperCase()} for key ID ${wanted.getKeyID().toHex().toUpperCase()}: ignored`,
    ]);
    const unlucky: RemoteKeyWarning[] = [];
    const none = new RemoteKeyFinder({
      keyservers: ks(missing, impostor),
      onWarning: (w) => unlucky.push(w),
    });
    assertEquals(await none.find([wanted.getKeyID().toHex()]), undefined);
    assertEquals(unlucky.map((w) => [w.keyserver, w.status]), [
      [impostor.url, undefined],
      [missing.url, 404],
    ]);
  } finally {
    await stopAll(impostor, missing, honest);
  }
});

peerTest("key push, search (email, name, fingerprint, short ID, --long-list) and pull with SKS", [
  "sks",
  "gpg",
], async () => {
  const f = await fixture();
  const sks = await Sks.start(f.sksBase);
  try {
    const signer = await userEnv(f.root, "pusher", [sks.url]);
    await f.gpg.makeKeysDir(signer.env.APPTAINER_KEYSDIR, { publicKeys: [f.alice, f.mallory] });
    const pushed = await runCli(["key", "push", f.alice.fingerprint], { env: signer.env });
    assertEquals(pushed.code, 0, pushed.stderr);
    assertEquals(
      pushed.stdout,
      `public key \`${f.alice.fingerprint}' pushed to server successfully\n`,
    );
    match(
      pushed.stderr,
      /^INFO: {4}Key server response: Key block added to key server database\./m,
    );
    const byKeyId = await runCli(["key", "push", f.mallory.keyId.toLowerCase()], {
      env: signer.env,
    });
    assertEquals(byKeyId.code, 0, byKeyId.stderr);

    const aliceRow = `${f.alice.fingerprint.slice(-8)}  2048  ${f.alice.userId}`;
    const email = f.alice.userId.match(/<(.*)>/)![1];
    for (const term of [email, "rsa2048", f.alice.fingerprint, f.alice.fingerprint.slice(-8)]) {
      const found = await runCli(["key", "search", term], { env: signer.env });
      assertEquals(found.code, 0, `${term}: ${found.stderr}`);
      assertEquals(
        found.stdout,
        `Showing 1 results\n\nKEY ID    BITS  NAME/EMAIL\n${aliceRow}\n`,
        term,
      );
      assertEquals(found.stderr, "");
    }
    const long = await runCli(["key", "search", "--long-list", f.alice.fingerprint.slice(-8)], {
      env: signer.env,
    });
    assertEquals(long.code, 0, long.stderr);
    const [showing, blank, header, row, end] = long.stdout.split("\n");
    assertEquals([showing, blank, end], ["Showing 1 results", "", ""]);
    match(
      header,
      /^FINGERPRINT {31}ALGORITHM {2}BITS {2}CREATION DATE {2,}EXPIRATION DATE {2}STATUS {5}NAME\/EMAIL$/,
    );
    match(
      row,
      new RegExp(
        `^${f.alice.fingerprint}  RSA        2048  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d{4} \\S+  +\\[enabled\\]  ${
          f.alice.userId.replace(/[()]/g, "\\$&")
        }$`,
      ),
    );
    const both = await runCli(["key", "search", "siftrust"], { env: signer.env });
    assertEquals(both.code, 0, both.stderr);
    match(
      both.stdout,
      /^Showing 2 results\n\nKEY ID {4}BITS {2}NAME\/EMAIL\n[0-9A-F]{8} {2}2048 {2}.+\n\n[0-9A-F]{8} {2}2048 {2}.+\n$/,
    );

    const none = await runCli(["key", "search", "nobody-at-all"], { env: signer.env });
    assertEquals([none.code, none.stdout], [2, ""]);
    assertEquals(none.stderr, "ERROR:   search failed: no matching keys found for fingerprint\n");

    const puller = await userEnv(f.root, "puller", [sks.url]);
    const pulled = await runCli(["key", "pull", f.alice.fingerprint.toLowerCase()], {
      env: puller.env,
    });
    assertEquals(pulled.code, 0, pulled.stderr);
    const keyring = join(puller.env.APPTAINER_KEYSDIR, "pgp-public");
    assertEquals(pulled.stdout, `1 key(s) added to keyring of trust ${keyring}\n`);
    const listed = await runCli(["key", "list"], { env: puller.env });
    match(listed.stdout, new RegExp(`Fingerprint: +${f.alice.fingerprint}\n`));
    const again = await runCli(["key", "pull", f.alice.fingerprint.slice(-8)], { env: puller.env });
    assertEquals([again.code, again.stdout], [
      0,
      `0 key(s) added to keyring of trust ${keyring}\n`,
    ]);

    const missing = await runCli(["key", "pull", "0123456789ABCDEF0123456789ABCDEF01234567"], {
      env: puller.env,
    });
    assertEquals(missing.code, 2);
    assertEquals(
      missing.stderr,
      "ERROR:   pull failed: unable to pull key from server: no matching keys found for fingerprint\n",
    );
    const prefixed = await runCli(["key", "pull", `0x${f.alice.fingerprint}`], { env: puller.env });
    assertEquals(prefixed.code, 2);
    match(
      prefixed.stderr,
      /^ERROR: {3}pull failed: unable to pull key from server: failed to decode fingerprint: encoding\/hex: invalid byte: U\+0078 'x'/,
    );
    const keyId = await runCli(["key", "pull", f.alice.keyId], { env: puller.env });
    assertEquals(keyId.code, 2);
    match(keyId.stderr, /not a valid key length: only accepts 8, or 40 chars\n$/);
    const unknownPush = await runCli(["key", "push", "0123456789ABCDEF"], { env: signer.env });
    assertEquals(unknownPush.code, 2);
    match(unknownPush.stderr, /^ERROR: {3}push failed: could not find the requested key/);
    const shortPush = await runCli(["key", "push", "0123"], { env: signer.env });
    match(
      shortPush.stderr,
      /push failed: please provide a keyid\(16 chars\) or a full fingerprint\(40 chars\)\n$/,
    );
  } finally {
    await sks.stop();
  }
});

peerTest(
  "verify fetches a key only the keyserver has: [REMOTE], then from the cache; --local never",
  [
    "sks",
    "gpg",
  ],
  async () => {
    const f = await fixture();
    let sks: Sks | undefined = await Sks.start(f.sksBase);
    const sksUrl = sks.url;
    try {
      await publish(sks.url, f.aliceArmored);
      const hkp = sks.url.replace("http://", "hkp://");
      const verifier = await userEnv(f.root, "verifier", [hkp]);
      const first = await runCli(["verify", f.image], { env: verifier.env });
      assertEquals(first.code, 0, first.stderr);
      match(
        first.stdout,
        new RegExp(
          `^\\[REMOTE\\] {11}Signing entity: ${f.alice.userId.replace(/[()]/g, "\\$&")}\n`,
        ),
      );
      match(first.stdout, new RegExp(`\\[REMOTE\\] {11}Fingerprint: ${f.alice.fingerprint}\n`));
      assertEquals(warnings(first), []);
      match(first.stderr, /INFO: {4}Verified signature\(s\) from image/);
      const cached = join(verifier.env.XDG_CACHE_HOME, "siftrust", "keys", f.alice.fingerprint);
      ok((await Deno.stat(cached)).isFile, "the key is cached");
      assertEquals((await Deno.stat(join(cached, ".."))).mode! & 0o777, 0o700);
      assertEquals(await Deno.readTextFile(`${cached}.origin`), `${hkp}\n`);
      assertEquals(
        (await Deno.stat(join(verifier.env.APPTAINER_KEYSDIR, "pgp-public")).catch(() => undefined))
          ?.size ?? 0,
        0,
        "nothing is added to the keyring",
      );

      await sks.stop();
      sks = undefined;
      const offline = await runCli(["verify", "--json", f.image], { env: verifier.env });
      assertEquals(offline.code, 0, offline.stderr);
      const report = JSON.parse(offline.stdout);
      assertEquals(
        [report.signatures[0].keySource, report.signatures[0].keyLocation],
        ["remote", hkp],
      );
      assertEquals(warnings(offline), []);

      for (const local of [["--local"], ["-l"]]) {
        const onlyKeyrings = await runCli(["verify", ...local, f.image], { env: verifier.env });
        assertEquals(onlyKeyrings.code, 4, onlyKeyrings.stderr);
        match(onlyKeyrings.stderr, /signature made by unknown entity/);
        match(onlyKeyrings.stderr, /--local keeps keyservers out/);
      }
      const viaEnv = await runCli(["verify", f.image], {
        env: { ...verifier.env, APPTAINER_LOCAL_VERIFY: "1" },
      });
      assertEquals(viaEnv.code, 4);

      const fresh = await userEnv(f.root, "fresh", [hkp]);
      const local = await runCli(["verify", "--local", f.image], { env: fresh.env });
      assertEquals([local.code, warnings(local)], [4, []], "--local with an empty cache");
      const down = await runCli(["verify", f.image], { env: fresh.env });
      assertEquals(down.code, 4);
      assertEquals(warnings(down).length, 1, down.stderr);
      match(
        warnings(down)[0],
        new RegExp(`^WARNING: failed to get key material: cannot reach ${sksUrl}: .*refused`),
      );
      match(
        down.stderr,
        new RegExp(`none of the keyrings searched nor on the keyservers asked \\(${hkp}\\)`),
      );
    } finally {
      await stopAll(sks);
    }
  },
);

peerTest("keyservers are tried in order: past a closed port, a 500, junk and a wrong key", [
  "sks",
  "gpg",
], async () => {
  const f = await fixture();
  const sks = await Sks.start(f.sksBase);
  const broken = new FakeKeyserver(() =>
    Response.json({ error: { code: 500, message: "boom" } }, { status: 500 })
  );
  const junk = new FakeKeyserver(() => new Response("<html>junk \x00\x01</html>"));
  const impostor = new FakeKeyserver(() => new Response(htmlWrapped(f.malloryArmored)));
  const locked = new FakeKeyserver(() => new Response("", { status: 401 }));
  try {
    await publish(sks.url, f.aliceArmored);
    const dead = `http://127.0.0.1:${closedPort()}`;
    const misbehaving = [dead, broken.url, junk.url, impostor.url];
    const verifier = await userEnv(f.root, "fallback", [...misbehaving, sks.url]);
    const found = await runCli(["verify", "--json", f.image], { env: verifier.env });
    assertEquals(found.code, 0, found.stderr);
    assertEquals(JSON.parse(found.stdout).signatures[0].keyLocation, sks.url);
    const keyId = f.alice.keyId;
    const [refused, ...others] = warnings(found);
    match(
      refused,
      new RegExp(`^WARNING: failed to get key material: cannot reach ${dead}: .*refused`),
    );
    assertEquals(others, [
      `WARNING: failed to get key material: ${broken.url} answered 500 Internal Server Error: boom`,
      `WARNING: failed to get key material: the answer of ${junk.url} to a lookup of 0x${keyId.toLowerCase()} holds no armored OpenPGP public key`,
      `WARNING: failed to get key material: ${impostor.url} sent the key ${f.mallory.fingerprint} for key ID ${keyId}: ignored`,
    ]);
    assertEquals(
      broken.received.map((r) => r.pathAndQuery),
      [`/pks/lookup?exact=on&op=get&search=0x${keyId.toLowerCase()}`],
    );

    const nowhere = await userEnv(f.root, "nowhere", misbehaving);
    const unknown = await runCli(["verify", f.image], { env: nowhere.env });
    assertEquals(unknown.code, 4);
    assertEquals(warnings(unknown).length, 4, unknown.stderr);
    match(
      unknown.stdout,
      /Error encountered during signature verification: .*signature made by unknown entity/,
    );

    // The key commands use one keyserver and say what went wrong with it.
    const puller = await userEnv(f.root, "wrong-key", [sks.url]);
    const wrongKey = await runCli(["key", "pull", "--url", impostor.url, f.alice.fingerprint], {
      env: puller.env,
    });
    assertEquals(wrongKey.code, 2);
    assertEquals(
      wrongKey.stderr,
      `ERROR:   pull failed: unable to pull key from server: the keyserver sent the key ${f.mallory.fingerprint}, not the key ${f.alice.fingerprint} asked for: nothing was added\n`,
    );
    const keyring = await Deno.readFile(join(puller.env.APPTAINER_KEYSDIR, "pgp-public")).catch(
      () => new Uint8Array(),
    );
    assertEquals(keyring.length, 0, "nothing was added");
    const junkPull = await runCli(["key", "pull", f.alice.fingerprint], {
      env: { ...puller.env, APPTAINER_URL: junk.url },
    });
    assertEquals(junkPull.code, 2);
    match(
      junkPull.stderr,
      /pull failed: unable to pull key from server: failed to get key: the answer of .* holds no armored OpenPGP public key\n$/,
    );
    const brokenSearch = await runCli(["key", "search", "--url", broken.url, "alice"], {
      env: puller.env,
    });
    assertEquals(brokenSearch.code, 2);
    assertEquals(
      brokenSearch.stderr,
      `ERROR:   search failed: failed to get key: ${broken.url} answered 500 Internal Server Error: boom\n`,
    );
    const junkSearch = await runCli(["key", "search", "--url", junk.url, "alice"], {
      env: puller.env,
    });
    assertEquals([junkSearch.code, junkSearch.stdout], [
      0,
      "Showing 0 results\n\nKEY ID  BITS  NAME/EMAIL\n",
    ]);
    const unauthorized = await runCli(["key", "search", "--url", locked.url, "alice"], {
      env: puller.env,
    });
    assertEquals(unauthorized.code, 2);
    match(
      unauthorized.stderr,
      /^INFO: {4}Access token is expired or missing\. To update or obtain a token:\n/,
    );
    match(unauthorized.stderr, /\nERROR: {3}search failed: unauthorized or missing token\n$/);
    const lockedPush = await runCli(["key", "push", "--url", locked.url, f.alice.fingerprint], {
      env: (await (async () => {
        const u = await userEnv(f.root, "locked-push", [sks.url]);
        await f.gpg.makeKeysDir(u.env.APPTAINER_KEYSDIR, { publicKeys: [f.alice] });
        return u;
      })()).env,
    });
    assertEquals(lockedPush.code, 2);
    match(
      lockedPush.stderr,
      new RegExp(`INFO: {4}  4\\) Push key using "siftrust key push ${f.alice.fingerprint}"\n`),
    );
    match(lockedPush.stderr, /ERROR: {3}push failed: unauthorized or missing token\n$/);
  } finally {
    await stopAll(sks, broken, junk, impostor, locked);
  }
});

peerTest("a keyserver that never answers is given up after 5 s, and the next one is asked", [
  "sks",
  "gpg",
], async () => {
  const f = await fixture();
  const sks = await Sks.start(f.sksBase);
  const silent = new FakeKeyserver(() => "hang");
  try {
    await publish(sks.url, f.aliceArmored);
    const verifier = await userEnv(f.root, "patient", [silent.url, sks.url]);
    const started = Date.now();
    const result = await runCli(["verify", f.image], { env: verifier.env });
    const elapsed = Date.now() - started;
    assertEquals(result.code, 0, result.stderr);
    match(result.stdout, /^\[REMOTE\] /);
    assertEquals(warnings(result), [
      `WARNING: failed to get key material: ${silent.url} gave no answer within 5 s`,
    ]);
    ok(elapsed >= 5000 && elapsed < 20_000, `took ${elapsed} ms`);
    assertEquals(silent.received.length, 1, "asked once");
    doesNotMatch(result.stderr, /ERROR/);
  } finally {
    await stopAll(sks, silent);
  }
});
