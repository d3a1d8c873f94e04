/**
 * A real OCI registry for the login tests: the CNCF distribution registry
 * (`docker-registry serve`) on 127.0.0.1, plain http, htpasswd authentication accepting
 * `user` / `pass`.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A registry on 127.0.0.1 that accepts `user` / `pass`; stopped by `stop`. */
export async function startRegistry(
  dir: string,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const htpasswd = await new Deno.Command("htpasswd", {
    args: ["-Bbn", "user", "pass"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(htpasswd.code, 0, new TextDecoder().decode(htpasswd.stderr));
  await Deno.writeFile(`${dir}/htpasswd`, htpasswd.stdout);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Deno.mkdir(`${dir}/data`);
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "auth:",
      "  htpasswd:",
      "    realm: siftrust-test",
      `    path: ${dir}/htpasswd`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
  };
  // Ready when /v2/ answers (401 without credentials).
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v2/`);
      await response.body?.cancel();
      if (response.status === 401) return { port, stop };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error("docker-registry did not start within 15 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
