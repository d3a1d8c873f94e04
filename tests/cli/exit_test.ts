/** The exit code of a policy decision (cli/exit.ts), as docs/policy.md's table gives it. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { decisionExitCode, type DecisionOutcome, ExitCode } from "../../cli/exit.ts";

Deno.test("decisionExitCode: 0 allow, 1 deny, 4 deny for a missing key, 3 error", () => {
  const cases: [DecisionOutcome, number][] = [
    [{ decision: "allow", mode: "enforce", keyUnavailable: false }, ExitCode.Ok],
    // A co-signature whose key is missing does not spoil an allow.
    [{ decision: "allow", mode: "enforce", keyUnavailable: true }, ExitCode.Ok],
    [{ decision: "deny", mode: "enforce", keyUnavailable: false }, ExitCode.Failed],
    [{ decision: "deny", mode: "enforce", keyUnavailable: true }, ExitCode.KeyUnavailable],
    [{ decision: "error", mode: "enforce", keyUnavailable: false }, ExitCode.BadImage],
  ];
  for (const [outcome, code] of cases) {
    assertEquals(decisionExitCode(outcome), code, JSON.stringify(outcome));
  }
  assertEquals([ExitCode.Ok, ExitCode.Failed, ExitCode.BadImage, ExitCode.KeyUnavailable], [
    0,
    1,
    3,
    4,
  ]);
});

Deno.test("decisionExitCode: warn mode makes every deny 0, also instead of 4; errors stay 3", () => {
  assertEquals(decisionExitCode({ decision: "deny", mode: "warn", keyUnavailable: false }), 0);
  assertEquals(decisionExitCode({ decision: "deny", mode: "warn", keyUnavailable: true }), 0);
  assertEquals(decisionExitCode({ decision: "allow", mode: "warn", keyUnavailable: false }), 0);
  assertEquals(decisionExitCode({ decision: "error", mode: "warn", keyUnavailable: false }), 3);
});
