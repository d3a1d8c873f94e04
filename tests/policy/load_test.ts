/**
 * Loading a site policy (docs/policy.md): every problem names the file,
 * line and column and says what is wrong; nothing is evaluated with a policy that did not load;
 * a policy that sets every field loads with the documented defaults.
 */

import { deepStrictEqual as assertEquals, fail, match, ok } from "node:assert/strict";
import { loadPolicy, PolicyError } from "../../policy/mod.ts";
import { effectivePolicy } from "../../policy/model.ts";
import { parsePolicy } from "../../policy/load.ts";
import { runCli } from "../helpers/cli.ts";
import { isolatedEnv, tempDir } from "../helpers/env.ts";

/** A policy that sets every field, with comments on what each means. */
const FULL_EXAMPLE = `version: 1                      # required; 1 is the only version
mode: enforce                   # enforce (default) | warn

signers:                        # required, at least one: name -> trusted signer
  site-build:
    fingerprint: "8232 5704 80B8 68E1 473A  EEB0 3DBC BA1E E9D6 61E5"
  alice:
    fingerprint: 12045c8c0b1004d058de4beda20c27ee7ff7ba84
    expires: 2027-06-30         # optional: not trusted after this day (UTC)

keys:                           # where signers' public keys come from, in this order
  files: [site-keys.asc]        # optional keyring files, armored or binary; relative
                                # paths resolve against the policy file's folder
  local: true                   # default true: also the user's and the global keyring
  keyservers:                   # optional, ordered; default: the remote's keyservers
    - uri: https://keys.example.edu
    - uri: http://keys.internal:11371
      insecure: true            # required for http://
  offline: false                # default false; true: never touch the network

remote:                         # optional: the site's remote endpoint
  name: site
  uri: cloud.example.edu
  exclusive: true               # keyservers come only from this policy/remote;
                                # a user's remote.yaml or --url cannot change them

require:                        # the requirement for images no rule matches
  signed-by: {any-of: [site-build, alice]}
  groups: all                   # all | [1, 2]
  unsigned-objects: deny        # deny (default) | allow
  legacy: false                 # default false: ignore pre-3.6 legacy signatures

rules:                          # optional; the first rule whose path glob matches
  - name: restricted            # the image's absolute, symlink-resolved path applies
    paths: ["/apps/restricted/**"]
    require:
      signed-by: {all-of: [site-build, alice]}
      groups: [1]
  - name: scratch
    paths: ["/scratch/**/*.sif"]
    action: allow               # allow | deny, decided without looking at signatures
`;

const ALICE = "12045c8c0b1004d058de4beda20c27ee7ff7ba84";
const SITE = "8232 5704 80B8 68E1 473A  EEB0 3DBC BA1E E9D6 61E5";

/** Lines 1–6 of most policies below: version, then two signers. */
const HEAD = [
  "version: 1",
  "signers:",
  "  alice:",
  `    fingerprint: ${ALICE}`,
  "  bob:",
  `    fingerprint: "${SITE}"`,
];

const FILE = "/etc/siftrust/policy.yaml";

/** The problems of a policy text that must not load. */
function problemsOf(lines: string[], path = FILE): string[] {
  try {
    parsePolicy(lines.join("\n") + "\n", path);
  } catch (error) {
    if (error instanceof PolicyError) return error.problems;
    fail(`parsePolicy threw ${error} instead of a PolicyError`);
  }
  return fail(`the policy loaded:\n${lines.join("\n")}`);
}

/** Asserts exactly one problem, at `line:col`, whose message matches every pattern. */
function onlyProblem(lines: string[], line: number, col: number, ...patterns: RegExp[]): void {
  const problems = problemsOf(lines);
  assertEquals(problems.length, 1, `one problem expected, got:\n${problems.join("\n")}`);
  const prefix = `${FILE}:${line}:${col}: `;
  ok(problems[0].startsWith(prefix), `expected the prefix "${prefix}" in:\n${problems[0]}`);
  const message = problems[0].slice(prefix.length);
  for (const pattern of patterns) match(message, pattern);
}

// ---------------------------------------------------------------------------------------------
// unknown fields

Deno.test("an unknown top-level field is named, with where it is", () => {
  onlyProblem([...HEAD, "modee: warn"], 7, 1, /unknown field "modee"/, /did you mean "mode"/);
});

