/**
 * The benchmarks (`deno task bench`): each one is a function in a module of its own under
 * `bench/` that returns its measurements and targets; this runs them in turn, prints a
 * Markdown table and a PASS/FAIL line per target, and exits 1 when a target is missed.
 *
 * `SIFTRUST_BENCH_RUNS` sets how many measured runs each command gets (default 5). Names given
 * as arguments (`deno task bench verify_speed`) run only those benchmarks.
 *
 * @module
 */

import { admitSpeed } from "./admit_speed.ts";
import { checkSpeed } from "./check_speed.ts";
import { type BenchResult, GNU_TIME, humanSize, markdownTable } from "./measure.ts";
import { parallelCheck } from "./parallel_check.ts";
import { sifListRss } from "./sif_list_rss.ts";
import { startup } from "./startup.ts";
import { verifySpeed } from "./verify_speed.ts";

/** The benchmarks, in the order they run. Add new ones here. */
const BENCHMARKS: { name: string; run: (runs: number) => Promise<BenchResult> }[] = [
  { name: "sif_list_rss", run: sifListRss },
  { name: "verify_speed", run: verifySpeed },
  { name: "check_speed", run: checkSpeed },
  { name: "parallel_check", run: parallelCheck },
  { name: "admit_speed", run: admitSpeed },
  { name: "startup", run: startup },
];

function runsFromEnv(): number {
  const text = Deno.env.get("SIFTRUST_BENCH_RUNS") ?? "5";
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`SIFTRUST_BENCH_RUNS must be a positive integer, not "${text}"`);
  }
  return runs;
}

function machine(): string {
  const memory = Deno.systemMemoryInfo().total;
  return `${navigator.hardwareConcurrency} CPUs, ${
    humanSize(memory)
  } memory, deno ${Deno.version.deno}, ` +
    `${Deno.build.os}/${Deno.build.arch}, ${new Date().toISOString()}`;
}

async function main(): Promise<number> {
  try {
    await Deno.stat(GNU_TIME);
  } catch {
    console.error(`bench: ${GNU_TIME} (GNU time, Debian package "time") is needed`);
    return 2;
  }
  const runs = runsFromEnv();
  const unknown = Deno.args.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) {
    console.error(
      `bench: no benchmark named ${unknown.join(", ")} (there are: ${
        BENCHMARKS.map((b) => b.name).join(", ")
      })`,
    );
    return 2;
  }
  const chosen = BENCHMARKS.filter((b) => Deno.args.length === 0 || Deno.args.includes(b.name));
  console.log(`# siftrust benchmarks\n\n${machine()}\n`);
  let missed = 0;
  for (const benchmark of chosen) {
    const result = await benchmark.run(runs);
    console.log(`## ${result.title}\n`);
    for (const note of result.notes) console.log(`- ${note}`);
    console.log(`\n${markdownTable(result.measurements)}\n`);
    for (const target of result.targets) {
      console.log(`${target.pass ? "PASS" : "FAIL"}: ${target.goal} (measured ${target.measured})`);
      if (!target.pass) missed++;
    }
    console.log();
  }
  if (missed > 0) console.log(`${missed} target(s) missed`);
  return missed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
