/** Go's formats as siftool prints them: times, sizes and tabwriter columns. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { goUtcTime, readableSize } from "../../cli/render/go_format.ts";
import { tabwrite } from "../../cli/render/tabwriter.ts";

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
