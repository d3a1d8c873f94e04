/**
 * Drives `cobraref` (./cobraref/main.go): a small Go program of ours, built offline in GOPATH
 * mode against Debian's cobra and pflag (the libraries Apptainer and SingularityCE parse their
 * command lines with), that reports which command a command line runs and with which
 * arguments. Built once per test process into a temporary folder.
 *
 * Register tests that use it with `peerTest(name, COBRAREF_PEERS, fn)`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RuntimeFlagTable } from "../../policy/runtime/mod.ts";

const GOCODE = "/usr/share/gocode/src";

/** The peers the harness needs: go, and Debian's cobra and pflag sources. */
export const COBRAREF_PEERS: string[] = [
  "go",
  `${GOCODE}/github.com/spf13/cobra`,
  `${GOCODE}/github.com/spf13/pflag`,
];

/** What cobra does with one command line. */
export interface CobraOutcome {
  /** A container command ran. */
  ran: boolean;
  /** Which one (`exec`, `instance start`…). */
  command?: string;
  /** Its arguments after its flags: the image first. */
  args?: string[];
  /** Why nothing ran, when cobra failed. */
  error?: string;
}

let binary: Promise<string> | undefined;

function cacheRoot(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "siftrust-tests");
  return join(Deno.env.get("HOME") ?? Deno.cwd(), ".cache", "siftrust-tests");
}

async function build(): Promise<string> {
  const work = await Deno.makeTempDir({ prefix: "cobraref-" });
  const gopath = join(work, "gopath");
  await Deno.mkdir(join(gopath, "src", "github.com"), { recursive: true });
  for await (const entry of Deno.readDir(GOCODE)) {
    if (entry.name === "github.com") continue;
    await Deno.symlink(join(GOCODE, entry.name), join(gopath, "src", entry.name));
  }
  for await (const entry of Deno.readDir(join(GOCODE, "github.com"))) {
    await Deno.symlink(
      join(GOCODE, "github.com", entry.name),
      join(gopath, "src", "github.com", entry.name),
    );
  }
  const pkg = join(gopath, "src", "cobraref");
  await Deno.mkdir(pkg);
  await Deno.copyFile(
    fileURLToPath(new URL("./cobraref/main.go", import.meta.url)),
    join(pkg, "main.go"),
  );
  const target = join(work, "cobraref");
  const out = await new Deno.Command("go", {
    args: ["build", "-o", target, "."],
    cwd: pkg,
    env: {
      GO111MODULE: "off",
      GOPATH: gopath,
      // Go's build cache is safe for concurrent use; sharing it makes rebuilds quick.
      GOCACHE: join(cacheRoot(), "gocache"),
      GOFLAGS: "",
      GOPROXY: "off",
      GOTOOLCHAIN: "local",
      CGO_ENABLED: "0",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`building cobraref failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return target;
}

/** Runs every command line of `cases` through cobra set up with `table`'s flags. */
export async function cobraOutcomes(
  table: RuntimeFlagTable,
  cases: readonly (readonly string[])[],
): Promise<CobraOutcome[]> {
  binary ??= build();
  const child = new Deno.Command(await binary, {
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ table, cases })));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`cobraref failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as CobraOutcome[];
}

/** Removes the temporary folder of the harness, if it was built. */
export async function removeCobraref(): Promise<void> {
  if (binary === undefined) return;
  const path = await binary.catch(() => undefined);
  binary = undefined;
  if (path !== undefined) {
    await Deno.remove(join(path, ".."), { recursive: true }).catch(() => undefined);
  }
}
