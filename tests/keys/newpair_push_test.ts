/**
 * `siftrust key newpair --push`: the new public key is posted to the active remote's primary
 * keyserver (HKP `POST /pks/add`); when the keyserver cannot be reached the key pair is still
 * made and the command still succeeds, as in Apptainer.
 */

import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import { runCli } from "../helpers/cli.ts";
import { isolatedEnv } from "../helpers/env.ts";

/** A temp home whose active remote lists one keyserver. */
async function home(keyserver: string) {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-push-" });
  await Deno.mkdir(`${dir}/apptainer`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/apptainer/remote.yaml`,
    `Active: site\nRemotes:\n    site:\n        URI: site.invalid\n        System: false\n        Exclusive: false\n` +
      `        Keyservers:\n            - URI: ${keyserver}\n              Skip: false\n              External: true\n              Insecure: true\n`,
  );
  return { dir, env: isolatedEnv(dir) };
}

const NEWPAIR = [
  "key",
  "newpair",
  "-N",
  "Pusher",
  "-E",
  "push@example.org",
  "-C",
  "",
  "-P",
  "",
  "--key-type",
  "ed25519",
  "--push",
];

Deno.test("key newpair --push posts the new public key to the primary keyserver", async () => {
  const posted: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/pks/add") {
      return new Response("no", { status: 404 });
    }
    posted.push(new URLSearchParams(await request.text()).get("keytext") ?? "");
    return new Response("");
  });
  const { dir, env } = await home(`http://127.0.0.1:${server.addr.port}`);
  try {
    const result = await runCli(NEWPAIR, { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Key successfully pushed to keystore\n$/);
    assert.equal(posted.length, 1);
    const pushed = await openpgp.readKey({ armoredKey: posted[0] });
    const listed = await runCli(["key", "list"], { env });
    assert.match(listed.stdout, new RegExp(pushed.getFingerprint().toUpperCase()));
    assert.equal(pushed.isPrivate(), false, "only the public key leaves the machine");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("key newpair --push with an unreachable keyserver still makes the key pair", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const { dir, env } = await home(`http://127.0.0.1:${port}`);
  try {
    const result = await runCli(NEWPAIR, { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Failed to push newly created key to keystore: .*127\.0\.0\.1/);
    assert.match((await runCli(["key", "list"], { env })).stdout, /Pusher/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
