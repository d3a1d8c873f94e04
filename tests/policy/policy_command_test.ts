/**
 * `siftrust policy lint` and `siftrust policy show`: warnings with file:line:column, the exit
 * codes (0 after a load, 1 with --strict and warnings, 2 when the policy does not load), and a
 * `show` whose YAML loads as the same policy.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { patternCovers } from "../../policy/lint.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";

const FP = (n: number) =>
  `8232570480B868E1473AEEB03DBCBA1EE9D661${n.toString(16).padStart(2, "0")}`;

async function withPolicy(
  text: string,
  fn: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  await using temp = await tempDir("siftrust-policy-cmd-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/policy.yaml`, text, { mode: 0o644 });
  await Deno.chmod(`${dir}/policy.yaml`, 0o644);
  await fn(`${dir}/policy.yaml`, dir);
}

Deno.test("patternCovers: identical, PREFIX/**, and plain paths; conservative otherwise", () => {
  ok(patternCovers("/apps/**", "/apps/**"));
  ok(patternCovers("/apps/**", "/apps/bio/*.sif"));
  ok(patternCovers("/apps/**", "/apps/**/x.sif"));
  ok(patternCovers("/home/*/**", "/home/alice/bin/**"));
  ok(patternCovers("/**", "/anything/*"));
  ok(patternCovers("/scratch/*.sif", "/scratch/x.sif"));
  ok(!patternCovers("/apps/**", "/apps"));
  ok(!patternCovers("/apps/bio/**", "/apps/**"));
  ok(!patternCovers("/home/*/**", "/home/**/x"));
  ok(!patternCovers("/apps/*.sif", "/apps/*/x.sif"));
});

Deno.test("policy lint: a clean policy", async () => {
  await withPolicy(
    `version: 1\nsigners:\n  ci:\n    fingerprint: "${FP(1)}"\n`,
    async (path) => {
      const result = await runCli(["policy", "lint", "--strict", path]);
      assertEquals(result.code, 0, result.stderr);
      assertEquals(result.stdout, `${path}: no problems found\n`);
    },
  );
});

Deno.test("policy lint: each warning, at its line", async () => {
  const text = [
    "version: 1", // 1
    "signers:", // 2
    `  ci: {fingerprint: "${FP(1)}"}`, // 3
    `  gone: {fingerprint: "${FP(2)}", expires: 2020-01-31}`, // 4
    `  unused: {fingerprint: "${FP(3)}"}`, // 5
    "keys:", // 6
    "  files: [missing.asc]", // 7
    "  keyservers:", // 8
    "    - {uri: http://keys.internal:11371, insecure: true}", // 9
    "require:", // 10
    "  signed-by: {any-of: [ci, gone]}", // 11
    "rules:", // 12
    "  - name: apps", // 13
    '    paths: ["/apps/**"]', // 14
    "    action: allow", // 15
    "  - name: bio", // 16
    '    paths: ["/apps/bio/*.sif"]', // 17
    "    action: deny", // 18
    "",
  ].join("\n");
  await withPolicy(text, async (path) => {
    const result = await runCli(["policy", "lint", path]);
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    match(lines[0], new RegExp(`^WARNING: ${path}:4:\\d+: signer gone expired on 2020-01-31`));
    match(lines[1], new RegExp(`^WARNING: ${path}:5:3: signer unused is in no signed-by`));
    match(lines[2], new RegExp(`^WARNING: ${path}:7:\\d+: key file .*missing.asc: no such file`));
    match(
      lines[3],
      new RegExp(`^WARNING: ${path}:9:\\d+: keyserver http://keys.internal:11371 is plain http`),
    );
    match(
      lines[4],
      new RegExp(`^WARNING: ${path}:16:5: rule bio never applies: .*"/apps/\\*\\*" covers`),
    );
    assertEquals(lines[5], `${path}: 5 warnings`);
    const strict = await runCli(["policy", "lint", "--strict", path]);
    assertEquals(strict.code, 1);
  });
});

Deno.test("policy lint: a policy that does not load exits 2, like check", async () => {
  await withPolicy("version: 1\nsigners:\n  a: {fingerprint: nope}\n", async (path) => {
    const result = await runCli(["policy", "lint", path]);
    assertEquals(result.code, 2);
    match(result.stderr, new RegExp(`${path}:3:\\d+: .*40 hex digits`));
  });
});

Deno.test("policy show: defaults filled in, and the YAML loads as the same policy", async () => {
  const text = `version: 1\nsigners:\n  ci: {fingerprint: "${
    FP(1).toLowerCase().replace(/(.{4})/g, "$1 ")
  }"}\nkeys: {files: [k.asc]}\nrules:\n  - {name: r, paths: ["/r/**"], require: {groups: [1]}}\n`;
  await withPolicy(text, async (path, dir) => {
    const yaml = await runCli(["policy", "show", path]);
    assertEquals(yaml.code, 0, yaml.stderr);
    match(yaml.stdout, /unsigned-objects: deny/);
    match(yaml.stdout, new RegExp(`fingerprint: ${FP(1)}`));
    const json = await runCli(["policy", "show", "--json", path]);
    const shown = JSON.parse(json.stdout);
    assertEquals(shown.policy.keys, {
      files: [`${await Deno.realPath(dir)}/k.asc`],
      local: true,
      keyservers: null,
      offline: false,
    });
    assertEquals(shown.policy.rules[0].require["signed-by"], { "any-of": ["ci"] });
    await Deno.writeTextFile(`${dir}/again.yaml`, yaml.stdout);
    const again = JSON.parse(
      (await runCli(["policy", "show", "--json", `${dir}/again.yaml`])).stdout,
    );
    assertEquals(again.policy, shown.policy);
  });
});