Deno.test("an unknown field in a signer names the field and the signer", () => {
  onlyProblem(
    [...HEAD, "    expire: 2027-06-30"],
    7,
    5,
    /unknown field "expire"/,
    /bob/,
    /did you mean "expires"/,
  );
});

Deno.test("an unknown field in a rule is named", () => {
  onlyProblem(
    [...HEAD, "rules:", "  - name: scratch", "    paths: [/scratch/**]", "    acton: allow"],
    10,
    5,
    /unknown field "acton"/,
    /rules/,
  );
});

Deno.test("an unknown field in keys is named", () => {
  onlyProblem(
    [...HEAD, "keys:", "  files: []", "  offine: true"],
    9,
    3,
    /unknown field "offine" in keys/,
  );
});

Deno.test("an unknown field in a requirement and in a keyserver is named", () => {
  onlyProblem(
    [...HEAD, "require:", "  groups: all", "  unsigned: allow"],
    9,
    3,
    /unknown field "unsigned"/,
    /require/,
  );
  onlyProblem(
    [
      ...HEAD,
      "keys:",
      "  keyservers:",
      "    - uri: https://keys.example.edu",
      "      insecur: true",
    ],
    10,
    7,
    /unknown field "insecur"/,
  );
});

// ---------------------------------------------------------------------------------------------
// wrong types

Deno.test('version "1" (a string) is a wrong type', () => {
  onlyProblem(['version: "1"', ...HEAD.slice(1)], 1, 10, /version/, /1/);
});

Deno.test("mode 3 is a wrong type: the message lists enforce and warn", () => {
  onlyProblem([...HEAD, "mode: 3"], 7, 7, /mode/, /enforce/, /warn/);
});

Deno.test('groups "some" is a wrong type: the message says all or a list of groups', () => {
  onlyProblem([...HEAD, "require:", "  groups: some"], 8, 11, /groups/, /all/, /list/);
});

Deno.test('local "yes" is a wrong type: the message says true or false', () => {
  onlyProblem([...HEAD, "keys:", '  local: "yes"'], 8, 10, /keys\.local/, /true or false/);
  // YAML 1.2: a bare yes is the string "yes", not a boolean.
  onlyProblem([...HEAD, "keys:", "  local: yes"], 8, 10, /keys\.local/, /true or false/);
});

Deno.test('threshold "2" (a string) is a wrong type', () => {
  onlyProblem(
    [...HEAD, "require:", '  signed-by: {threshold: "2", of: [alice, bob]}'],
    8,
    26,
    /threshold/,
    /number/,
  );
});

Deno.test("a fingerprint YAML reads as a number says to quote it", () => {
  onlyProblem(
    ["version: 1", "signers:", "  alice:", "    fingerprint: 1204"],
    4,
    18,
    /fingerprint/,
    /string/,
    /quote/,
  );
});

// ---------------------------------------------------------------------------------------------
// signers

Deno.test("an undeclared signer in the top-level require is named where it is used", () => {
  onlyProblem(
    [...HEAD, "require:", "  signed-by: {any-of: [alice, carol]}"],
    8,
    31,
    /signer "carol" is not declared/,
  );
});

Deno.test("an undeclared signer in a rule is named where it is used", () => {
  onlyProblem(
    [
      ...HEAD,
      "rules:",
      "  - name: restricted",
      "    paths: [/apps/restricted/**]",
      "    require:",
      "      signed-by:",
      "        all-of: [alice, dave]",
    ],
    12,
    25,
    /signer "dave" is not declared/,
  );
  onlyProblem(
    [
      ...HEAD,
      "rules:",
      "  - name: two",
      "    paths: [/apps/**]",
      "    require: {signed-by: {threshold: 1, of: [erin]}}",
    ],
    10,
    46,
    /signer "erin" is not declared/,
  );
});

Deno.test("a fingerprint of 39 hex digits, or with a non-hex digit, is refused", () => {
  const signer = (fingerprint: string) => ["version: 1", "signers:", "  alice:", fingerprint];
  onlyProblem(signer(`    fingerprint: ${ALICE.slice(1)}`), 4, 18, /40 hex digits/);
  onlyProblem(signer(`    fingerprint: ${ALICE.slice(1)}g`), 4, 18, /40 hex digits/);
  onlyProblem(signer(`    fingerprint: "${ALICE.slice(0, 36)} 7ff"`), 4, 18, /40 hex digits/);
});

