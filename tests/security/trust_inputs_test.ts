/**
 * Enforcing runs read only trusted inputs (core/config/resolve.ts, policy/file_trust.ts): an
 * ordinary user (`nobody`, through `setpriv`) plants files in their own
 * HOME and cache and points environment variables at them; root's runs — `check` given the
 * user's environment as `sudo -E` would, and `exec` — must refuse those inputs (exit 2, one
 * line naming the path) or ignore them, and never turn a deny into an allow or a run. Each
 * test has a time limit.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { SYSTEM_CACHE_DIR } from "../../core/config/mod.ts";
import { loadPolicy } from "../../policy/mod.ts";
import { cacheKey } from "../../policy/cache.ts";
import { type CliResult, runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";
import { IN_CI, REPO_ROOT } from "../helpers/peers.ts";
import { NOBODY as ATTACKER_UID, nobodyShell as attackerShell } from "../helpers/unprivileged.ts";
import { runtimeCommand, writeFakeRuntime } from "../helpers/runtime.ts";

/** The demo key's fingerprint (examples/site.yaml). */
const DEMO = "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A";
/** A fingerprint no key has: a policy that trusts only it denies the demo image. */
const NOBODY = "1111111111111111111111111111111111111111";

const IS_ROOT = Deno.uid() === 0;
const HAVE_SETPRIV = (() => {
  try {
    return Deno.statSync("/usr/bin/setpriv").isFile;
  } catch {
    return false;
  }
})();

/** Root's site (root-owned) and the attacker's HOME (theirs), in one throw-away folder. */
interface Lab {
  dir: string;
  /** Root's folder: policies, the demo key, the signed demo image. */
  site: string;
  key: string;
  image: string;
  /** The attacker's HOME. */
  home: string;
  /** The attacker's environment, as `sudo -E` would hand it to root. */
  userEnv: Record<string, string>;
  /** A stand-in `apptainer` (root's) that prints `ran`. */
  runtime: string;
}

