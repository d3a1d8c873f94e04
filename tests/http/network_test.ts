/**
 * A run's choice of proxies (core/http/network.ts): once `useProxySettings` is called, requests
 * take exactly the chosen proxies — none when the choice is empty — whatever the process's
 * environment says, and the environment itself is left as it was. The scenario
 * (proxy_choice_scenario.ts) runs in a process of its own, since it changes the process's
 * environment.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";

Deno.test("useProxySettings: the chosen proxies, not the environment's; the environment unchanged", async () => {
  const scenario = new URL("./proxy_choice_scenario.ts", import.meta.url).pathname;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-all", scenario],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals([code, new TextDecoder().decode(stderr)], [0, ""]);
});
