/**
 * The audit log of `siftrust check`: `--audit-log FILE` or `SIFTRUST_AUDIT_LOG` appends one
 * JSON line per decision (time, user, host, Slurm job, image and its digest, decision, rule,
 * signers, policy digest), and concurrent checks writing one log leave whole lines only.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { createHash } from "node:crypto";
import { signImage } from "../../core/integrity/mod.ts";
import { createImage, DataType, SifImage } from "../../core/sif/mod.ts";
import { auditContext, type IdentitySources } from "../../policy/mod.ts";
import { passwdName as nameInPasswd } from "../../policy/audit_context.ts";
import { CLI_ENTRY, DENO_DIR, PERMISSIONS, runCli } from "../helpers/cli.ts";
import { type TestEnv, testEnv } from "../helpers/env.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { buildImage } from "../helpers/images.ts";
import { newKey } from "../helpers/keys.ts";

const alice = await newKey("alice");
const ALICE = alice.getFingerprint().toUpperCase();

async function makeImage(path: string, signed: boolean): Promise<string> {
  await buildImage(path, { partition: crypto.getRandomValues(new Uint8Array(4096)) });
  if (signed) {
    using writable = await SifImage.open(path, { write: true });
    await signImage(writable, { kind: "pgp", key: wrapKey(alice) });
  }
  return path;
}

interface Lab extends TestEnv {
  policy: string;
  policyDigest: string;
  allowed: string;
  denied: string;
  log: string;
}

async function lab(): Promise<Lab> {
  const box = await testEnv("siftrust-audit-");
  const dir = box.dir;
  await Deno.writeFile(`${dir}/keyring.gpg`, alice.toPublic().write());
  const policyText = JSON.stringify({
    version: 1,
    signers: { alice: { fingerprint: ALICE } },
    keys: { files: ["keyring.gpg"], local: false, offline: true },
    rules: [{ name: "scratch", paths: [`${dir}/scratch/**`], action: "allow" }],
  });
  await Deno.writeTextFile(`${dir}/policy.yaml`, policyText);
  return {
    ...box,
    policy: `${dir}/policy.yaml`,
    policyDigest: createHash("sha256").update(policyText).digest("hex"),
    allowed: await makeImage(`${dir}/allowed.sif`, true),
    denied: await makeImage(`${dir}/denied.sif`, false),
    log: `${dir}/logs/audit.jsonl`,
    env: { ...box.env, USER: "auditor" },
  };
}

interface AuditLine {
  time: string;
  user: string;
  host: string;
  slurmJobId: string | null;
  image: string;
  imageDigest: string | null;
  decision: string;
  mode: string;
  keyUnavailable: boolean;
  rule: string;
  signers: { fingerprint: string | null; name: string | null; trusted: boolean }[];
  policyDigest: string;
  [field: string]: unknown;
}

async function readLog(path: string): Promise<AuditLine[]> {
  const text = await Deno.readTextFile(path);
  ok(text.endsWith("\n"), "the log ends with a whole line");
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

const FIELDS = [
  "time",
  "user",
  "host",
  "slurmJobId",
  "image",
  "imageDigest",
  "decision",
  "mode",
  "keyUnavailable",
  "rule",
  "signers",
  "policyDigest",
];

function assertRecord(line: AuditLine, l: Lab, since: number): void {
  for (const field of FIELDS) ok(field in line, `audit field ${field}: ${JSON.stringify(line)}`);
  // The record holds the decision, not an exit code (that is the command's, docs/policy.md).
  ok(!("exitCode" in line), `an exit code in ${JSON.stringify(line)}`);
  const time = Date.parse(line.time);
  ok(time >= since - 1000 && time <= Date.now() + 1000, `time ${line.time}`);
  match(line.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
  ok(typeof line.user === "string" && line.user !== "", `user ${line.user}`);
  assertEquals(line.policyDigest, l.policyDigest);
}

// ---------------------------------------------------------------------------------------------

Deno.test("--audit-log appends one JSON line per decision, with every field", async () => {
  await using l = await lab();
  await Deno.mkdir(`${l.dir}/logs`);
  await Deno.mkdir(`${l.dir}/scratch`);
  const scratch = await makeImage(`${l.dir}/scratch/anything.sif`, false);
  const broken = `${l.dir}/broken.sif`;
  await Deno.writeTextFile(broken, "not a SIF");
  const since = Date.now();
  const images = [l.allowed, l.denied, broken, scratch];
  const result = await runCli(["check", "--audit-log", l.log, "--policy", l.policy, ...images], {
    env: { ...l.env, SLURM_JOB_ID: "1234" },
  });
  assertEquals(result.code, 3, result.stderr);
  const lines = await readLog(l.log);
  assertEquals(lines.length, 4);
  for (const line of lines) {
    assertRecord(line, l, since);
    assertEquals(line.slurmJobId, "1234");
    // The user is named from the real uid through /etc/passwd, not from $USER (which is
    // "auditor" here, and which anyone can set).
    assertEquals(line.user, await passwdName());
  }
  assertEquals(
    lines.map((r) => [r.image, r.decision, r.mode, r.keyUnavailable, r.rule]),
    [
      [l.allowed, "allow", "enforce", false, "default"],
      [l.denied, "deny", "enforce", false, "default"],
      [broken, "error", "enforce", false, "none"],
      [scratch, "allow", "enforce", false, "scratch"],
    ],
  );
  assertEquals(lines[0].signers, [{ fingerprint: ALICE, name: "alice", trusted: true }]);
  assertEquals(lines[1].signers, []);
  for (const i of [0, 1, 3]) match(lines[i].imageDigest!, /^[0-9a-f]{64}$/);
  assertEquals(lines[2].imageDigest, null, "an unreadable image has no digest");
  ok(lines[0].imageDigest !== lines[1].imageDigest, "different images, different digests");

  // Appended, never truncated; a cached decision is logged with the same digest. (The cache
  // keeps nothing about an image changed in the current second: let one pass.)
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 20));
  await runCli(["check", "--policy", l.policy, l.allowed], { env: l.env });
  const again = await runCli(["check", "--audit-log", l.log, "--policy", l.policy, l.allowed], {
    env: { ...l.env, SLURM_JOB_ID: "1234" },
  });
  assertEquals(again.code, 0, again.stderr);
  match(again.stdout, /\(cached\)/);
  const all = await readLog(l.log);
  assertEquals(all.length, 5);
  assertEquals(all.slice(0, 4), lines);
  assertEquals([all[4].image, all[4].imageDigest], [l.allowed, lines[0].imageDigest]);
});

Deno.test("SIFTRUST_AUDIT_LOG does the same; no Slurm job is null", async () => {
  await using l = await lab();
  const log = `${l.dir}/env-audit.jsonl`;
  const since = Date.now();
  const result = await runCli(["check", "--policy", l.policy, l.allowed, l.denied], {
    env: { ...l.env, SIFTRUST_AUDIT_LOG: log },
  });
  assertEquals(result.code, 1, result.stderr);
  const lines = await readLog(log);
  assertEquals(lines.map((r) => [r.image, r.decision]), [
    [l.allowed, "allow"],
    [l.denied, "deny"],
  ]);
  for (const line of lines) {
    assertRecord(line, l, since);
    // Unless this test itself runs in a Slurm job.
    assertEquals(line.slurmJobId, Deno.env.get("SLURM_JOB_ID") ?? null);
  }
  assertEquals((await Deno.stat(log)).mode! & 0o007, 0, "the log is not world-readable");
});

Deno.test("the audit record names the machine it was made on", async () => {
  await using l = await lab();
  const log = `${l.dir}/host.jsonl`;
  const run = await runCli(["check", "--audit-log", log, "--policy", l.policy, l.allowed], {
    env: l.env,
  });
  assertEquals(run.code, 0, run.stderr);
  const [line] = await readLog(log);
  assertEquals(line.host, Deno.hostname());
});

Deno.test("without USER or LOGNAME the record still names the user, and check does not crash", async () => {
  await using l = await lab();
  const log = `${l.dir}/nouser.jsonl`;
  const entry = CLI_ENTRY;
  const { USER: _user, ...env } = l.env;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      entry,
      "check",
      "--audit-log",
      log,
      "--policy",
      l.policy,
      l.allowed,
    ],
    clearEnv: true,
    env: { ...env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output().then((o) => ({ code: o.code, stderr: new TextDecoder().decode(o.stderr) }));
  assertEquals(code, 0, stderr);
  const [line] = await readLog(log);
  ok(line.user !== "", `user ${JSON.stringify(line.user)}`);
});

Deno.test("an audit log that cannot be written is an error, not a silent allow", async () => {
  await using l = await lab();
  const result = await runCli(
    [
      "check",
      "--audit-log",
      `${l.dir}/no/such/folder/audit.jsonl`,
      "--policy",
      l.policy,
      l.allowed,
    ],
    { env: l.env },
  );
  ok(result.code !== 0 && result.code !== 70, `exit ${result.code}: ${result.stderr}`);
  match(result.stderr, /audit log/);
});

Deno.test("concurrent checks writing one log leave whole lines only", async () => {
  await using l = await lab();
  // Long paths make long lines.
  const deep = `${l.dir}/${"very-long-folder-name-".repeat(8)}/${"sub-".repeat(20)}`;
  await Deno.mkdir(deep, { recursive: true });
  const images: string[] = [];
  for (let i = 0; i < 4; i++) {
    images.push(await makeImage(`${deep}/image-${i}-${"x".repeat(100)}.sif`, i % 2 === 0));
  }
  const log = `${l.dir}/shared.jsonl`;
  const processes = 6;
  const runs = await Promise.all(
    Array.from(
      { length: processes },
      (_, p) =>
        runCli(["check", "--no-cache", "--audit-log", log, "--policy", l.policy, ...images], {
          env: { ...l.env, SLURM_JOB_ID: `job-${p}` },
        }),
    ),
  );
  for (const run of runs) assertEquals(run.code, 1, run.stderr);
  const text = await Deno.readTextFile(log);
  const lines = text.split("\n");
  assertEquals(lines.pop(), "", "the log ends with a newline");
  assertEquals(lines.length, processes * images.length);
  const records = lines.map((line, i) => {
    try {
      return JSON.parse(line) as AuditLine;
    } catch {
      throw new Error(`line ${i + 1} is not whole JSON: ${line.slice(0, 200)}`);
    }
  });
  for (const record of records) {
    for (const field of FIELDS) ok(field in record, `${field} in ${JSON.stringify(record)}`);
  }
  for (let p = 0; p < processes; p++) {
    const own = records.filter((r) => r.slurmJobId === `job-${p}`).map((r) => r.image);
    assertEquals(own.sort(), [...images].sort(), `job-${p}: one line per image`);
  }
});

Deno.test("with an audit log and several jobs, output and log lines keep the input order", async () => {
  await using l = await lab();
  const images: string[] = [];
  for (let i = 0; i < 16; i++) {
    // Larger first: the first images take longest, so later ones finish first.
    const path = `${l.dir}/order-${String(i).padStart(2, "0")}.sif`;
    const image = await createImage(path, {
      objects: [{ dataType: DataType.GenericJSON, data: new Uint8Array(4096 * (16 - i)) }],
    });
    image.close();
    images.push(path);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const log = `${l.dir}/order-${attempt}.jsonl`;
    const run = await runCli(
      ["check", "--no-cache", "-j", "4", "--audit-log", log, "--policy", l.policy, ...images],
      { env: l.env },
    );
    assertEquals(run.code, 1, run.stderr);
    const printed = run.stdout.split("\n").filter((line) => line.startsWith("DENY"))
      .map((line) => line.split(/\s+/)[1]);
    assertEquals(printed, images, "text output in input order");
    assertEquals((await readLog(log)).map((r) => r.image), images, "audit lines in input order");
  }
});

Deno.test("the record's user comes from the passwd file, never from $USER", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\n" +
    "# a comment\n\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:10000:10000::/home/bob:/bin/sh\n";
  assertEquals(nameInPasswd(passwd, 1000), "alice");
  assertEquals(nameInPasswd(passwd, 10000), "bob");
  assertEquals(nameInPasswd(passwd, 0), "root");
  assertEquals(nameInPasswd(passwd, 100), undefined);
  const sources = (uid: () => number | null, text: () => string): IdentitySources => ({
    uid,
    hostname: () => "node7",
    passwd: text,
  });
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const forged = env({ USER: "root", SLURM_JOB_ID: "42" });
  assertEquals(auditContext(forged, sources(() => 1000, () => passwd)), {
    user: "alice",
    uid: 1000,
    host: "node7",
    slurmJobId: "42",
  });
  // No entry, or no passwd file: the uid stands for the name.
  assertEquals(auditContext(forged, sources(() => 4242, () => passwd)).user, "4242");
  const noFile = () => {
    throw new Deno.errors.NotFound("no /etc/passwd");
  };
  assertEquals(auditContext(forged, sources(() => 1000, noFile)).user, "1000");
  // A host name that cannot be read, and no Slurm job.
  const noHost: IdentitySources = {
    ...sources(() => 1000, () => passwd),
    hostname: () => {
      throw new Error("no host name");
    },
  };
  assertEquals(auditContext(env({}), noHost), {
    user: "alice",
    uid: 1000,
    host: "unknown",
    slurmJobId: null,
  });
});

/** The /etc/passwd name of the uid the tests run as. */
async function passwdName(): Promise<string> {
  const { stdout } = await new Deno.Command("id", { args: ["-un"], stdout: "piped" }).output();
  return new TextDecoder().decode(stdout).trim();
}
