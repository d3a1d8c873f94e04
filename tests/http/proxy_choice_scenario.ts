/**
 * The scenario of tests/http/network_test.ts, run in a process of its own: it changes the
 * process's proxy variables, which tests running in parallel in one process would share.
 * Exits non-zero (an assertion's message on stderr) when the choice of proxies is not kept.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { httpRequest, responseText, useProxySettings } from "../../core/http/mod.ts";

/** A server that answers `name` and counts its requests. */
function stub(name: string): { url: string; hits: () => number; close(): Promise<void> } {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response(name);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    hits: () => hits,
    close: () => server.shutdown(),
  };
}

const proxy = stub("proxy");
const target = stub("target");
const saved = Object.fromEntries(
  ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"].map((name) => [
    name,
    Deno.env.get(name),
  ]),
);
try {
  for (const name of Object.keys(saved)) Deno.env.delete(name);
  Deno.env.set("HTTP_PROXY", proxy.url);
  Deno.env.set("ALL_PROXY", proxy.url);
  // Control: by default the environment's proxy carries the request.
  assertEquals(responseText(await httpRequest(`${target.url}/a`)), "proxy");
  assertEquals([proxy.hits(), target.hits()], [1, 0]);
  // An empty choice: straight to the target, although the environment still names the proxy.
  useProxySettings({});
  assertEquals(responseText(await httpRequest(`${target.url}/b`)), "target");
  assertEquals([proxy.hits(), target.hits()], [1, 1]);
  assertEquals(Deno.env.get("HTTP_PROXY"), proxy.url);
  // A chosen proxy is used even when the environment names none.
  Deno.env.delete("HTTP_PROXY");
  Deno.env.delete("ALL_PROXY");
  useProxySettings({ http: proxy.url });
  assertEquals(responseText(await httpRequest(`${target.url}/c`)), "proxy");
  assertEquals([proxy.hits(), target.hits()], [2, 1]);
  assertEquals(Deno.env.get("HTTP_PROXY"), undefined);
} finally {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
  await proxy.close();
  await target.close();
}
