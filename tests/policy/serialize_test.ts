/**
 * The effective policy, written out: every default filled in, and YAML that loads as the
 * same policy (with a comment saying whose keyservers are used when the policy names none).
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { type Policy, policyDocument, policyYaml } from "../../policy/mod.ts";
import { effectivePolicy } from "../../policy/model.ts";
import { parsePolicy } from "../../policy/load.ts";

const FP = (n: number) =>
  `8232570480B868E1473AEEB03DBCBA1EE9D661${n.toString(16).padStart(2, "0")}`;

function policyOf(text: string): Policy {
  return effectivePolicy(
    parsePolicy(text, "p.yaml"),
    "/etc/siftrust/p.yaml",
    "ab12",
    "/etc/siftrust",
  );
}

/** The YAML of a policy, loaded again. */
function reloaded(policy: Policy): Policy {
  const again = policyOf(policyYaml(policy));
  return { ...again, path: policy.path, digest: policy.digest };
}

const CASES = {
  "defaults only": `version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}"}\n`,
  "a remote, keyservers left to it": `version: 1\nsigners:\n  ci: {fingerprint: "${
    FP(1)
  }"}\nremote: {name: site, uri: https://site.example}\n`,
  "keyservers, expiry, threshold and rules": [
    "version: 1",
    "mode: warn",
    "signers:",
    `  ci: {fingerprint: "${FP(1)}", expires: 2030-01-01}`,
    `  qa: {fingerprint: "${FP(2)}"}`,
    "keys:",
    "  files: [site.asc, /opt/keys.asc]",
    "  local: false",
    "  keyservers: [{uri: https://keys.example.org}, {uri: http://k.internal, insecure: true}]",
    "require: {signed-by: {threshold: 2, of: [ci, qa]}, legacy: true}",
    "rules:",
    "  - {name: scratch, paths: [/scratch/**], action: allow}",
    "  - name: bio",
    "    paths: [/apps/bio/**]",
    "    require: {signed-by: {all-of: [qa]}, groups: [1], unsigned-objects: allow}",
    "",
  ].join("\n"),
  offline: `version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}"}\nkeys: {offline: true}\n`,
};

for (const [name, text] of Object.entries(CASES)) {
  Deno.test(`policyYaml loads as the same policy: ${name}`, () => {
    const policy = policyOf(text);
    // The same in effect (the YAML writes out defaults such as `insecure: false`).
    assertEquals(policyDocument(reloaded(policy)), policyDocument(policy));
  });
}

Deno.test("policyDocument: every default written out, key files absolute", () => {
  const document = policyDocument(policyOf(CASES["defaults only"]));
  assertEquals(document, {
    version: 1,
    mode: "enforce",
    signers: { ci: { fingerprint: FP(1) } },
    keys: { files: [], local: true, keyservers: null, offline: false },
    require: {
      "signed-by": { "any-of": ["ci"] },
      groups: "all",
      "unsigned-objects": "deny",
      legacy: false,
    },
    rules: [],
  });
  const keys = policyDocument(policyOf(CASES["keyservers, expiry, threshold and rules"]))
    .keys as Record<string, unknown>;
  assertEquals(keys.files, ["/etc/siftrust/site.asc", "/opt/keys.asc"]);
  assertEquals(keys.keyservers, [
    { uri: "https://keys.example.org", insecure: false },
    { uri: "http://k.internal", insecure: true },
  ]);
});

Deno.test("policyYaml: whence it comes, and whose keyservers are used", () => {
  const own = policyYaml(policyOf(CASES["defaults only"]));
  ok(own.startsWith("# the effective policy of /etc/siftrust/p.yaml\n# sha256 ab12\n"));
  match(
    own,
    /\n {2}# keyservers: not set: those of the user's current remote are used\n {2}offline: false\n/,
  );
  const remote = policyYaml(policyOf(CASES["a remote, keyservers left to it"]));
  match(remote, /# keyservers: not set: those of remote site are used\n/);
  ok(!policyYaml(policyOf(CASES.offline)).includes("keyservers"));
  ok(!policyYaml(policyOf(CASES["keyservers, expiry, threshold and rules"])).includes("not set"));
});