/** A policy trusting `fingerprint`, with these `keys` settings, written (root's, 0644) at `path`. */
async function writePolicy(
  path: string,
  fingerprint: string,
  keys: { files?: string[]; local?: boolean; offline?: boolean; keyservers?: string[] },
): Promise<string> {
  const lines = [
    "version: 1",
    "signers:",
    "  demo:",
    `    fingerprint: "${fingerprint}"`,
    "keys:",
    `  files: [${(keys.files ?? []).map((f) => JSON.stringify(f)).join(", ")}]`,
    `  local: ${keys.local ?? false}`,
    `  offline: ${keys.offline ?? true}`,
  ];
  if (keys.keyservers !== undefined) {
    lines.push("  keyservers:");
    for (const uri of keys.keyservers) lines.push(`    - uri: ${uri}`, "      insecure: true");
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  await Deno.chmod(path, 0o644);
  return path;
}

/**
 * A test as root with setpriv, bounded by `limitMs`; skipped (failed in CI) without them.
 */
function labTest(name: string, limitMs: number, fn: (lab: Lab) => Promise<void>): void {
  const missing = !IS_ROOT ? "root" : !HAVE_SETPRIV ? "setpriv" : undefined;
  Deno.test({
    name,
    ignore: missing !== undefined && !IN_CI,
    fn: async () => {
      if (missing !== undefined) throw new Error(`${name}: needs ${missing}`);
      await using box = await tempDir("siftrust-trust-inputs-");
      await Deno.chmod(box.dir, 0o755);
      const site = `${box.dir}/site`;
      const home = `${box.dir}/home`;
      await Deno.mkdir(site, { mode: 0o755 });
      await Deno.mkdir(home, { mode: 0o755 });
      await Deno.chown(home, ATTACKER_UID, ATTACKER_UID);
      const key = `${site}/demo.asc`;
      const image = `${site}/signed.sif`;
      await Deno.copyFile(`${REPO_ROOT}examples/example-key.pub.asc`, key);
      await Deno.copyFile(`${REPO_ROOT}examples/example-signed.sif`, image);
      await Deno.chmod(key, 0o644);
      const userEnv = {
        HOME: home,
        XDG_CACHE_HOME: `${home}/.cache`,
        SIFTRUST_CACHEDIR: `${home}/cache`,
        SIFTRUST_SYSCONFDIR: `${home}/etc`,
        SIFTRUST_POLICY: `${home}/policy.yaml`,
        APPTAINER_KEYSDIR: `${home}/keys`,
        APPTAINER_CONFIGDIR: `${home}/.apptainer`,
      };
      const runtime = await writeFakeRuntime(site);
      const lab = { dir: box.dir, site, key, image, home, userEnv, runtime };
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          fn(lab),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`over ${limitMs} ms`)), limitMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

const context = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Root's `check` with `env` (on top of the test's own). */
function rootCheck(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(["check", ...args], { env });
}

/** Root's `exec` of the image through the stand-in runtime (it prints `ran`), with `env`. */
function rootExec(lab: Lab, args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(
    ["exec", ...args, "--", ...runtimeCommand(lab.runtime, lab.image)],
    { env },
  );
}

/**
 * Asserts a refusal: exit 2, one line naming `path` and `why` (after the INFO lines a command
 * prints at its start, such as verify's).
 */
function assertRefused(result: CliResult, path: string, why: string): void {
  assertEquals(result.code, 2, context(result));
  const lines = result.stderr.trim().split("\n").filter((line) => !line.startsWith("INFO:"));
  assertEquals(lines.length, 1, context(result));
  ok(lines[0].includes(`refusing to trust ${path}:`), context(result));
  ok(lines[0].includes(why), `"${why}" missing\n${context(result)}`);
}

/** Asserts the command did not run. */
function assertNotRun(result: CliResult): void {
  ok(result.code !== 0, context(result));
  ok(!result.stdout.includes("ran"), context(result));
}

labTest(
  "a forged allow in the user's cache turns neither root's check nor exec",
  60_000,
  async (lab) => {
    const policyPath = await writePolicy(`${lab.site}/deny.yaml`, NOBODY, { files: [lab.key] });
    const policy = await loadPolicy(policyPath);
    const real = await Deno.realPath(lab.image);
    const { key } = await cacheKey(real, policy.digest, policy.keys.files);
    const forged = JSON.stringify({
      format: 3,
      key,
      imageDigest: "forged",
      validUntil: null,
      decision: {
        image: real,
        decision: "allow",
        mode: "enforce",
        keyUnavailable: false,
        rule: "default",
        reasons: [],
        signatures: [],
        requirements: [],
        hints: [],
      },
    });
    // Control: the same entry in a cache root owns is taken (so the forgery is well made).
    const rootCache = `${lab.site}/cache`;
    await Deno.mkdir(`${rootCache}/decisions`, { recursive: true });
    await Deno.writeTextFile(`${rootCache}/decisions/${key}.json`, forged);
    const control = await rootCheck(["--policy", policyPath, lab.image], {
      SIFTRUST_CACHEDIR: rootCache,
    });
    assertEquals(control.code, 0, context(control));
    ok(control.stdout.startsWith("ALLOW"), context(control));

    // The attacker plants it in every cache of theirs.
    const staged = `${lab.site}/forged.json`;
    await Deno.writeTextFile(staged, forged);
    await Deno.chmod(staged, 0o644);
    await attackerShell(
      `for d in "$HOME/cache/decisions" "$HOME/.cache/siftrust/decisions"; do ` +
        `mkdir -p "$d" && cp ${staged} "$d/${key}.json"; done`,
      lab.home,
    );
    const systemEntry = `${SYSTEM_CACHE_DIR}/decisions/${key}.json`;
    try {
      // sudo -E: root's check with the user's environment refuses the user's cache.
      const refused = await rootCheck(["--policy", policyPath, lab.image], lab.userEnv);
      assertRefused(refused, `${lab.home}/cache/decisions`, `belongs to uid ${ATTACKER_UID}`);
      // Without SIFTRUST_CACHEDIR, root keeps its cache in the system location: HOME and
      // XDG_CACHE_HOME do not move it, and the deny stands.
      const { SIFTRUST_CACHEDIR: _, ...xdgOnly } = lab.userEnv;
      const denied = await rootCheck(["--policy", policyPath, lab.image], xdgOnly);
      assertEquals(denied.code, 1, context(denied));
      ok(denied.stdout.startsWith("DENY"), context(denied));
      // exec ignores every cache variable: the deny stands and nothing runs.
      const exec = await rootExec(lab, ["--policy", policyPath], lab.userEnv);
      assertEquals(exec.code, 1, context(exec));
      assertNotRun(exec);
    } finally {
      await Deno.remove(systemEntry).catch(() => {});
    }
  },
);

labTest(
  "SIFTRUST_POLICY, SIFTRUST_SYSCONFDIR and APPTAINER_KEYSDIR of the user: refused by root's check, ignored by exec",
  90_000,
  async (lab) => {
    // The attacker's own allow-all policy, and keyrings holding the demo key.
    const staged = `${lab.site}/staged.asc`;
    await Deno.copyFile(lab.key, staged);
    await Deno.chmod(staged, 0o644);
    await attackerShell(
      `printf 'version: 1\\nsigners:\\n  me:\\n    fingerprint: "${DEMO}"\\nrules:\\n` +
        `  - name: all\\n    paths: ["/**"]\\n    action: allow\\n' > "$HOME/policy.yaml" && ` +
        `mkdir -p "$HOME/etc/apptainer" "$HOME/keys" && ` +
        `cp ${staged} "$HOME/etc/apptainer/global-pgp-public" && cp ${staged} "$HOME/keys/pgp-public"`,
      lab.home,
    );
    const cacheEnv = { SIFTRUST_CACHEDIR: `${lab.site}/cache` };
    // SIFTRUST_POLICY: root's check refuses the user's policy.
    const byPolicy = await rootCheck([lab.image], { ...lab.userEnv, ...cacheEnv });
    assertRefused(byPolicy, `${lab.home}/policy.yaml`, `belongs to uid ${ATTACKER_UID}`);
    // exec without --policy uses the system policy only, never the user's.
    const execPolicy = await rootExec(lab, [], lab.userEnv);
    assertNotRun(execPolicy);
    ok(!execPolicy.stderr.includes(`${lab.home}/policy.yaml`), context(execPolicy));
    ok(execPolicy.stderr.includes("/etc/siftrust/policy.yaml"), context(execPolicy));

    // A root policy that takes keys from the local keyrings only.
    const local = await writePolicy(`${lab.site}/local.yaml`, DEMO, { local: true });
    // Control: root's own keyrings holding the demo key allow the image.
    const rootEtc = `${lab.site}/etc`;
    await Deno.mkdir(`${rootEtc}/apptainer`, { recursive: true });
    await Deno.copyFile(lab.key, `${rootEtc}/apptainer/global-pgp-public`);
    const control = await rootCheck(["--policy", local, lab.image], {
      ...cacheEnv,
      SIFTRUST_SYSCONFDIR: rootEtc,
      APPTAINER_KEYSDIR: `${lab.site}/keys`,
      HOME: lab.site,
    });
    assertEquals(control.code, 0, context(control));
    // sudo -E: the user's global keyring and key folder are refused by root's check.
    const bySysconf = await rootCheck(["--policy", local, lab.image], {
      ...lab.userEnv,
      ...cacheEnv,
    });
    assertRefused(
      bySysconf,
      `${lab.home}/etc/apptainer/global-pgp-public`,
      `belongs to uid ${ATTACKER_UID}`,
    );
    const byKeysdir = await rootCheck(["--policy", local, lab.image], {
      ...lab.userEnv,
      ...cacheEnv,
      SIFTRUST_SYSCONFDIR: rootEtc,
    });
    assertRefused(byKeysdir, `${lab.home}/keys/pgp-public`, `belongs to uid ${ATTACKER_UID}`);
    // exec reads neither: the demo key is not found in root's own keyrings, so nothing runs.
    const exec = await rootExec(lab, ["--policy", local], lab.userEnv);
    assertNotRun(exec);
    ok(!exec.stderr.includes(lab.home), context(exec));
  },
);

labTest(
  "a key planted in the user's fetched-key cache is never used by root's runs",
  60_000,
  async (lab) => {
    // The key is on no keyserver (nothing listens on port 1): only a cached copy could allow.
    const policy = await writePolicy(`${lab.site}/remote.yaml`, DEMO, {
      offline: false,
      keyservers: ["http://127.0.0.1:1"],
    });
    // Control: a copy in a cache root owns is used (so the planted file is a valid entry).
    const rootCache = `${lab.site}/cache`;
    await Deno.mkdir(`${rootCache}/keys`, { recursive: true });
    await Deno.copyFile(lab.key, `${rootCache}/keys/${DEMO}`);
    const control = await rootCheck(["--policy", policy, lab.image], {
      SIFTRUST_CACHEDIR: rootCache,
    });
    assertEquals(control.code, 0, context(control));

    const staged = `${lab.site}/staged.asc`;
    await Deno.copyFile(lab.key, staged);
    await Deno.chmod(staged, 0o644);
    await attackerShell(
      `for d in "$HOME/cache/keys" "$HOME/.cache/siftrust/keys"; do ` +
        `mkdir -p "$d" && cp ${staged} "$d/${DEMO}"; done`,
      lab.home,
    );
    const refused = await rootCheck(["--policy", policy, lab.image], lab.userEnv);
    assertRefused(refused, `${lab.home}/cache/decisions`, `belongs to uid ${ATTACKER_UID}`);
    const refusedKeys = await rootCheck(["--policy", policy, "--no-cache", lab.image], lab.userEnv);
    assertRefused(refusedKeys, `${lab.home}/cache/keys`, `belongs to uid ${ATTACKER_UID}`);
    const { SIFTRUST_CACHEDIR: _, ...xdgOnly } = lab.userEnv;
    const unavailable = await rootCheck(["--policy", policy, "--no-cache", lab.image], xdgOnly);
    assertEquals(unavailable.code, 4, context(unavailable));
    const exec = await rootExec(lab, ["--policy", policy, "--no-cache"], lab.userEnv);
    assertEquals(exec.code, 4, context(exec));
    assertNotRun(exec);
  },
);

labTest(
  "exec never goes through the user's proxy; root's own check follows root's",
  60_000,
  async (lab) => {
    // Two proxies: a late request of the control run cannot be counted against exec.
    let viaControl = 0;
    let proxied = 0;
    let direct = 0;
    const controlProxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      viaControl++;
      return new Response("no", { status: 502 });
    });
    const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      proxied++;
      return new Response("no", { status: 502 });
    });
    const keyserver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      direct++;
      return new Response("not found", { status: 404 });
    });
    try {
      const policy = await writePolicy(`${lab.site}/remote.yaml`, DEMO, {
        offline: false,
        keyservers: [`http://127.0.0.1:${keyserver.addr.port}`],
      });
      const proxyEnv = (port: number) => {
        const url = `http://127.0.0.1:${port}`;
        return {
          // `deno run` itself asks dl.deno.land for a newer Deno (through the environment's
          // proxy) when it has time: not siftrust's request (docs/install.md).
          DENO_NO_UPDATE_CHECK: "1",
          HTTP_PROXY: url,
          http_proxy: url,
          ALL_PROXY: url,
          NODE_USE_ENV_PROXY: "1",
          NO_PROXY: "",
          no_proxy: "",
        };
      };
      // Control: root's check, with the proxy in root's own environment, goes through it.
      const viaProxy = await rootCheck(["--policy", policy, "--no-cache", lab.image], {
        ...proxyEnv(controlProxy.addr.port),
        SIFTRUST_CACHEDIR: `${lab.site}/cache`,
      });
      ok(viaControl > 0, `the control request did not reach the proxy\n${context(viaProxy)}`);
      direct = 0;
      const exec = await rootExec(lab, ["--policy", policy, "--no-cache"], {
        ...lab.userEnv,
        ...proxyEnv(proxy.addr.port),
      });
      assertNotRun(exec);
      assertEquals(proxied, 0, `exec used the proxy\n${context(exec)}`);
      ok(direct > 0, `exec did not ask the keyserver\n${context(exec)}`);
    } finally {
      await controlProxy.shutdown();
      await proxy.shutdown();
      await keyserver.shutdown();
    }
  },
);

