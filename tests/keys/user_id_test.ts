/**
 * User IDs split as Apptainer's `key list` prints them (`Name (Comment) <email>`): the split
 * of core/keys/key_info.ts against go-crypto's own (tests/keys/userid_ref/main.go, run in
 * GOPATH mode from the Debian package), and the `rajesh` example of the seed pages.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseUserId } from "../../core/keys/mod.ts";
import { peerTest, REPO_ROOT } from "../helpers/peers.ts";

const GO_CRYPTO = "/usr/share/gocode/src/github.com/ProtonMail/go-crypto";

const USER_IDS = [
  "rajesh",
  "Unit Test (build key) <unit@test.com>",
  "Ada L <ada@example.org>",
  "ada@example.org",
  "n (unclosed",
  "n <unclosed",
  "(only a comment)",
  "<only@mail>",
  "  spaced   name  ",
  "a) b <c> d",
  "n (c) junk <e>",
  "n (c) <e> (after)",
  "name(",
  "name<",
  "Zoë (ünï) <zoë@exämple.org>",
  "",
];

Deno.test("parseUserId: a name alone is the name (Apptainer prints `rajesh () <>`)", () => {
  assertEquals(parseUserId("rajesh"), { name: "rajesh", comment: "", email: "" });
  assertEquals(parseUserId("A (b) <c@d>"), { name: "A", comment: "b", email: "c@d" });
  assertEquals(parseUserId("c@d"), { name: "", comment: "", email: "c@d" });
});

peerTest("parseUserId splits user IDs exactly as go-crypto does", ["go", GO_CRYPTO], async () => {
  const { code, stdout, stderr } = await new Deno.Command("go", {
    args: ["run", "./tests/keys/userid_ref", ...USER_IDS],
    cwd: REPO_ROOT,
    env: { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOFLAGS: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const expected: [string, string, string][] = JSON.parse(new TextDecoder().decode(stdout));
  assertEquals(
    USER_IDS.map((id) => {
      const { name, comment, email } = parseUserId(id);
      return [name, comment, email];
    }),
    expected,
  );
});
