/**
 * The policy linter in-process: structured findings (code, data, YAML path), expiry judged at
 * a given time, file findings from real file modes, and positions in the policy's text.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  fileWarnings,
  lintPolicy,
  type LintWarning,
  locateWarnings,
  type Policy,
} from "../../policy/mod.ts";
import { effectivePolicy } from "../../policy/model.ts";
import { EXPIRY_NOTICE_DAYS } from "../../policy/lint.ts";
import { parsePolicy } from "../../policy/load.ts";
import { tempDir } from "../helpers/env.ts";

const FP = (n: number) =>
  `8232570480B868E1473AEEB03DBCBA1EE9D661${n.toString(16).padStart(2, "0")}`;

function policyOf(text: string, folder = "/etc/siftrust"): Policy {
  return effectivePolicy(parsePolicy(text, "policy.yaml"), `${folder}/policy.yaml`, "0", folder);
}

const TEXT = [
  "version: 1", // 1
  "signers:", // 2
  `  ci: {fingerprint: "${FP(1)}"}`, // 3
  `  gone: {fingerprint: "${FP(2)}", expires: 2026-01-09}`, // 4
  `  unused: {fingerprint: "${FP(3)}"}`, // 5
  '  demo: {fingerprint: "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A"}', // 6
  "keys:", // 7
  "  keyservers:", // 8
  "    - {uri: HTTP://keys.internal:11371}", // 9
  "    - {uri: https://keys.example.org}", // 10
  "remote: {name: site, uri: http://site.example}", // 11
  "require:", // 12
  "  signed-by: {any-of: [ci, gone, demo]}", // 13
  "rules:", // 14
  "  - {name: apps, paths: [/apps/**], action: allow}", // 15
  "  - {name: bio, paths: [/apps/bio/*.sif], action: deny}", // 16
  "  - {name: apps, paths: [/apps/x.sif, /other/*], action: deny}", // 17
  "",
].join("\n");

Deno.test("lintPolicy: each finding with its code, data and YAML path", () => {
  const warnings = lintPolicy(policyOf(TEXT), new Date("2026-01-10T12:00:00Z"));
  assertEquals(
    warnings,
    [
      {
        path: ["signers", "gone", "expires"],
        code: "signer-expired",
        signer: "gone",
        expires: "2026-01-09",
      },
      { path: ["signers", "unused"], code: "signer-unused", signer: "unused" },
      {
        path: ["signers", "demo", "fingerprint"],
        code: "signer-public-key",
        signer: "demo",
        key: "siftrust's example key (examples/example-key)",
      },
      {
        path: ["keys", "keyservers", 0, "uri"],
        code: "plain-http-keyserver",
        uri: "HTTP://keys.internal:11371",
      },
      {
        path: ["remote", "uri"],
        code: "plain-http-remote",
        name: "site",
        uri: "http://site.example",
      },
      {
        path: ["rules", 2, "name"],
        code: "duplicate-rule-name",
        name: "apps",
        first: 1,
        second: 3,
      },
      {
        path: ["rules", 1],
        code: "rule-unreachable",
        rule: "bio",
        coveredBy: [{ rule: "apps", outer: "/apps/**", inner: "/apps/bio/*.sif" }],
      },
      {
        path: ["rules", 2, "paths", 0],
        code: "pattern-unreachable",
        rule: "apps",
        coverage: { rule: "apps", outer: "/apps/**", inner: "/apps/x.sif" },
      },
    ] satisfies LintWarning[],
  );
});

Deno.test("lintPolicy: expiry is reported from the notice window on, and the day itself", () => {
  const expiring = (now: string) =>
    lintPolicy(
      policyOf(`version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}", expires: 2026-03-01}\n`),
      new Date(now),
    ).map((w) => w.code === "signer-expiring" ? w.days : w.code);
  assertEquals(expiring("2026-01-01T00:00:00Z"), []);
  assertEquals(expiring("2026-01-30T23:59:59Z"), [EXPIRY_NOTICE_DAYS]);
  assertEquals(expiring("2026-02-28T08:00:00Z"), [1]);
  assertEquals(expiring("2026-03-01T23:00:00Z"), [0]);
  assertEquals(expiring("2026-03-02T00:00:00Z"), ["signer-expired"]);
});

Deno.test("lintPolicy: no key material, and a name twice in one signed-by", () => {
  const offline = policyOf(
    `version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}"}\nkeys: {offline: true, local: false}\n`,
  );
  assertEquals(lintPolicy(offline, new Date()), [{ path: ["keys"], code: "no-key-material" }]);
  // The loader refuses duplicates; a policy built in code can still have them.
  const policy = policyOf(`version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}"}\n`);
  policy.require = {
    ...policy.require,
    signedBy: { kind: "threshold", threshold: 1, names: ["ci", "ci"] },
  };
  assertEquals(lintPolicy(policy, new Date()), [
    {
      path: ["require", "signed-by", "of", 1],
      code: "duplicate-signer",
      signer: "ci",
      threshold: true,
    },
  ]);
});

Deno.test("fileWarnings: writable policy and key files, missing and non-file key files", async () => {
  await using temp = await tempDir("siftrust-lint-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/policy.yaml`, "");
  await Deno.chmod(`${dir}/policy.yaml`, 0o666);
  await Deno.writeTextFile(`${dir}/group.asc`, "");
  await Deno.chmod(`${dir}/group.asc`, 0o664);
  await Deno.mkdir(`${dir}/folder.asc`);
  const policy = policyOf(
    `version: 1\nsigners:\n  ci: {fingerprint: "${FP(1)}"}\n` +
      "keys: {files: [missing.asc, folder.asc, group.asc]}\n",
    dir,
  );
  const warnings = await fileWarnings(policy);
  assertEquals(warnings.map(({ code, path }) => [code, path]), [
    ["policy-writable", []],
    ["key-file-unreadable", ["keys", "files", 0]],
    ["key-file-not-a-file", ["keys", "files", 1]],
    ["key-file-writable", ["keys", "files", 2]],
  ]);
  assertEquals(warnings[0], { path: [], code: "policy-writable", who: "anyone can write it" });
  const missing = warnings[1];
  assertEquals(missing.code === "key-file-unreadable" && missing.missing, true);
  assertEquals(missing.code === "key-file-unreadable" && missing.file, `${dir}/missing.asc`);
  const group = warnings[3];
  assertEquals(group.code === "key-file-writable" && group.who, "its group can write it");
});

Deno.test("locateWarnings: line and column of each node's key, sorted; the file first", () => {
  const warnings: LintWarning[] = [
    ...lintPolicy(policyOf(TEXT), new Date("2026-01-10T12:00:00Z")),
    { path: [], code: "policy-writable", who: "anyone can write it" },
  ];
  const located = locateWarnings(warnings, TEXT);
  assertEquals(
    located.map(({ warning, line, column }) => [warning.code, line, column]),
    [
      ["policy-writable", undefined, undefined],
      ["signer-expired", 4, 67],
      ["signer-unused", 5, 3],
      ["signer-public-key", 6, 10],
      ["plain-http-keyserver", 9, 8],
      ["plain-http-remote", 11, 22],
      ["rule-unreachable", 16, 5],
      ["duplicate-rule-name", 17, 6],
      ["pattern-unreachable", 17, 26],
    ],
  );
});