labTest(
  "a policy its group can write is refused; one in /tmp that root owns is accepted",
  30_000,
  async (lab) => {
    const policy = await writePolicy(`${lab.site}/site.yaml`, DEMO, { files: [lab.key] });
    const env = { SIFTRUST_CACHEDIR: `${lab.site}/cache` };
    await Deno.chmod(policy, 0o664);
    assertRefused(await rootCheck(["--policy", policy, lab.image], env), policy, "its group");
    const inTmp = await Deno.makeTempFile({
      dir: "/tmp",
      prefix: "siftrust-sticky-",
      suffix: ".yaml",
    });
    try {
      await writePolicy(inTmp, DEMO, { files: [lab.key] });
      const accepted = await rootCheck(["--policy", inTmp, lab.image], env);
      assertEquals(accepted.code, 0, context(accepted));
      ok(accepted.stdout.startsWith("ALLOW"), context(accepted));
    } finally {
      await Deno.remove(inTmp);
    }
  },
);

labTest("root's verify refuses the user's keyrings and key cache", 30_000, async (lab) => {
  const staged = `${lab.site}/staged.asc`;
  await Deno.copyFile(lab.key, staged);
  await Deno.chmod(staged, 0o644);
  await attackerShell(
    `mkdir -p "$HOME/keys" "$HOME/cache/keys" && cp ${staged} "$HOME/keys/pgp-public"`,
    lab.home,
  );
  const rootEtc = { SIFTRUST_SYSCONFDIR: `${lab.site}/etc` };
  const keyring = await runCli(["verify", "--local", lab.image], {
    env: { ...lab.userEnv, ...rootEtc },
  });
  assertRefused(keyring, `${lab.home}/keys/pgp-public`, `belongs to uid ${ATTACKER_UID}`);
  const cache = await runCli(["verify", lab.image], {
    env: { ...lab.userEnv, ...rootEtc, APPTAINER_KEYSDIR: `${lab.site}/keys` },
  });
  assertRefused(cache, `${lab.home}/cache/keys`, `belongs to uid ${ATTACKER_UID}`);
});
