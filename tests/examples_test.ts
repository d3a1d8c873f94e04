/**
 * The committed examples are what `examples/make_example.ts` makes: the unsigned image byte for
 * byte, the signed one object for object (and it verifies with the committed public key); the
 * demo (`deno task demo`) allows the one and denies the other.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { makeExample, makeSignedExample } from "../examples/make_example.ts";
import { DataType, DESCRIPTOR_SIZE, SifImage } from "../core/sif/mod.ts";
import { DENO_DIR, PERMISSIONS, runCli } from "./helpers/cli.ts";
import { isolatedEnv, withTempDir } from "./helpers/env.ts";
import { REPO_ROOT } from "./helpers/peers.ts";

const EXAMPLES = `${REPO_ROOT}examples`;
const STALE =
  "run `deno run --allow-read=examples --allow-write=examples examples/make_example.ts`";

/** The example key's fingerprint, as examples/site.yaml declares it. */
const EXAMPLE_FINGERPRINT = "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A";

/** The launch script, and every non-signature object: raw descriptor and data. */
async function nonSignatureParts(path: string): Promise<Uint8Array[]> {
  using image = await SifImage.open(path);
  const parts = [image.header.launchScript];
  for (const d of image.descriptors) {
    if (d.dataType === DataType.Signature) continue;
    const at = image.header.descriptorsOffset + d.slot * DESCRIPTOR_SIZE;
    parts.push(await image.readAt(at, DESCRIPTOR_SIZE), await image.objectData(d));
  }
  return parts;
}

Deno.test("examples/example.sif is reproducible from examples/make_example.ts", async () => {
  await withTempDir(async (dir) => {
    await makeExample(`${dir}/example.sif`);
    assertEquals(
      await Deno.readFile(`${dir}/example.sif`),
      await Deno.readFile(`${EXAMPLES}/example.sif`),
      `examples/example.sif is stale: ${STALE}`,
    );
  });
});

Deno.test("examples/example-signed.sif holds exactly the objects make_example.ts makes", async () => {
  await withTempDir(async (dir) => {
    await makeExample(`${dir}/example.sif`);
    const committed = await nonSignatureParts(`${EXAMPLES}/example-signed.sif`);
    assertEquals(committed, await nonSignatureParts(`${dir}/example.sif`), STALE);
    using image = await SifImage.open(`${EXAMPLES}/example-signed.sif`);
    const signatures = image.descriptors.filter((d) => d.dataType === DataType.Signature);
    assertEquals(signatures.map((d) => [d.linkedIsGroup, d.linkedId]), [[true, 1]]);
  });
});

Deno.test("examples/example-signed.sif is re-made byte for byte from the example key", async () => {
  await withTempDir(async (dir) => {
    await makeSignedExample(
      `${dir}/signed.sif`,
      await Deno.readTextFile(`${EXAMPLES}/example-key.sec.asc`),
    );
    assertEquals(
      await Deno.readFile(`${dir}/signed.sif`),
      await Deno.readFile(`${EXAMPLES}/example-signed.sif`),
      `examples/example-signed.sif is stale: ${STALE}`,
    );
  });
});

Deno.test("examples/example-signed.sif verifies with the committed public key", async () => {
  await withTempDir(async (dir) => {
    const result = await runCli(
      ["verify", "--keyring", "examples/example-key.pub.asc", "examples/example-signed.sif"],
      { env: isolatedEnv(dir) },
    );
    assertEquals(result.code, 0, result.stderr);
    match(result.stdout, new RegExp(`Fingerprint: ${EXAMPLE_FINGERPRINT}`));
    const unsigned = await runCli(
      ["verify", "--keyring", "examples/example-key.pub.asc", "examples/example.sif"],
      { env: isolatedEnv(dir) },
    );
    assertEquals(unsigned.code, 1, unsigned.stderr);
  });
});

Deno.test("examples/site.yaml declares the example key, and lint flags only that", async () => {
  const policy = await Deno.readTextFile(`${EXAMPLES}/site.yaml`);
  const declared = policy.match(/fingerprint: "([0-9A-F ]+)"/)?.[1]?.replace(/ /g, "");
  assertEquals(declared, EXAMPLE_FINGERPRINT);
  match(policy, /DEMO key/);
  const lint = await runCli(["policy", "lint", "examples/site.yaml"]);
  assertEquals(lint.code, 0, lint.stderr);
  // A checkout's file modes follow the umask: leave the permission warnings out.
  const warnings = lint.stdout.split("\n")
    .filter((line) => line.startsWith("WARNING: ") && !line.includes("can write it"));
  assertEquals(warnings.length, 1, lint.stdout);
  match(warnings[0], /example-demo is siftrust's example key .* whose secret key is public/);
});

Deno.test("deno task demo runs with exactly the permissions of deno task siftrust", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}deno.json`));
  const flags = (task: string) => task.split(/\s+/).filter((w) => w.startsWith("--allow-"));
  assertEquals(flags(tasks.demo), flags(tasks.siftrust));
  match(tasks.demo, /examples\/demo\.ts$/);
});

Deno.test("the demo allows the signed example, denies the unsigned one, and exits 0", async () => {
  await withTempDir(async (dir) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSIONS, `${EXAMPLES}/demo.ts`],
      cwd: dir,
      env: { NO_COLOR: "1", DENO_DIR, ...isolatedEnv(dir) },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assertEquals(code, 0, `${out}\n${new TextDecoder().decode(stderr)}`);
    match(out, /example-signed\.sif: ALLOW under .*site\.yaml/);
    match(out, /example\.sif: DENY under .*site\.yaml/);
    match(out, /exit code 1: DENY, as expected/);
    ok(!out.includes("did not work"));
  });
});
