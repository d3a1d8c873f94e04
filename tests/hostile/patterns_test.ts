/**
 * Path patterns match every character, newlines and other control characters included, so a
 * path cannot slip past a rule by holding one; and the pattern rules that landed still hold.
 *
 * @module
 */

import assert from "node:assert/strict";
import { compileGlob, GlobError, matchesGlob } from "../../policy/glob.ts";
import { parsePolicy } from "../../policy/load.ts";
import { matchingRule } from "../../policy/evaluate.ts";
import { effectivePolicy } from "../../policy/model.ts";
import { runCli } from "../helpers/cli.ts";

const POLICY = [
  "version: 1",
  "signers:",
  "  alice: {fingerprint: 12045c8c0b1004d058de4beda20c27ee7ff7ba84}",
  "rules:",
  "  - name: no-scratch",
  "    paths: [/scratch/**]",
  "    action: deny",
  "  - name: apps",
  "    paths: ['/apps/*.sif', '/apps/v?/[a-c]*.sif']",
  "    require: {signed-by: {any-of: [alice]}}",
].join("\n");

function ruleFor(path: string): string | undefined {
  const file = parsePolicy(POLICY, "/etc/siftrust/policy.yaml");
  return matchingRule(effectivePolicy(file, "/etc/siftrust/policy.yaml", "", "/etc"), path)
    ?.name;
}

Deno.test("a newline in a path does not slip past a /scratch/** deny rule", () => {
  assert.equal(ruleFor("/scratch/evil\n.sif"), "no-scratch");
  assert.equal(ruleFor("/scratch/\n/x.sif"), "no-scratch");
  assert.equal(ruleFor("/scratch/a\r\u2028\u2029\x1b[2J.sif"), "no-scratch");
});

Deno.test("* and ? match control characters and newlines, but not /", () => {
  assert.equal(ruleFor("/apps/a\nb.sif"), "apps");
  assert.equal(ruleFor("/apps/v\n/b\t.sif"), "apps");
  assert.equal(ruleFor("/apps/x/y.sif"), undefined);
  assert.equal(ruleFor("/apps/v1/d.sif"), undefined);
  assert.ok(matchesGlob("/a/\u{1F600}", "/a/?"), "? is one character, not one UTF-16 unit");
});

Deno.test("** crosses folders, /**/ also matches one /, * and ? stay in a segment", () => {
  const cases: [string, string, boolean][] = [
    ["/a/**", "/a/b/c", true],
    ["/a/**", "/a/", true],
    ["/a/**/b", "/a/b", true],
    ["/a/**/b", "/a/x/y/b", true],
    ["/a/**/b", "/ab", false],
    ["/a/*", "/a/b/c", false],
    ["/a/*/c", "/a/b/c", true],
    ["/a/?", "/a//", false],
    ["/a/[!x]", "/a/y", true],
    ["/a/[^x]", "/a/x", false],
    ["/a/[]x]", "/a/]", true],
    ["/a/[a-c-]", "/a/-", true],
    ["/a/[", "/a/[", true],
    ["/a.b", "/aXb", false],
    ["/a+(b)|\\$", "/a+(b)|\\$", true],
  ];
  for (const [pattern, path, expected] of cases) {
    assert.equal(matchesGlob(path, pattern), expected, `${pattern} on ${JSON.stringify(path)}`);
  }
});

Deno.test("an invalid pattern is a GlobError naming the problem", () => {
  assert.throws(() => compileGlob("/a/[z-a]"), (error) => error instanceof GlobError);
  assert.throws(() => compileGlob("/a/[!]"), (error) => error instanceof GlobError);
});

Deno.test("check: an invalid quoted glob as an image argument exits 2 with one line", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "siftrust-glob-arg-" }));
  try {
    const policy = `${dir}/policy.yaml`;
    await Deno.writeTextFile(policy, `${POLICY}\nkeys: {local: false, offline: true}\n`);
    const result = await runCli(["check", "--policy", policy, `${dir}/[z-a]*.sif`], {
      env: { HOME: dir, XDG_CACHE_HOME: dir, SIFTRUST_SYSCONFDIR: dir },
    });
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /invalid glob pattern .*range z-a .* reversed/);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
