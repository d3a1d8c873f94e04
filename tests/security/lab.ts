/**
 * The set-up the enforcement tests share: a root-owned folder (mode 0755) holding the example
 * policy, its key and the example images, and a folder that the attacker (`nobody`) owns.
 *
 * @module
 */

import {
  type CheckContext,
  checkImage,
  type CheckResult,
  loadPolicy,
  policyKeys,
} from "../../policy/mod.ts";
import { tempDir } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import assert from "node:assert/strict";
import { NOBODY, spawnAsNobody } from "../helpers/unprivileged.ts";

/** The signed example image (allowed by the example policy). */
export const SIGNED = `${REPO_ROOT}examples/example-signed.sif`;
/** The unsigned example image (denied). */
export const UNSIGNED = `${REPO_ROOT}examples/example.sif`;

/** A root-owned lab with the example policy and a folder the attacker owns. */
export interface Lab extends AsyncDisposable {
  /** The lab's root-owned folder (mode 0755), its real path. */
  dir: string;
  /** The example policy (enforce mode), root-owned 0644. */
  policy: string;
  /** A folder owned by `nobody`. */
  user: string;
  /** A folder `nobody` owns for HOME and DENO_DIR. */
  home: string;
  /** Root's environment for the CLI: HOME and caches inside the lab. */
  env: Record<string, string>;
}

/** Makes a lab; `extra` is appended to the policy text. */
export async function lab(extra = ""): Promise<Lab> {
  const temp = await tempDir("siftrust-security-");
  const dir = temp.dir;
  await Deno.chmod(dir, 0o755);
  const text = await Deno.readTextFile(`${REPO_ROOT}examples/site.yaml`);
  await Deno.writeTextFile(`${dir}/site.yaml`, `${text.trimEnd()}\n${extra}`);
  await Deno.copyFile(`${REPO_ROOT}examples/example-key.pub.asc`, `${dir}/example-key.pub.asc`);
  for (const file of ["site.yaml", "example-key.pub.asc"]) {
    await Deno.chmod(`${dir}/${file}`, 0o644);
  }
  await Deno.mkdir(`${dir}/user`, { mode: 0o755 });
  await Deno.chown(`${dir}/user`, NOBODY, NOBODY);
  await Deno.mkdir(`${dir}/home`);
  await Deno.chown(`${dir}/home`, NOBODY, NOBODY);
  await Deno.mkdir(`${dir}/root-home`);
  return {
    dir,
    policy: `${dir}/site.yaml`,
    user: `${dir}/user`,
    home: `${dir}/home`,
    env: {
      HOME: `${dir}/root-home`,
      XDG_CACHE_HOME: `${dir}/root-home/cache`,
      SIFTRUST_SYSCONFDIR: `${dir}/root-home/etc`,
      APPTAINER_KEYSDIR: `${dir}/root-home/keys`,
      APPTAINER_CONFIGDIR: `${dir}/root-home/apptainer`,
    },
    [Symbol.asyncDispose]: () => temp[Symbol.asyncDispose](),
  };
}

/** Copies `from` to `to` and gives the copy to `nobody` (mode 0644). */
export async function giveToNobody(from: string, to: string): Promise<void> {
  await Deno.copyFile(from, to);
  await Deno.chmod(to, 0o644);
  await Deno.chown(to, NOBODY, NOBODY);
}

/** The lab's policy and keys, loaded in this process (as root's runs load them). */
export async function labContext(l: Lab, cacheDir?: string): Promise<CheckContext> {
  const policy = await loadPolicy(l.policy);
  const keys = await policyKeys(policy, { env: l.env, uid: 0, euid: 0 }, () => {
    throw new Error("the example policy is offline");
  });
  return { policy, keys, cacheDir };
}

/** A checker in this process (root's `check`), with the decision cache in `cacheDir`. */
export async function checker(
  l: Lab,
  cacheDir?: string,
): Promise<(image: string) => Promise<CheckResult>> {
  const context = await labContext(l, cacheDir);
  return (image) => checkImage(image, context);
}

/** Whether two files hold the same bytes. */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** How long each swapper runs, in seconds. */
export const SWAP_SECONDS = 3;

/**
 * Starts the attacker's swapper (./exchange.ts) as `nobody` on paths A and B, for `seconds`: as
 * fast as it can, or every `pauseMs` milliseconds.
 */
export async function startExchange(
  l: Lab,
  a: string,
  b: string,
  { pauseMs = 0, seconds = SWAP_SECONDS }: { pauseMs?: number; seconds?: number } = {},
): Promise<Deno.ChildProcess> {
  // The swapper must be readable by nobody: copy it into the lab.
  const script = `${l.dir}/exchange.ts`;
  await Deno.copyFile(`${REPO_ROOT}tests/security/exchange.ts`, script);
  await Deno.chmod(script, 0o644);
  return await spawnAsNobody(
    [
      Deno.execPath(),
      ...["run", "--quiet", "--allow-ffi", script, a, b, String(seconds), String(pauseMs)],
    ],
    { home: l.home },
  );
}

/** Waits for the swapper and returns how many exchanges it made. */
export async function exchanges(child: Deno.ChildProcess): Promise<number> {
  const out = await child.output();
  const decoder = new TextDecoder();
  assert.ok(out.success, `the swapper failed: ${decoder.decode(out.stderr)}`);
  return Number(decoder.decode(out.stdout).trim());
}