Deno.test("two signers may not share a fingerprint, however it is written", () => {
  const spaced = ALICE.toUpperCase().match(/.{4}/g)!.join(" ");
  onlyProblem(
    [...HEAD, "  carol:", `    fingerprint: "${spaced}"`],
    8,
    18,
    /alice and carol share the fingerprint/,
    new RegExp(ALICE.toUpperCase()),
  );
  onlyProblem(
    [...HEAD, "  dave:", `    fingerprint: ${SITE.replace(/ /g, "").toLowerCase()}`],
    8,
    18,
    /bob and dave share the fingerprint/,
  );
});

Deno.test("a signer name outside [A-Za-z0-9._-] is refused where it is written", () => {
  onlyProblem(
    ["version: 1", "signers:", '  "al ice":', `    fingerprint: ${ALICE}`],
    3,
    3,
    /al ice/,
    /letters|characters|A-Za-z/,
  );
});

// ---------------------------------------------------------------------------------------------
// thresholds, version, paths, keyservers

Deno.test("threshold 0 is out of range", () => {
  onlyProblem(
    [...HEAD, "require:", "  signed-by: {threshold: 0, of: [alice, bob]}"],
    8,
    26,
    /threshold/,
    />= ?1|at least 1/,
  );
});

Deno.test("a threshold above the list's length is out of range", () => {
  onlyProblem(
    [...HEAD, "require:", "  signed-by: {threshold: 3, of: [alice, bob]}"],
    8,
    26,
    /threshold 3 is more than the 2 signers/,
  );
});

Deno.test("version 2 is refused: 1 is the only version", () => {
  onlyProblem(["version: 2", ...HEAD.slice(1)], 1, 10, /version must be 1/);
});

Deno.test("a relative rule path is refused: patterns are absolute", () => {
  onlyProblem(
    [...HEAD, "rules:", "  - name: apps", '    paths: ["/ok/**", "apps/*.sif"]'],
    9,
    23,
    /"apps\/\*\.sif" must be absolute/,
  );
});

Deno.test("an http keyserver needs insecure: true", () => {
  const servers = [
    ...HEAD,
    "keys:",
    "  keyservers:",
    "    - uri: https://keys.example.edu",
    "    - uri: http://keys.internal:11371",
  ];
  onlyProblem(servers, 10, 12, /http:\/\/keys\.internal:11371 is plain http/, /insecure: true/);
  parsePolicy([...servers, "      insecure: true"].join("\n"), FILE);
});

// ---------------------------------------------------------------------------------------------
// YAML itself

Deno.test("a YAML syntax error names where it is", () => {
  onlyProblem([...HEAD, "mode: enforce: warn"], 7, 7, /nested mappings/i);
  onlyProblem([...HEAD, "require:", "  - groups: all", "  legacy: true"], 9, 1, /column|indent/i);
});

Deno.test("an alias to an anchor that does not exist is a policy error, not a crash", () => {
  const problems = problemsOf([...HEAD, "mode: *enforcing"]);
  assertEquals(problems.length, 1, problems.join("\n"));
  match(problems[0], /^\/etc\/siftrust\/policy\.yaml:7:7: /);
  match(problems[0], /alias|anchor/i);
});

Deno.test("an alias bomb is refused at its worst alias, before anything is expanded", () => {
  const levels = Array.from(
    { length: 9 },
    (_, i) =>
      i === 0
        ? "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"
        : `x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`,
  );
  const start = performance.now();
  onlyProblem([...HEAD, ...levels], 15, 10, /alias \*a7/, /expand to more than 10000 values/);
  ok(performance.now() - start < 2000, "the bomb was expanded");
});

Deno.test("an alias inside the value it names is refused, not a crash", () => {
  onlyProblem(["version: 1", "signers: &s", "  a: *s"], 3, 6, /alias \*s is inside/);
});

