/**
 * `deno task compile`: the single-file binaries, `dist/siftrust-x86_64-linux` and
 * `dist/siftrust-aarch64-linux`, plus `dist/siftrust` for this machine. They get exactly the
 * permissions of `deno task siftrust` (deno.json), never `-A`. They are compiled from the
 * sources (cli/full_entry.ts, which names the commands by a literal specifier, so that they are
 * compiled in), not from the bundle: a binary keeps each module apart and loads it when it is
 * first imported, so `check`'s fast path loads only its own modules there, as from the sources
 * (the bundle's two files, `deno task bundle`, are for `deno run`).
 *
 * `deno compile` downloads Deno's runtime (`denort`) for each target. Without internet access,
 * set `DENORT_BIN` to a denort binary: it is used for this machine's target only (a binary for
 * another architecture needs that architecture's denort). `SIFTRUST_TARGETS` (comma-separated
 * Rust target triples) limits the targets.
 *
 * @module
 */

import denoJson from "../deno.json" with { type: "json" };

const TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "x86_64-linux",
  "aarch64-unknown-linux-gnu": "aarch64-linux",
};
const HOST = `${Deno.build.arch}-unknown-linux-gnu`;

/** The permission flags of the shipped binary: those of the `siftrust` task. */
export function shippedPermissions(): string[] {
  return denoJson.tasks.siftrust.split(/\s+/).filter((word) => word.startsWith("--allow-"));
}

function targets(): string[] {
  const asked = Deno.env.get("SIFTRUST_TARGETS");
  if (asked !== undefined) return asked.split(",").map((t) => t.trim()).filter((t) => t !== "");
  // A DENORT_BIN runtime serves its own architecture only.
  return Deno.env.get("DENORT_BIN") !== undefined ? [HOST] : Object.keys(TARGETS);
}

async function compile(target: string): Promise<boolean> {
  const output = `dist/siftrust-${TARGETS[target] ?? target}`;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...shippedPermissions(),
      "--target",
      target,
      "--output",
      output,
      "cli/full_entry.ts",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code === 0) {
    console.log(`built ${output}`);
    if (target === HOST) await Deno.copyFile(output, "dist/siftrust");
    return true;
  }
  // deno-lint-ignore no-control-regex
  const text = new TextDecoder().decode(stderr).replace(/\x1b\[[0-9;]*m/g, "");
  if (/denort|dl\.deno\.land|error sending request|dns error/i.test(text)) {
    console.error(
      `ERROR:   cannot download Deno's runtime (denort) for ${target}: run \`deno task compile\` on a machine ` +
        "that reaches dl.deno.land, or set DENORT_BIN to a denort binary for this machine's architecture",
    );
  } else {
    console.error(`ERROR:   deno compile for ${target} failed: ${text.trim().split("\n").at(-1)}`);
  }
  return false;
}

if (import.meta.main) {
  await Deno.mkdir("dist", { recursive: true });
  let ok = true;
  for (const target of targets()) ok = await compile(target) && ok;
  Deno.exit(ok ? 0 : 1);
}
