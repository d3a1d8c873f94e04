/**
 * Runs the siftrust CLI as a user would: a separate process, with the permissions the
 * binary has (`deno task siftrust`'s flags). `SIFTRUST_CLI` may name another entry point,
 * e.g. the bundle `dist/siftrust.js`, so the same tests run against what ships.
 *
 * @module
 */

import { resolve } from "node:path";
import { REPO_ROOT } from "./peers.ts";

/** What a CLI run printed and how it ended. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output such as `sif dump`. */
  stdoutBytes: Uint8Array;
}

/** Options of {@linkcode runCli}. */
export interface CliOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Text for stdin (default: none, stdin closed). */
  stdin?: string;
  /** Working directory (default: the repository root). */
  cwd?: string;
}

/**
 * The CLI entry the tests run: `SIFTRUST_CLI` (e.g. the bundle), else cli/main.ts; a relative
 * path is taken from the repository, whatever folder a test runs the CLI in.
 */
export const CLI_ENTRY: string = resolve(REPO_ROOT, Deno.env.get("SIFTRUST_CLI") ?? "cli/main.ts");

/**
 * Deno's cache, pinned: tests give the CLI a throw-away HOME, which would otherwise send
 * Deno to fetch its npm packages again into that HOME.
 */
export const DENO_DIR: string = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;

/** The permission flags of the shipped binary (kept equal to deno.json's `siftrust` task). */
export const PERMISSIONS: string[] = await (async () => {
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const task: string = config.tasks.siftrust;
  return task.split(/\s+/).filter((word) => word.startsWith("--allow-"));
})();

/** Runs `siftrust ARGS…` and collects its output. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSIONS, CLI_ENTRY, ...args],
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", DENO_DIR, ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
    stdoutBytes: stdout,
  };
}

/** Runs a command (a test peer such as siftool) and collects its output. */
export async function runTool(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout, stderr: new TextDecoder().decode(stderr) };
}

/**
 * `runCli` with a 20 s deadline; undefined when it did not finish. Were the CLI to open a
 * FIFO (`fifo`), it would block until a writer came: the watchdog then opens the FIFO for
 * writing to release the child.
 */
export async function runCliWithin(args: string[], fifo?: string): Promise<CliResult | undefined> {
  const run = runCli(args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 20_000);
  });
  try {
    const result = await Promise.race([run, late]);
    if (result !== undefined) return result;
    if (fifo !== undefined) {
      (await Deno.open(fifo, { write: true })).close();
      await run;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** One signature of `verify --json` (`type` and `keySource` may be left out by imitations). */
export interface VerifySignatureJson {
  id: number;
  type?: string;
  signer: string | null;
  keySource?: string | null;
  dsseKeyIds: string[];
  examined: boolean;
  error: string | null;
}

/** What `siftrust verify --json --local` said about an image. */
export interface CliVerification {
  code: number;
  /** `--json` `verified`. */
  ok: boolean;
  /** `--json` `error` ("" when verified or when no JSON was printed). */
  error: string;
  /** The text after `Failed to verify container: ` on stderr ("" when there is none). */
  stderrError: string;
  signatures: VerifySignatureJson[];
  stderr: string;
}

/** Runs `siftrust verify --json --local ARGS IMAGE` (keyrings only: no network in tests). */
export async function cliVerify(
  image: string,
  args: string[],
  env: Record<string, string>,
): Promise<CliVerification> {
  const out = await runCli(["verify", "--json", "--local", ...args, image], { env });
  let report: { verified?: boolean; error?: string | null; signatures?: VerifySignatureJson[] } =
    {};
  try {
    report = JSON.parse(out.stdout);
  } catch {
    // No JSON: the command failed before verifying; stderr says why.
  }
  return {
    code: out.code,
    ok: report.verified === true,
    error: report.error ?? "",
    stderrError: /Failed to verify container: (.*)$/m.exec(out.stderr)?.[1] ?? "",
    signatures: report.signatures ?? [],
    stderr: out.stderr.trim(),
  };
}