Deno.test("a few aliases that expand a little still load", () => {
  const policy = parsePolicy(
    [
      ...HEAD,
      "rules:",
      "  - name: a",
      "    paths: &scratch [/scratch/**]",
      "    action: deny",
      "  - name: b",
      "    paths: *scratch",
      "    require: {signed-by: {any-of: [alice]}}",
    ].join("\n"),
    FILE,
  );
  assertEquals(policy.rules?.[1].paths, ["/scratch/**"]);
});

Deno.test("values nested too deeply are a policy problem, not a stack overflow", () => {
  const problems = problemsOf([...HEAD, `rules: ${"[".repeat(5000)}${"]".repeat(5000)}`]);
  ok(problems.length >= 1);
  for (const problem of problems) match(problem, /^\/etc\/siftrust\/policy\.yaml:7:\d+: .*deeply/);
  // A block sequence thousands deep, then another line: the parser's first pass runs out of
  // stack before it bounds the depth (found by tests/hostile/fuzz_parsers_test.ts).
  assertEquals(problemsOf([...HEAD, "rules:", `${"- ".repeat(20000)}x`, " - y"]), [
    "/etc/siftrust/policy.yaml:8:1: the policy nests values too deeply to be read",
  ]);
});

Deno.test("an impossible date is refused, not rolled over to the next month", () => {
  const signer = (day: string) => [
    "version: 1",
    "signers:",
    "  alice:",
    `    fingerprint: ${ALICE}`,
    `    expires: ${day}`,
  ];
  onlyProblem(signer("2027-02-30"), 5, 14, /not a valid date/);
  onlyProblem(signer("2027-13-01"), 5, 14, /not a valid date/);
  onlyProblem(signer("2027-04-31"), 5, 14, /not a valid date/);
  onlyProblem(signer("2027-00-10"), 5, 14, /not a valid date/);
  assertEquals(
    parsePolicy(signer("2028-02-29").join("\n"), FILE).signers.alice.expires,
    "2028-02-29",
  );
  assertEquals(
    parsePolicy(signer("0050-01-01").join("\n"), FILE).signers.alice.expires,
    "0050-01-01",
  );
});

Deno.test("an invalid path pattern is refused where it is written", () => {
  const rule = (
    pattern: string,
  ) => [...HEAD, "rules:", "  - name: r", `    paths: ["/ok/*", "${pattern}"]`, "    action: deny"];
  onlyProblem(rule("/a/[z-a]"), 9, 22, /"\/a\/\[z-a\]"/, /range z-a .* reversed/);
  onlyProblem(rule("/a/[!]"), 9, 22, /class \[!\] is empty/);
  parsePolicy(rule("/a/[a-z]/[!x]/[]]").join("\n"), FILE);
});

Deno.test("a duplicate YAML key is an error, at the second occurrence", () => {
  onlyProblem([...HEAD, "version: 1"], 7, 1, /unique|duplicate/i);
  // A second entry for a signer would silently replace the first: refused too.
  onlyProblem([...HEAD, "  alice:", `    fingerprint: "${SITE}"`], 7, 3, /unique|duplicate/i);
});

Deno.test("an empty policy file is an error at line 1, column 1", () => {
  for (const text of [[""], ["# nothing here yet"]]) {
    const problems = problemsOf(text);
    ok(problems.length >= 1);
    for (const problem of problems) ok(problem.startsWith(`${FILE}:1:1: `), problem);
    match(problems.join("\n"), /empty|version .*required|signers is required/);
  }
});

Deno.test("every problem of a file is reported, in file order", () => {
  const problems = problemsOf([
    "version: 1",
    "modee: warn",
    "signers:",
    "  alice:",
    `    fingerprint: ${ALICE.slice(1)}`,
    "keys:",
    "  local: maybe",
  ]);
  assertEquals(problems.map((p) => p.split(": ")[0]), [
    `${FILE}:2:1`,
    `${FILE}:5:18`,
    `${FILE}:7:10`,
  ]);
});

// ---------------------------------------------------------------------------------------------
// defaults

