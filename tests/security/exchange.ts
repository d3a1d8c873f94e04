/**
 * The attacker's swapper: `deno run --allow-ffi exchange.ts A B SECONDS [PAUSE_MS]` exchanges
 * the paths A and B atomically (`renameat2` with `RENAME_EXCHANGE`, through Deno's FFI on libc)
 * as fast as it can for SECONDS (or every PAUSE_MS milliseconds; once when SECONDS is 0), then
 * prints how many exchanges it made. A and B may be files, folders or
 * FIFOs. It imports nothing, so an unprivileged user runs it without any module cache.
 *
 * @module
 */

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

const [a, b, seconds, pauseMs = "0"] = Deno.args;
const libc = Deno.dlopen("libc.so.6", {
  renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
});
const encoder = new TextEncoder();
const pathA = encoder.encode(`${a}\0`);
const pathB = encoder.encode(`${b}\0`);
const end = Date.now() + Number(seconds) * 1000;
let count = 0;
// At least one exchange: SECONDS of 0 exchanges once.
do {
  if (libc.symbols.renameat2(AT_FDCWD, pathA, AT_FDCWD, pathB, RENAME_EXCHANGE) !== 0) {
    console.error(`renameat2 failed after ${count} exchanges`);
    Deno.exit(1);
  }
  count++;
  if (pauseMs !== "0") await new Promise((resolve) => setTimeout(resolve, Number(pauseMs)));
} while (Date.now() < end);
console.log(count);
