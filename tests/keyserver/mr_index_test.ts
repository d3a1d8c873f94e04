/**
 * The machine-readable index of HKP searches (the HKP draft's `options=mr` output): parsing,
 * the announced-count check, algorithm names, status flags, and `key search`'s tables (short
 * and `--long-list`), which follow Go's tabwriter (an empty line between keys breaks the column block).
 */

import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import {
  countMatches,
  indexEntries,
  IndexError,
  type KeyIndex,
  parseIndex,
} from "../../core/keyserver/mod.ts";
import {
  algorithmName,
  checkCount,
  dateSeconds,
  keyStatus,
  shortKeyId,
} from "../../core/keyserver/mr_index.ts";
import { answerSummary } from "../../core/keyserver/transfer.ts";
import { goLocalTime, indexTable as renderTable } from "../../cli/render/keys_search.ts";

/** The table `key search` prints for an answer. */
const indexTable = (index: KeyIndex, long: boolean) => renderTable(indexEntries(index, long), long);

const IAN = "8232570480B868E1473AEEB03DBCBA1EE9D661E5";

Deno.test("parseIndex: info count, pub fields, URL-escaped uids, padding of short lines", () => {
  const index = parseIndex(
    [
      "info:1:2",
      `pub:${IAN}:1:4096:1645657939::`,
      "uid:Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>:1645657939::",
      "uid:second%20uid%3A+here:::",
      "sig:ignored",
      "",
      "  pub:0123456789ABCDEF:22:256:1600000000:1700000000:er  ",
      "pub:FEDCBA98",
    ].join("\n"),
  );
  assertEquals(index.announced, 2);
  assertEquals(index.keys, [
    {
      key: IAN,
      algorithm: "1",
      bits: "4096",
      created: "1645657939",
      expires: "",
      flags: "",
      userIds: ["Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>", "second uid: here"],
    },
    {
      key: "0123456789ABCDEF",
      algorithm: "22",
      bits: "256",
      created: "1600000000",
      expires: "1700000000",
      flags: "er",
      userIds: [],
    },
    { key: "FEDCBA98", algorithm: "", bits: "", created: "", expires: "", flags: "", userIds: [] },
  ]);
  assertEquals(countMatches(index), false, "2 announced, 3 sent");
  throws(
    () => checkCount(index),
    /failed to convert machine readable to human readable output correctly/,
  );
});

Deno.test("parseIndex: a bad info count fails; uids before any pub and bad escapes are harmless", () => {
  throws(() => parseIndex("info:1:many\n"), (e) => e instanceof IndexError);
  throws(() => parseIndex("info:1\n"), /unable to check number of keys/);
  const index = parseIndex("uid:orphan\npub:AAAABBBB:1:2048\nuid:100%zz\n");
  assertEquals(index.announced, undefined);
  assertEquals(index.keys[0].userIds, ["100%zz"]);
  ok(countMatches(index), "no info line: any number of keys");
  ok(countMatches(parseIndex("info:1:0\npub:A\npub:B\n")), "a count of 0 is not checked");
  ok(countMatches(parseIndex("info:1:1\npub:A\n")));
  assertEquals(parseIndex("").keys, []);
  assertEquals(parseIndex("<html>garbage</html>\n\x00\x01").keys, []);
});

Deno.test("algorithm names, status precedence, short key IDs, dates", () => {
  assertEquals(
    ["1", "2", "3", "16", "17", "18", "19", "20", "21", "22", "99"].map(algorithmName),
    [
      "RSA",
      "RSA",
      "RSA",
      "Elgamal",
      "DSA",
      "Elliptic Curve",
      "ECDSA",
      "Reserved",
      "Diffie-Hellman",
      "unknown",
      "unknown",
    ],
  );
  throws(() => algorithmName(""), IndexError);
  throws(() => algorithmName("rsa"), IndexError);
  assertEquals(["", "e", "d", "de", "r", "rde"].map(keyStatus), [
    "[enabled]",
    "[expired]",
    "[disabled]",
    "[disabled]",
    "[revoked]",
    "[revoked]",
  ]);
  assertEquals(shortKeyId(IAN), "E9D661E5");
  assertEquals(shortKeyId("ABC"), "ABC");
  assertEquals([dateSeconds("1645657939"), dateSeconds("none"), dateSeconds("")], [
    1645657939,
    undefined,
    undefined,
  ]);
});