Deno.test("a policy that sets every field loads with the documented defaults", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/policy.yaml`, FULL_EXAMPLE);
  const policy = await loadPolicy(`${dir}/policy.yaml`);
  assertEquals(policy.path, `${dir}/policy.yaml`);
  match(policy.digest, /^[0-9a-f]{64}$/);
  assertEquals(policy.mode, "enforce");
  assertEquals(
    policy.signers,
    [
      { name: "site-build", fingerprint: "8232570480B868E1473AEEB03DBCBA1EE9D661E5" },
      { name: "alice", fingerprint: ALICE.toUpperCase(), expires: "2027-06-30" },
    ].map((s) => ({ expires: undefined, ...s })),
  );
  assertEquals(policy.keys, {
    files: [`${dir}/site-keys.asc`],
    local: true,
    keyservers: [
      { uri: "https://keys.example.edu" },
      { uri: "http://keys.internal:11371", insecure: true },
    ],
    offline: false,
  });
  assertEquals(policy.remote, { name: "site", uri: "cloud.example.edu", exclusive: true });
  assertEquals(policy.require, {
    signedBy: { kind: "any-of", names: ["site-build", "alice"] },
    groups: "all",
    unsignedObjects: "deny",
    legacy: false,
  });
  assertEquals(policy.rules, [
    {
      name: "restricted",
      paths: ["/apps/restricted/**"],
      // signed-by and groups from the rule; the rest from the top-level require.
      require: {
        signedBy: { kind: "all-of", names: ["site-build", "alice"] },
        groups: [1],
        unsignedObjects: "deny",
        legacy: false,
      },
    },
    { name: "scratch", paths: ["/scratch/**/*.sif"], action: "allow" },
  ]);
});

Deno.test("a minimal policy gets every default", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  await Deno.writeTextFile(`${dir}/p.yaml`, HEAD.join("\n") + "\n");
  const policy = await loadPolicy(`${dir}/p.yaml`);
  assertEquals(policy.mode, "enforce");
  assertEquals(policy.keys, { files: [], local: true, keyservers: undefined, offline: false });
  assertEquals(policy.remote, undefined);
  // signed-by defaults to any of all the signers, in the order declared.
  assertEquals(policy.require, {
    signedBy: { kind: "any-of", names: ["alice", "bob"] },
    groups: "all",
    unsignedObjects: "deny",
    legacy: false,
  });
  assertEquals(policy.rules, []);
});

Deno.test("a rule's require fields default to the top-level require, field by field", () => {
  const file = parsePolicy(
    [
      ...HEAD,
      "require:",
      "  signed-by: {threshold: 2, of: [alice, bob]}",
      "  groups: [1, 2]",
      "  unsigned-objects: allow",
      "  legacy: true",
      "rules:",
      "  - name: only-signer",
      "    paths: [/a/**]",
      "    require: {signed-by: {any-of: [bob]}}",
      "  - name: only-groups",
      "    paths: [/b/**]",
      "    require: {groups: all, legacy: false}",
      "  - name: empty",
      "    paths: [/c/**]",
      "    require: {}",
      "  - name: none",
      "    paths: [/d/**]",
    ].join("\n"),
    FILE,
  );
  const policy = effectivePolicy(file, FILE, "0".repeat(64), "/etc/siftrust");
  const top = {
    signedBy: { kind: "threshold", threshold: 2, names: ["alice", "bob"] },
    groups: [1, 2],
    unsignedObjects: "allow",
    legacy: true,
  };
  assertEquals(policy.require, top);
  assertEquals(policy.rules.map((r) => r.require), [
    { ...top, signedBy: { kind: "any-of", names: ["bob"] } },
    { ...top, groups: "all", legacy: false },
    top,
    top,
  ]);
});

Deno.test("relative key files resolve against the policy's folder, not the working directory", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  await Deno.mkdir(`${dir}/conf`);
  await Deno.writeTextFile(
    `${dir}/conf/policy.yaml`,
    [...HEAD, "keys:", "  files: [site-keys.asc, sub/more.gpg, /srv/keys/abs.gpg]"].join("\n"),
  );
  const policy = await loadPolicy(`${dir}/conf/policy.yaml`);
  assertEquals(policy.keys.files, [
    `${dir}/conf/site-keys.asc`,
    `${dir}/conf/sub/more.gpg`,
    "/srv/keys/abs.gpg",
  ]);
});

// ---------------------------------------------------------------------------------------------
// the CLI

Deno.test("check with an invalid policy exits 2, prints every problem, and evaluates nothing", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  const policy = `${dir}/bad.yaml`;
  await Deno.writeTextFile(
    policy,
    [
      "version: 1",
      "modee: warn",
      "signers:",
      "  alice:",
      `    fingerprint: ${ALICE.slice(1)}`,
      "rules:",
      "  - name: apps",
      "    paths: [apps/**]",
    ].join("\n") + "\n",
  );
  const image = `${dir}/image.sif`;
  await Deno.writeTextFile(image, "not even a SIF");
  const result = await runCli(
    ["check", "--policy", policy, "--audit-log", `${dir}/audit.log`, "--json", image],
    { env: isolatedEnv(dir) },
  );
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stdout, "", "no decision is printed");
  match(result.stderr, new RegExp(`${policy}:2:1: unknown field "modee"`));
  match(result.stderr, new RegExp(`${policy}:5:18: a fingerprint must be 40 hex digits`));
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 2, result.stderr);
  ok(!result.stderr.includes("image.sif"), "the image was not looked at");
  for (const absent of [`${dir}/audit.log`, `${dir}/cache`]) {
    await Deno.stat(absent).then(
      () => fail(`${absent} exists: something was evaluated`),
      () => {},
    );
  }
});

Deno.test("check with a policy whose semantics are wrong exits 2 with file:line:col", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  const policy = `${dir}/p.yaml`;
  await Deno.writeTextFile(
    policy,
    [...HEAD, "require:", "  signed-by: {all-of: [alice, mallory]}"].join("\n"),
  );
  const result = await runCli(["check", "--policy", policy, `${dir}/missing.sif`], {
    env: isolatedEnv(dir),
  });
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stdout, "");
  match(result.stderr, new RegExp(`${policy}:8:31: signer "mallory" is not declared`));
  ok(!result.stderr.includes("missing.sif"), result.stderr);
});

Deno.test("a policy that would crash the parser still exits 2, not 70", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  const policy = `${dir}/p.yaml`;
  await Deno.writeTextFile(policy, [...HEAD, "mode: *enforcing"].join("\n") + "\n");
  const result = await runCli(["check", "--policy", policy, `${dir}/missing.sif`], {
    env: isolatedEnv(dir),
  });
  assertEquals(result.code, 2, result.stderr);
  match(result.stderr, new RegExp(`${policy}:7:7: `));
  ok(!/internal error/.test(result.stderr), result.stderr);
});

Deno.test("policy lint and check exit 2 with file:line:col for a bomb, a bad pattern, a bad date", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  const cases: [string, string[], RegExp][] = [
    ["bomb", [
      ...HEAD,
      "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
      ...Array.from(
        { length: 5 },
        (_, i) => `y${i}: &a${i} [${Array(10).fill(i === 0 ? "*a" : `*a${i - 1}`).join(", ")}]`,
      ),
    ], /:12:\d+: the alias/],
    [
      "glob",
      [...HEAD, "rules:", "  - {name: r, paths: ['/a/[z-a]'], action: deny}"],
      /:8:23: path pattern/,
    ],
    [
      "date",
      ["version: 1", "signers:", `  a: {fingerprint: ${ALICE}, expires: 2027-02-30}`],
      /:3:\d+: not a valid date/,
    ],
  ];
  for (const [name, lines, where] of cases) {
    const policy = `${dir}/${name}.yaml`;
    await Deno.writeTextFile(policy, lines.join("\n") + "\n");
    for (
      const args of [["policy", "lint", policy], ["check", "--policy", policy, `${dir}/x.sif`]]
    ) {
      const result = await runCli(args, { env: isolatedEnv(dir) });
      assertEquals(result.code, 2, `${name}: ${args[0]}: ${result.stderr}`);
      match(result.stderr, new RegExp(`${policy}${where.source}`));
      ok(!/internal error|^\s+at /m.test(result.stderr), result.stderr);
    }
  }
});

Deno.test("a missing policy file exits 2 with a clear message", async () => {
  await using temp = await tempDir("siftrust-policy-load-");
  const dir = temp.dir;
  const policy = `${dir}/nowhere/policy.yaml`;
  const result = await runCli(["check", "--policy", policy, `${dir}/image.sif`], {
    env: isolatedEnv(dir),
  });
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stdout, "");
  match(result.stderr, new RegExp(`${policy}: cannot read the policy: no such file`));
  match(result.stderr, /--policy FILE/);
  // A folder is not a policy either.
  const folder = await runCli(["check", "--policy", dir, `${dir}/image.sif`], {
    env: isolatedEnv(dir),
  });
  assertEquals(folder.code, 2, folder.stderr);
  match(folder.stderr, new RegExp(`${dir}: cannot read the policy`));
});

// ---------------------------------------------------------------------------------------------
// key and certificate signers (DSSE)

Deno.test("key and certificate signers load; relative files resolve against the policy", async () => {
  await using temp = await tempDir();
  const dir = temp.dir;
  await Deno.writeTextFile(
    `${dir}/policy.yaml`,
    [
      ...HEAD,
      "  build:",
      "    key: keys/build.pub.pem",
      "    expires: 2030-01-31",
      "  ci:",
      "    certificate: {file: ci.pem, roots: /etc/site/ca.pem}",
      "  hpc:",
      "    certificate:",
      "      file: hpc.pem",
      "      roots: ca.pem",
      "      intermediates: sub.pem",
      "      ocsp: true",
      "      crls: [sub.crl, /etc/site/ca.crl]",
      "",
    ].join("\n"),
  );
  const policy = await loadPolicy(`${dir}/policy.yaml`);
  assertEquals(policy.signers.slice(2), [
    { name: "build", key: `${dir}/keys/build.pub.pem`, expires: "2030-01-31" },
    {
      name: "ci",
      certificate: { file: `${dir}/ci.pem`, roots: "/etc/site/ca.pem", ocsp: false, crls: [] },
      expires: undefined,
    },
    {
      name: "hpc",
      certificate: {
        file: `${dir}/hpc.pem`,
        roots: `${dir}/ca.pem`,
        intermediates: `${dir}/sub.pem`,
        ocsp: true,
        crls: [`${dir}/sub.crl`, "/etc/site/ca.crl"],
      },
      expires: undefined,
    },
  ]);
  assertEquals(policy.require.signedBy.names, ["alice", "bob", "build", "ci", "hpc"]);
});

Deno.test("a signer with both a fingerprint and a key is refused at the signer", () => {
  onlyProblem(
    [...HEAD, "  carol:", `    fingerprint: ${"AB".repeat(20)}`, "    key: carol.pem"],
    8,
    5,
    /exactly one of fingerprint, key or certificate/,
  );
});

Deno.test("a signer with neither fingerprint, key nor certificate is refused", () => {
  onlyProblem([...HEAD, "  carol:", "    expires: 2030-01-01"], 8, 5, /needs one of/);
});

Deno.test("a certificate without roots is refused: roots is required", () => {
  onlyProblem(
    [...HEAD, "  carol:", "    certificate:", "      file: carol.pem"],
    9,
    7,
    /signers\.carol\.certificate\.roots is required/,
  );
});

Deno.test("an unknown field in a certificate is named, with a hint", () => {
  onlyProblem(
    [...HEAD, "  carol:", "    certificate: {file: c.pem, roots: r.pem, crl: [x.crl]}"],
    8,
    46,
    /unknown field "crl"/,
    /did you mean "crls"/,
  );
});

Deno.test("ocsp: true in wrong types and an empty key path are refused", () => {
  onlyProblem(
    [...HEAD, "  carol:", "    certificate: {file: c.pem, roots: r.pem, ocsp: yes please}"],
    8,
    52,
    /ocsp must be true or false/,
  );
  onlyProblem([...HEAD, "  carol:", '    key: ""'], 8, 10, /key/);
});

Deno.test("two signers may not name the same key or certificate file", () => {
  onlyProblem(
    [...HEAD, "  carol:", "    key: ./keys/k.pem", "  dave:", "    key: keys//k.pem"],
    10,
    10,
    /signers carol and dave share the key file keys\/\/k\.pem/,
  );
});

Deno.test("ocsp: true in an offline policy is refused at the ocsp field", () => {
  onlyProblem(
    [
      ...HEAD,
      "  carol:",
      "    certificate:",
      "      file: c.pem",
      "      roots: r.pem",
      "      ocsp: true",
      "keys:",
      "  offline: true",
    ],
    11,
    13,
    /keys\.offline is true/,
    /crls/,
  );
});
