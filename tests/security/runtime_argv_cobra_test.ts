/**
 * The runtime command-line parser against the real thing: cobra and pflag (Debian's builds,
 * whose parsing code matches the versions Apptainer and SingularityCE pin), set up as the
 * runtimes set them up and given the same flag tables. For every command line, hand-written
 * and generated: when siftrust finds a container, cobra starts that same container with the
 * same arguments or starts nothing; when cobra starts a container, siftrust finds it or
 * refuses on purpose (a refused flag, a fetched source, an uncertain reading).
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  APPTAINER_FLAGS,
  CONTAINER_COMMANDS,
  type ContainerCommand,
  parseRuntimeArgv,
  type RuntimeFlagTable,
  SINGULARITYCE_FLAGS,
} from "../../policy/runtime/mod.ts";
import { peerTest } from "../helpers/peers.ts";
import { cobraOutcomes, COBRAREF_PEERS, removeCobraref } from "./cobraref.ts";

const HAND_CASES: string[][] = [
  ["apptainer", "exec", "-B", "trusted.sif", "evil.sif", "sh"],
  ["apptainer", "exec", "-cB", "trusted.sif", "evil.sif", "sh"],
  ["apptainer", "exec", "-Bc", "evil.sif", "sh"],
  ["apptainer", "exec", "--contain", "false", "sh"],
  ["apptainer", "exec", "--bind", "--", "img.sif", "sh"],
  ["apptainer", "exec", "--", "img.sif", "sh"],
  ["apptainer", "exec", "-c=", "img.sif", "sh"],
  ["apptainer", "exec", "-B=", "img.sif", "sh"],
  ["apptainer", "-c", "exec", "exec", "img.sif", "sh"],
  ["apptainer", "-dc", "exec", "img.sif", "sh"],
  ["apptainer", "--config", "--debug", "exec", "img.sif", "sh"],
  ["apptainer", "-c", "-dq", "exec", "img.sif", "sh"],
  ["apptainer", "--debug=false", "run", "img.sif"],
  ["apptainer", "instance", "start", "-B", "a.sif", "img.sif", "web"],
  ["apptainer", "shell", "-s", "/bin/zsh", "img.sif"],
  ["singularity", "exec", "--sif-fuse", "img.sif", "sh"],
  ["singularity", "exec", "--unsquash", "img.sif", "sh"],
];

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROOT_WORDS = [
  "--debug",
  "-d",
  "-q",
  "-s",
  "-v",
  "-dq",
  "-dc",
  "--nocolor",
  "-c",
  "--config",
  "/etc/a.conf",
  "--config=x",
  "-cx",
  "--build-config",
  "--verbose=false",
  "--",
  "--bogus",
  "-x",
  "exec",
];

const SUBCOMMANDS = [
  ["exec"],
  ["run"],
  ["shell"],
  ["test"],
  ["instance", "start"],
  ["instance", "run"],
  ["instance", "-d", "start"],
  ["pull"],
];

const ODD_WORDS = [
  "--",
  "-",
  "",
  "trusted.sif",
  "-e",
  "x=y",
  "--contain=false",
  "--contain=maybe",
  "-test.v",
  "--bogus",
  "-Z",
  "-cB",
  "-Bc",
  "-ceB",
  "-c=",
  "-B=",
  "-c=0",
  "--bind=a.sif",
  "---x",
];

/** Words for a command's flags: every flag of either runtime, in every form. */
function flagWords(command: ContainerCommand): string[] {
  const words = new Set<string>();
  for (const table of [APPTAINER_FLAGS, SINGULARITYCE_FLAGS]) {
    for (const spec of table.commands[command]) {
      if (spec.long === "help") continue;
      words.add(`--${spec.long}`);
      words.add(spec.value ? `--${spec.long}=v` : `--${spec.long}=true`);
      if (spec.short !== undefined) {
        words.add(`-${spec.short}`);
        if (spec.value) words.add(`-${spec.short}v.sif`);
      }
    }
  }
  return [...words];
}

function generatedCases(count: number, seed: number): string[][] {
  const random = generator(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const words = new Map(CONTAINER_COMMANDS.map((c) => [c, flagWords(c)]));
  const cases: string[][] = [];
  for (let n = 0; n < count; n++) {
    const argv = [pick(["apptainer", "singularity"])];
    const roots = Math.floor(random() * 3);
    for (let i = 0; i < roots; i++) {
      argv.push(random() < 0.8 ? pick(ROOT_WORDS.slice(0, 15)) : pick(ROOT_WORDS));
    }
    const sub = random() < 0.95 ? pick(SUBCOMMANDS.slice(0, 6)) : pick(SUBCOMMANDS);
    argv.push(...sub);
    const command: ContainerCommand = sub[0] === "instance"
      ? (sub[sub.length - 1] === "run" ? "instance run" : "instance start")
      : (sub[0] as ContainerCommand);
    const flags = Math.floor(random() * 5);
    for (let i = 0; i < flags; i++) {
      argv.push(random() < 0.75 ? pick(words.get(command) ?? []) : pick(ODD_WORDS));
    }
    const tail = Math.floor(random() * 4);
    for (let i = 0; i < tail; i++) argv.push(pick(["img.sif", "cmd", "-B", "docker://x"]));
    cases.push(argv);
  }
  return cases;
}

/** Refusals that are siftrust's choice, not a different reading of the command line. */
const DELIBERATE = new Set(["refused-flag", "unsupported-source", "ambiguous"]);

async function compare(table: RuntimeFlagTable, cases: string[][], exact: boolean) {
  const outcomes = await cobraOutcomes(table, cases);
  let ran = 0;
  let found = 0;
  cases.forEach((argv, i) => {
    const ours = parseRuntimeArgv(argv);
    const cobra = outcomes[i];
    const where = `${JSON.stringify(argv)} with ${table.source}: ours ${
      JSON.stringify(ours)
    }, cobra ${JSON.stringify(cobra)}`;
    if (cobra.ran) ran++;
    if (ours.ok) {
      found++;
      // Found: cobra starts the same container with the same arguments, or nothing.
      if (cobra.ran) {
        assertEquals(cobra.command, ours.subcommand, where);
        assertEquals(cobra.args, argv.slice(ours.containerIndex), where);
      } else {
        ok(!exact, where);
      }
    } else if (cobra.ran && exact) {
      ok(DELIBERATE.has(ours.kind), where);
    }
  });
  return { ran, found };
}

peerTest("siftrust finds the container cobra starts, or refuses", COBRAREF_PEERS, async () => {
  try {
    const cases = [...HAND_CASES, ...generatedCases(4000, 20261129)];
    const apptainerCases = cases.filter((argv) => argv[0] === "apptainer");
    const singularityCases = cases.filter((argv) => argv[0] === "singularity");
    // `apptainer` is read with Apptainer's flags exactly.
    const exact = await compare(APPTAINER_FLAGS, apptainerCases, true);
    ok(exact.ran > apptainerCases.length / 5, `only ${exact.ran} command lines ran`);
    ok(exact.found < apptainerCases.length * 0.9, `${exact.found} found: too few refusals`);
    // `singularity` is either runtime: whichever it is, it starts what siftrust found.
    await compare(APPTAINER_FLAGS, singularityCases, false);
    await compare(SINGULARITYCE_FLAGS, singularityCases, false);
  } finally {
    await removeCobraref();
  }
});