Deno.test("the short table: KEY ID, BITS, NAME/EMAIL; more uids on their own rows; a blank line between keys", () => {
  const index = parseIndex(
    [
      "info:1:2",
      `pub:${IAN}:1:4096:1645657939::`,
      "uid:Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>:::",
      "uid:second uid here:::",
      "pub:0123456789ABCDEF0123456789ABCDEF01234567:17:1024:none::",
      "uid:A:::",
    ].join("\n"),
  );
  assertEquals(
    indexTable(index, false),
    [
      "KEY ID    BITS  NAME/EMAIL",
      "E9D661E5  4096  Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>",
      "                second uid here",
      "",
      "01234567  1024  A",
      "",
    ].join("\n"),
  );
});

Deno.test("the long table matches Apptainer's rendering (dates in the local zone, as Go prints them)", () => {
  const index = parseIndex(
    [
      "info:1:1",
      `pub:${IAN}:1:4096:1645657939::`,
      "uid:Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>:::",
      "uid:second uid here:::",
    ].join("\n"),
  );
  const created = goLocalTime(1645657939);
  const table = indexTable(index, true);
  const header =
    "FINGERPRINT                               ALGORITHM  BITS  CREATION DATE  EXPIRATION DATE  STATUS     NAME/EMAIL";
  const lines = table.split("\n");
  assertEquals(lines.length, 4);
  // The creation date column is as wide as the date plus 2.
  assertEquals(
    lines[0],
    header.replace("CREATION DATE  ", "CREATION DATE".padEnd(created.length + 2)),
  );
  assertEquals(
    lines[1],
    `${IAN}  RSA        4096  ${created}  ${
      "".padEnd(17)
    }[enabled]  Ian Kaneshiro (example key) <ikaneshiro@apptainer.org>`,
  );
  assertEquals(lines[2], `${"".padEnd(42 + 11 + 6 + created.length + 2 + 17 + 11)}second uid here`);
  // A junk algorithm fails the long form only.
  throws(() => indexTable(parseIndex("pub:AB:x:1:::\n"), true), IndexError);
  assertEquals(indexTable(parseIndex("pub:AB:x:1:::\n"), false).split("\n")[1], "AB      1     ");
  // Control characters from the keyserver are escaped.
  ok(indexTable(parseIndex("pub:AB:1:1:::\nuid:evil\x1b[2J\n"), false).includes("evil\\x1b[2J"));
});

Deno.test("goLocalTime prints Go's time.String() in the process's zone", async () => {
  const zones: [string, string][] = [
    ["America/Los_Angeles", "2022-02-23 15:12:19 -0800 PST"],
    ["UTC", "2022-02-23 23:12:19 +0000 UTC"],
    ["Europe/Berlin", "2022-02-24 00:12:19 +0100 CET"],
    ["Asia/Kolkata", "2022-02-24 04:42:19 +0530 IST"],
  ];
  for (const [tz, expected] of zones) {
    const { stdout, code } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { goLocalTime } from "${new URL(
          "../../cli/render/keys_search.ts",
          import.meta.url,
        )}"; console.log(goLocalTime(1645657939))`,
      ],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assertEquals(code, 0);
    assertEquals(new TextDecoder().decode(stdout).trim(), expected, tz);
  }
});

Deno.test("a push answer in HTML is reduced to one line of text", () => {
  assertEquals(
    answerSummary(
      '<?xml version="1.0"?><html><head><title>x</title><style>.a{}</style></head><body>Key block added.\n  New &amp; <br>1 key(s) added.<br></body></html>',
    ),
    "Key block added. New & 1 key(s) added.",
  );
  assertEquals(answerSummary(""), "");
  assertEquals(answerSummary("ok\x07"), "ok\\x07");
});
