/**
 * Rendering without a subprocess: Go's formats as siftool prints them (times, sizes and
 * tabwriter columns), and `check`'s words for the policy's structured decisions (lines,
 * `--explain`, `--json`, each kind of reason and hint).
 */

import { deepStrictEqual as assertEquals, match, ok } from "node:assert/strict";
import { decisionJson, decisionLine, explainText } from "../../cli/render/check_text.ts";
import {
  cacheProblemText,
  hintText,
  reasonText,
  verdictText,
} from "../../cli/render/decision_words.ts";
import { goUtcTime, readableSize } from "../../cli/render/go_format.ts";
import { tabwrite } from "../../cli/render/tabwriter.ts";
import type { Hint, ImageDecision, Policy, SignatureVerdict, SignedBy } from "../../policy/mod.ts";

Deno.test("goUtcTime prints Go's UTC time format for any year", () => {
  assertEquals(goUtcTime(0), "1970-01-01 00:00:00 +0000 UTC");
  assertEquals(goUtcTime(1593475316), "2020-06-30 00:01:56 +0000 UTC");
  assertEquals(goUtcTime(951782400), "2000-02-29 00:00:00 +0000 UTC");
  assertEquals(goUtcTime(-1), "1969-12-31 23:59:59 +0000 UTC");
  // One second before Go's zero time (year 1) is year 0, and before that come negative years.
  assertEquals(goUtcTime(-62135596801), "0000-12-31 23:59:59 +0000 UTC");
  assertEquals(goUtcTime(-62167219201), "-0001-12-31 23:59:59 +0000 UTC");
  assertEquals(goUtcTime(253402300800), "10000-01-01 00:00:00 +0000 UTC");
});

Deno.test("readableSize rounds like siftool", () => {
  assertEquals(readableSize(0), "0 B");
  assertEquals(readableSize(1023), "1023 B");
  assertEquals(readableSize(-1023), "-1023 B");
  assertEquals(readableSize(1024), "1 KiB");
  assertEquals(readableSize(1535), "1 KiB");
  assertEquals(readableSize(1536), "2 KiB");
  assertEquals(readableSize(-1536), "-2 KiB");
  assertEquals(readableSize(28080), "27 KiB");
  assertEquals(readableSize(1048575), "1024 KiB");
  assertEquals(readableSize(1048576), "1 MiB");
  assertEquals(readableSize(4 * 1024 ** 3), "4 GiB");
});

Deno.test("tabwrite aligns columns per block of lines, as Go's text/tabwriter", () => {
  assertEquals(tabwrite("a:\t1\nlonger:\t2\n", 1), "a:      1\nlonger: 2\n");
  assertEquals(tabwrite("\tData Type:\tFS\n\tID:\t1\n", 2), "  Data Type:  FS\n  ID:         1\n");
  // A line without a tab ends the block: the next block is aligned on its own.
  assertEquals(tabwrite("a\tb\nplain\nlonger\tc\n", 1), "a b\nplain\nlonger c\n");
  // Cells are counted in code points, not UTF-16 units or bytes.
  assertEquals(tabwrite("é\tx\nab\ty\n", 1), "é  x\nab y\n");
});

// ---------------------------------------------------------------------------------------------
// check's words

const FP = "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A";

/** A signature by an undeclared signer, valid, over group 1. */
const UNDECLARED: SignatureVerdict = {
  id: 5,
  type: "pgp",
  group: 1,
  object: null,
  objects: [1, 2],
  signer: FP,
  signerName: null,
  keySource: "local",
  integrity: "ok",
  authenticity: "untrusted-signer",
  trusted: false,
  because: { kind: "undeclared-signer", fingerprint: FP },
};

/** A deny of group 1, which needs alice or bob, with a hint of every kind. */
function denial(mode: "enforce" | "warn" = "enforce"): ImageDecision {
  const needs: SignedBy = { kind: "any-of", names: ["alice", "bob"] };
  return {
    image: "/apps/x.sif",
    decision: "deny",
    mode,
    keyUnavailable: false,
    rule: "default",
    reasons: [{ kind: "group-signers", group: 1, signers: [], needs, everyGroup: false }],
    signatures: [UNDECLARED],
    requirements: [{
      subject: { kind: "group-signed", group: 1, needs },
      pass: false,
      reason: { kind: "group-signers", group: 1, signers: [], needs, everyGroup: false },
    }],
    hints: [
      { kind: "untrusted-signer", signature: 5 },
      { kind: "unsigned-group", group: 1, needs, missing: ["alice", "bob"] },
    ],
  };
}

const POLICY = { path: "/etc/siftrust/policy.yaml", mode: "enforce" } as Policy;

