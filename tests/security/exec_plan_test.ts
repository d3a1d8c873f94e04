/**
 * policy/exec_plan.ts without a subprocess: the runtime environment variables `exec` refuses,
 * who besides root can rewrite an image (by `fstat` fields), who the runtime runs as through
 * sudo, the copy-writable folder's checks, and what `exec` decides about a user's image.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openImageOnce } from "../../core/sif/mod.ts";
import {
  decideExecImage,
  invokingUser,
  loadPolicy,
  planExec,
  policyDocument,
  PolicyError,
} from "../../policy/mod.ts";
import { imageWriters } from "../../policy/exec_plan.ts";
import { copyFolderProblem } from "../../policy/exec_plan.ts";
import { REFUSED_RUNTIME_ENV } from "../../policy/exec_plan.ts";
import { withTempDir } from "../helpers/env.ts";
import { CAN_DROP_PRIVILEGES, NOBODY } from "../helpers/unprivileged.ts";
import { giveToNobody, lab, labContext, SIGNED } from "./lab.ts";

const none = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("REFUSED_RUNTIME_ENV: the variables of refused flags, under both prefixes", () => {
  for (const name of ["APPTAINER_SHARENS", "SINGULARITY_SHARENS", "APPTAINER_DMTCP_RESTART"]) {
    assert.ok(REFUSED_RUNTIME_ENV.includes(name), name);
  }
  // help and version are refused flags, but their variables mean nothing to the runtimes.
  assert.ok(!REFUSED_RUNTIME_ENV.includes("APPTAINER_HELP"));
  assert.ok(!REFUSED_RUNTIME_ENV.includes("APPTAINER_BIND"));
});

Deno.test("planExec: a command line's refusal, a refused variable, or the container found", () => {
  const argv = ["apptainer", "exec", "-B", "a.sif", "b.sif", "id"];
  const found = planExec(argv, none);
  assert.ok(found.ok);
  assert.deepEqual([found.container, found.containerIndex], ["b.sif", 4]);
  const refusedEnv = planExec(argv, envOf({ SINGULARITY_SHARENS: "true", APPTAINER_BIND: "/x" }));
  assert.ok(!refusedEnv.ok);
  assert.equal(refusedEnv.kind, "refused-environment");
  assert.match(refusedEnv.detail, /^SINGULARITY_SHARENS is set/);
  const uri = planExec(["apptainer", "run", "docker://alpine"], none);
  assert.ok(!uri.ok);
  assert.equal(uri.kind, "unsupported-source");
});

Deno.test("imageWriters: a non-root owner, group write, other write; none for root's 0644", () => {
  assert.deepEqual(imageWriters({ uid: 0, gid: 0, mode: 0o100644 }), []);
  assert.deepEqual(imageWriters({ uid: 0, gid: 0, mode: 0o100444 }), []);
  // An owner can chmod their file, so even a read-only file of theirs counts.
  assert.deepEqual(imageWriters({ uid: 1000, gid: 100, mode: 0o100444 }), [
    { kind: "owner", uid: 1000 },
  ]);
  assert.deepEqual(imageWriters({ uid: 0, gid: 100, mode: 0o100664 }), [
    { kind: "group", gid: 100 },
  ]);
  assert.deepEqual(imageWriters({ uid: 0, gid: 0, mode: 0o100646 }), [{ kind: "others" }]);
});

Deno.test("invokingUser: SUDO_UID and SUDO_GID only when running as root", () => {
  const sudo = envOf({ SUDO_UID: "1000", SUDO_GID: "100" });
  assert.deepEqual(invokingUser(sudo, 0), { uid: 1000, gid: 100 });
  assert.equal(invokingUser(sudo, 1000), undefined);
  assert.equal(invokingUser(none, 0), undefined);
  for (
    const bad of [{ SUDO_UID: "0", SUDO_GID: "0" }, { SUDO_UID: "1e3", SUDO_GID: "100" }, {
      SUDO_UID: "",
      SUDO_GID: "100",
    }, { SUDO_UID: "1000" }]
  ) {
    assert.equal(invokingUser(envOf(bad as Record<string, string>), 0), undefined);
  }
});

Deno.test("copyFolderProblem: a folder of root or the running user, closed to others", async () => {
  await withTempDir(async (dir) => {
    const uid = Deno.uid() ?? 0;
    await Deno.chmod(dir, 0o755);
    assert.equal(await copyFolderProblem(dir, uid), undefined);
    assert.equal(await copyFolderProblem(`${dir}/missing`, uid), "not-a-folder");
    await Deno.writeTextFile(`${dir}/file`, "");
    assert.equal(await copyFolderProblem(`${dir}/file`, uid), "not-a-folder");
    await Deno.chmod(dir, 0o775);
    assert.equal(await copyFolderProblem(dir, uid), "writable-by-others");
    await Deno.chmod(dir, 0o755);
    if (uid !== 0) assert.equal(await copyFolderProblem(dir, uid + 1), "foreign-owner");
    else {
      await Deno.chown(dir, 65534, 65534);
      assert.equal(await copyFolderProblem(dir, 0), "foreign-owner");
    }
  });
});

Deno.test("the policy's exec.copy-writable: an absolute folder, kept by policy show", async () => {
  await withTempDir(async (dir) => {
    const base = 'version: 1\nsigners:\n  ci: {fingerprint: "' + "A".repeat(40) + '"}\n';
    await Deno.writeTextFile(`${dir}/p.yaml`, `${base}exec:\n  copy-writable: /var/lib/copies\n`);
    const policy = await loadPolicy(`${dir}/p.yaml`);
    assert.equal(policy.exec.copyWritable, "/var/lib/copies");
    assert.deepEqual(policyDocument(policy).exec, { "copy-writable": "/var/lib/copies" });
    await Deno.writeTextFile(`${dir}/none.yaml`, base);
    const without = await loadPolicy(`${dir}/none.yaml`);
    assert.equal(without.exec.copyWritable, undefined);
    assert.equal(policyDocument(without).exec, undefined);
    for (const bad of ["exec:\n  copy-writable: copies\n", "exec:\n  copy-writeable: /x\n"]) {
      await Deno.writeTextFile(`${dir}/bad.yaml`, `${base}${bad}`);
      await assert.rejects(loadPolicy(`${dir}/bad.yaml`), PolicyError);
    }
  });
});

Deno.test({
  name:
    "decideExecImage: a user's image is refused when enforcing, checked with its writers in warn mode",
  ignore: !CAN_DROP_PRIVILEGES,
  async fn() {
    await using l = await lab();
    await giveToNobody(SIGNED, `${l.user}/mine.sif`);
    const enforcing = await labContext(l);
    using image = openImageOnce(`${l.user}/mine.sif`);
    assert.deepEqual(await decideExecImage(image, enforcing, 0), {
      kind: "refused-writable",
      writers: [{ kind: "owner", uid: NOBODY }],
    });
    const warn = { ...enforcing, policy: { ...enforcing.policy, mode: "warn" as const } };
    const decision = await decideExecImage(image, warn, 0);
    assert.equal(decision.kind, "checked");
    if (decision.kind !== "checked") return;
    assert.deepEqual(decision.writers, [{ kind: "owner", uid: NOBODY }]);
    assert.equal(decision.result.decision.decision, "allow");
    assert.equal(decision.run, image);
  },
});
