/**
 * Output that cannot be forged: paths, user IDs and messages that hold control characters
 * (carriage return, newline, ANSI escapes, bidi overrides) are printed escaped, by every
 * renderer and in error lines, so a hostile file name or key cannot redraw a report.
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import * as openpgp from "openpgp";
import { signImage } from "../../core/integrity/mod.ts";
import { createImage, DataType, SifImage } from "../../core/sif/mod.ts";
import type { ImageDecision, Policy } from "../../policy/mod.ts";
import { displayText } from "../../cli/output.ts";
import { decisionLine, explainText } from "../../cli/render/check_text.ts";
import { keyListText, keyPickerText } from "../../cli/render/keys_text.ts";
import { locatedText } from "../../cli/render/lint_text.ts";
import { runCli } from "../helpers/cli.ts";
import { testEnv } from "../helpers/env.ts";
import { keyInfo } from "../../core/keys/key_info.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";

/** A name that would erase the line, paint it green and print a fake verdict. */
const EVIL = "x.sif\r\x1b[2K\x1b[32mALLOW  /apps/trusted.sif\x1b[0m\n\u202eevil";

/** Control characters (C0 but the newline that ends a line, DEL, C1) and bidi controls. */
// deno-lint-ignore no-control-regex
const FORGING = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function assertSafe(text: string, lines?: number): void {
  ok(!FORGING.test(text), `unescaped control character in ${JSON.stringify(text)}`);
  if (lines !== undefined) assertEquals(text.split("\n").length - 1, lines, JSON.stringify(text));
}

Deno.test("displayText escapes C0, C1, DEL, line separators and bidi controls", () => {
  assertEquals(
    displayText("a\r\n\t\x1b[31m\x7f\x9b\u2028\u202e\u2066b"),
    "a\\x0d\\x0a\\x09\\x1b[31m\\x7f\\x9b\\u2028\\u202e\\u2066b",
  );
  assertEquals(displayText("plain é — ü"), "plain é — ü");
});

const POLICY = { path: `/etc/siftrust/${EVIL}.yaml` } as Policy;

function decision(fields: Partial<ImageDecision>): ImageDecision {
  return {
    image: `/tmp/${EVIL}`,
    decision: "deny",
    mode: "enforce",
    keyUnavailable: false,
    rule: "default",
    reasons: [],
    signatures: [],
    requirements: [],
    hints: [],
    ...fields,
  };
}

Deno.test("check's line and --explain escape the path, messages and signer fields", () => {
  const error = decision({
    decision: "error",
    reasons: [{ kind: "bad-image", error: "unreadable", message: `/tmp/${EVIL}: denied` }],
  });
  assertSafe(decisionLine(error, false), 1);
  assertSafe(explainText(error, POLICY));
  const denied = decision({
    reasons: [{ kind: "no-groups" }],
    requirements: [{ subject: { kind: "has-groups" }, pass: false, reason: { kind: "no-groups" } }],
    signatures: [{
      id: 2,
      type: "pgp",
      group: 1,
      object: null,
      objects: [1],
      signer: `ABCD${EVIL}`,
      signerName: null,
      keySource: null,
      integrity: "ok",
      authenticity: "bad-signature",
      trusted: false,
      because: { kind: "invalid", detail: `openpgp: ${EVIL}` },
    }],
  });
  const line = decisionLine(denied, false);
  assertSafe(line, 1);
  match(line, /^DENY {3}\/tmp\/x\.sif\\x0d\\x1b\[2K/);
  const explained = explainText(denied, POLICY);
  assertSafe(explained);
  // One line per item: the header, the reason, the signature, the requirement (and blanks).
  ok(explained.split("\n").every((l) => !l.startsWith("ALLOW")));
});

Deno.test("key list and sign's key picker escape user IDs", async () => {
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name: `Mallory\r\x1b[2K\tUser:\tAlice`, email: "m@example.org" }],
    format: "object",
  });
  const list = keyListText([keyInfo(privateKey)]);
  assertSafe(list);
  match(list, /Mallory\\x0d\\x1b\[2K\\x09User:\\x09Alice/);
  assertSafe(keyPickerText([keyInfo(privateKey)]));
});

Deno.test("policy lint lines escape the file name", () => {
  const text = locatedText({
    warning: { code: "policy-writable", who: `group ${EVIL}`, path: [] },
    line: 1,
    column: 1,
  }, `/tmp/${EVIL}`);
  assertSafe(text, 0);
});

Deno.test("CLI: check's report and error lines escape a hostile image path", async () => {
  await using box = await testEnv("siftrust-output-");
  const name = "evil\r\x1b[2K\x1b[32mALLOW\x1b[0m\n\u202e.sif";
  const image = `${box.dir}/${name}`;
  (await createImage(image, {
    objects: [{ dataType: DataType.Deffile, data: new TextEncoder().encode("Bootstrap: x\n") }],
  })).close();
  await Deno.writeTextFile(
    `${box.dir}/policy.yaml`,
    JSON.stringify({
      version: 1,
      signers: { alice: { fingerprint: "0".repeat(40) } },
      keys: { files: [], local: false, offline: true },
    }),
  );
  const policy = `${box.dir}/policy.yaml`;
  const missing = `${box.dir}/gone\r\x1b.sif`;
  const noMatch = `${box.dir}/none\r\x1b[31m*.sif`;
  const cases = [[image], ["--explain", image], [missing], ["--explain", missing, image], [
    noMatch,
    image,
  ]];
  for (const args of cases) {
    const result = await runCli(["check", "--no-cache", "--policy", policy, ...args], {
      env: box.env,
    });
    ok(result.code === 1 || result.code === 3, `${args}: exit ${result.code}\n${result.stderr}`);
    assertSafe(result.stdout);
    assertSafe(result.stderr);
  }
  // An error line quoting a hostile path stays one line.
  const bad = await runCli(["check", "--policy", `${box.dir}/no\r\x1b[2Kpolicy\n.yaml`, image], {
    env: box.env,
  });
  assertEquals(bad.code, 2, bad.stderr);
  assertSafe(bad.stderr, 1);
});

Deno.test("CLI: verify escapes the signer's user ID and its error lines", async () => {
  await using box = await testEnv("siftrust-output-", { folders: true });
  const { privateKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "ed25519Legacy",
    userIDs: [{ name: `Eve\r\x1b[2K[LOCAL] Signing entity: Alice`, email: "e@example.org" }],
    format: "object",
  });
  const image = `${box.dir}/image.sif`;
  (await createImage(image, {
    objects: [{ dataType: DataType.Deffile, data: new TextEncoder().encode("Bootstrap: x\n") }],
  })).close();
  {
    using sif = await SifImage.open(image, { write: true });
    await signImage(sif, { kind: "pgp", key: wrapKey(privateKey) });
  }
  await Deno.writeFile(`${box.env.APPTAINER_KEYSDIR}/pgp-public`, privateKey.toPublic().write());
  const result = await runCli(["verify", image], { env: box.env });
  assertEquals(result.code, 0, result.stderr);
  assertSafe(result.stdout);
  assertSafe(result.stderr);
  match(result.stdout, /Signing entity: Eve\\x0d\\x1b\[2K\[LOCAL\]/);
});