Deno.test("hints name the command that helps, with the group and the key", () => {
  const d = denial();
  const words = (hint: Hint) => hintText(hint, d);
  assertEquals(
    words({
      kind: "unsigned-group",
      group: 2,
      needs: { kind: "all-of", names: ["a", "b"] },
      missing: ["a", "b"],
    }),
    "group 2 needs a signature by a and b: `siftrust sign --group-id 2 IMAGE` with that signer's key",
  );
  assertEquals(
    words({ kind: "key-unavailable", signer: "bob", fingerprint: FP }),
    `get bob's public key (fingerprint ${FP}): \`siftrust key pull ${FP}\`, or list a keyring file holding it under keys.files`,
  );
  assertEquals(
    words({
      kind: "partial-group-signature",
      signature: 4,
      group: 1,
      signed: [2],
      objects: [1, 2],
    }),
    "signature 4 covers objects 2 of group 1, not all of 1, 2: sign the whole group with `siftrust sign --group-id 1 IMAGE`",
  );
  // The signature's own verdict says who made it.
  assertEquals(
    words({ kind: "untrusted-signer", signature: 5 }),
    `signature 5: made by ${FP}, who is not a declared signer; declare that signer (or extend its expires) if you trust it`,
  );
  for (const kind of ["changed-after-signing", "legacy-ignored", "dsse-ignored"] as const) {
    ok(words({ kind }).length > 20, kind);
  }
  match(words({ kind: "group-absent", group: 3 }), /no group 3: check the rule's groups list/);
});

Deno.test("signature verdicts in words", () => {
  assertEquals(
    verdictText({ kind: "trusted", signer: "alice" }),
    "trusted: made by alice and matches the image",
  );
  assertEquals(
    verdictText({ kind: "key-revoked", signer: null }),
    "made by a signer the policy does not declare, whose key is revoked",
  );
  assertEquals(
    verdictText({ kind: "signer-expired", signer: "bob", expires: "2026-01-31" }),
    "made by bob, trusted only until 2026-01-31",
  );
  assertEquals(
    verdictText({ kind: "invalid", detail: "bad MAC" }),
    "the signature is not valid: bad MAC",
  );
});

Deno.test("reasons: each kind in words", () => {
  const image = "/apps/x.sif";
  assertEquals(
    reasonText({
      kind: "group-signers",
      group: 2,
      signers: ["carol"],
      needs: { kind: "threshold", threshold: 2, names: ["alice", "bob", "carol"] },
      everyGroup: true,
    }, image),
    "group 2: trusted signatures by carol; it needs 2 of alice, bob, carol (unsigned-objects: deny covers every group)",
  );
  assertEquals(
    reasonText({
      kind: "digest-mismatch",
      signature: 4,
      signerName: "alice",
      part: { kind: "object-data", object: 3 },
    }, image),
    "the data of object 3 differs from what signature 4 signed: the image changed after it was signed by alice",
  );
  assertEquals(
    reasonText({ kind: "rule-action", rule: "scratch", action: "allow", paths: ["/s/**"] }, image),
    "rule scratch allows /s/** without looking at signatures",
  );
  assertEquals(
    reasonText({ kind: "bad-image", error: "not-found", message: null }, "gone.sif"),
    "gone.sif: no such file",
  );
  assertEquals(
    reasonText({ kind: "bad-image", error: "invalid", message: "x.sif: not a SIF" }, "x.sif"),
    "x.sif: not a SIF",
  );
});

Deno.test("a deny's line, its warn-mode mark, and an error's line", () => {
  assertEquals(
    decisionLine(denial(), false),
    "DENY   /apps/x.sif  [rule default]: group 1: no trusted signature covers it; it needs any of alice, bob\n",
  );
  match(
    decisionLine(denial("warn"), true),
    /^DENY {3}\/apps\/x\.sif {2}\[rule default\] \(warn mode: not enforced\) \(cached\): /,
  );
  const error: ImageDecision = {
    ...denial(),
    image: "gone.sif",
    decision: "error",
    rule: "none",
    reasons: [{ kind: "bad-image", error: "not-found", message: null }],
    signatures: [],
    requirements: [],
    hints: [],
  };
  assertEquals(decisionLine(error, false), "ERROR  gone.sif: no such file\n");
});

Deno.test("--explain lists requirements and hints in words", () => {
  const text = explainText(denial(), POLICY);
  match(
    text,
    /^\/apps\/x\.sif: DENY under \/etc\/siftrust\/policy\.yaml \(rule default, mode enforce\)\n/,
  );
  match(text, /\n {4}\[FAIL\] group 1 signed by any of alice, bob: group 1: no trusted signature/);
  match(text, /\n {2}to allow it:\n {4}- signature 5: made by /);
  match(
    text,
    /\n {4}- group 1 needs a signature by one of alice, bob: `siftrust sign --group-id 1 IMAGE`/,
  );
});

Deno.test("--json: the exit code is added, words replace structures, and nothing else changes", () => {
  const d = denial();
  const json = decisionJson({ ...d, keyUnavailable: true }, true);
  assertEquals(Object.keys(json), [
    "image",
    "decision",
    "exitCode",
    "rule",
    "reasons",
    "signatures",
    "requirements",
    "hints",
    "cached",
  ]);
  assertEquals(json.exitCode, 4);
  assertEquals(decisionJson(denial("warn"), false).exitCode, 0);
  assertEquals(json.reasons, [
    "group 1: no trusted signature covers it; it needs any of alice, bob",
  ]);
  assertEquals(json.requirements, [{
    requirement: "group 1 signed by any of alice, bob",
    pass: false,
    why: "group 1: no trusted signature covers it; it needs any of alice, bob",
  }]);
  assertEquals(json.hints, d.hints.map((h) => hintText(h, d)));
  const { because: _, ...fields } = UNDECLARED;
  assertEquals(json.signatures, [{
    ...fields,
    why: `made by ${FP}, who is not a declared signer`,
  }]);
});

Deno.test("cache problems in words", () => {
  assertEquals(
    cacheProblemText({ kind: "corrupt-entry", path: "/c/k.json", detail: null }),
    "ignoring a corrupt cache entry /c/k.json",
  );
  assertEquals(
    cacheProblemText({ kind: "unwritable", path: "/c", detail: "Permission denied" }),
    "cannot write the cache in /c: Permission denied",
  );
  assertEquals(
    cacheProblemText({ kind: "unreadable-entry", path: "/c/k.json", detail: "Is a directory" }),
    "cannot read the cache entry /c/k.json: Is a directory",
  );
});
