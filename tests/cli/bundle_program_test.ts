/**
 * The shipped bundle's entry finds the program in its own real folder (through a symbolic link
 * to it too) and loads it only when it is as protected as the entry (cli/bundle_program.ts):
 * the rule on file metadata, the lookup on real files, and the built bundle refusing a program
 * others can write or a missing one, in one line with exit 2.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  locateProgram,
  PROGRAM_FILE,
  programFileProblem,
  type ProgramLocation,
  programProblemMessage,
} from "../../cli/bundle_program.ts";
import { buildBundle } from "../helpers/bundle.ts";
import { DENO_DIR, PERMISSIONS } from "../helpers/cli.ts";
import { tempDir, testEnv } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";

/** A file's metadata with these fields changed. */
async function info(fields: Partial<Deno.FileInfo>): Promise<Deno.FileInfo> {
  return { ...(await Deno.stat(`${REPO_ROOT}deno.json`)), uid: 0, gid: 0, ...fields };
}

Deno.test("programFileProblem: the program may be no less protected than the entry", async () => {
  const entry = await info({ mode: 0o100644 });
  const cases: [Partial<Deno.FileInfo>, string | undefined][] = [
    [{ mode: 0o100644 }, undefined],
    [{ mode: 0o100600 }, undefined],
    [{ mode: 0o100755 }, undefined],
    [{ mode: 0o100664 }, "writable"],
    [{ mode: 0o100646 }, "writable"],
    [{ mode: 0o100644, uid: 1000 }, "owner"],
    [{ mode: 0o120777, isFile: false, isSymlink: true }, "not-a-file"],
    [{ mode: 0o40755, isFile: false, isDirectory: true }, "not-a-file"],
  ];
  for (const [fields, expected] of cases) {
    equal(programFileProblem(entry, await info(fields)), expected, JSON.stringify(fields));
  }
  // Write permission the entry has too: only for the entry's own group.
  const groupEntry = await info({ mode: 0o100664, gid: 50 });
  equal(programFileProblem(groupEntry, await info({ mode: 0o100664, gid: 50 })), undefined);
  equal(programFileProblem(groupEntry, await info({ mode: 0o100664, gid: 51 })), "writable");
  equal(programFileProblem(groupEntry, await info({ mode: 0o100666, gid: 50 })), "writable");
  const openEntry = await info({ mode: 0o100666 });
  equal(programFileProblem(openEntry, await info({ mode: 0o100666, gid: 7 })), undefined);
});

Deno.test("locateProgram: beside the entry's real path, and only a protected regular file", async () => {
  await using temp = await tempDir("siftrust-program-");
  const lib = `${temp.dir}/lib a#%`;
  await Deno.mkdir(lib);
  await Deno.mkdir(`${temp.dir}/bin`);
  const entry = `${lib}/siftrust.js`;
  const program = `${lib}/${PROGRAM_FILE}`;
  await Deno.writeTextFile(entry, "");
  await Deno.chmod(entry, 0o644);
  const link = `${temp.dir}/bin/siftrust`;
  await Deno.symlink(entry, link);
  const locate = (path: string) => locateProgram(pathToFileURL(path).href);
  const problem = (location: ProgramLocation) => "problem" in location ? location.problem : {};

  assertEquals(problem(await locate(link)), { kind: "missing", program, entry });
  await Deno.writeTextFile(program, "");
  await Deno.chmod(program, 0o644);
  for (const path of [entry, link]) {
    const location = await locate(path);
    ok("url" in location, JSON.stringify(location));
    equal(fileURLToPath(location.url), program);
  }
  await Deno.chmod(program, 0o666);
  assertEquals(problem(await locate(link)), { kind: "writable", program, entry });
  await Deno.remove(program);
  await Deno.writeTextFile(`${temp.dir}/elsewhere.js`, "");
  await Deno.symlink(`${temp.dir}/elsewhere.js`, program);
  assertEquals(problem(await locate(link)), { kind: "not-a-file", program, entry });

  // An entry that is no local file: the program beside its URL.
  assertEquals(await locateProgram("https://example.test/siftrust/siftrust.js"), {
    url: `https://example.test/siftrust/${PROGRAM_FILE}`,
  });
});

Deno.test("programProblemMessage: one line naming the program and the entry", () => {
  for (const kind of ["missing", "not-a-file", "owner", "writable", "unreadable"] as const) {
    const message = programProblemMessage({ kind, program: "/p/full.js", entry: "/p/entry.js" });
    ok(!message.includes("\n"), message);
    ok(message.includes("/p/full.js") && message.includes("/p/entry.js"), message);
  }
  const denied = { kind: "not-permitted", program: "/p/full.js", entry: "/p/entry.js" } as const;
  match(programProblemMessage(denied), /needs to read \/p,.*--allow-read/);
});

Deno.test("the built bundle refuses a program others can write, a missing one, or one it may not read (exit 2)", async () => {
  await using box = await testEnv("siftrust-program-cli-");
  // An odd folder name: the program is loaded by a URL of its path.
  const entry = await buildBundle(`${box.dir}/dist a#%`);
  const program = `${box.dir}/dist a#%/${PROGRAM_FILE}`;
  const run = async (permissions = PERMISSIONS) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      // A command of the program (`--version` the entry answers alone).
      args: ["run", "--quiet", ...permissions, entry, "sif", "--help"],
      env: { NO_COLOR: "1", DENO_DIR, ...box.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
  };
  const fine = await run();
  equal(fine.code, 0, fine.stderr);
  match(fine.stdout, /^Usage: siftrust sif/);
  // Deno may not read the bundle's folder.
  const narrow = await run(
    PERMISSIONS.map((flag) => flag === "--allow-read" ? `--allow-read=${box.dir}/home` : flag),
  );
  equal(narrow.code, 2, narrow.stderr);
  match(narrow.stderr, /^ERROR: +siftrust needs to read .+dist a#%, where .*--allow-read.*\n$/);
  await Deno.chmod(entry, 0o644);
  await Deno.chmod(program, 0o664);
  const writable = await run();
  equal(writable.code, 2, writable.stderr);
  equal(writable.stdout, "");
  match(writable.stderr, /^ERROR: +the program .+siftrust-full\.js can be written by .*\n$/);
  await Deno.remove(program);
  const missing = await run();
  equal(missing.code, 2, missing.stderr);
  match(missing.stderr, /^ERROR: +the program .+siftrust-full\.js is missing: .*\n$/);
});

Deno.test("run as docs/install.md runs it (--no-config), a deno.json above the bundle cannot swap the program", async () => {
  await using box = await testEnv("siftrust-program-config-");
  const entry = await buildBundle(`${box.dir}/lib`);
  const program = pathToFileURL(`${box.dir}/lib/${PROGRAM_FILE}`).href;
  // Whoever can write a folder above the bundle's could leave an import map there.
  await Deno.writeTextFile(
    `${box.dir}/swapped.js`,
    'console.log("swapped program"); export function runMain() { Deno.exit(0); }\n',
  );
  await Deno.writeTextFile(
    `${box.dir}/deno.json`,
    JSON.stringify({ imports: { [program]: "./swapped.js" } }),
  );
  const run = async (...flags: string[]) => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...flags, ...PERMISSIONS, entry, "sif", "--help"],
      cwd: box.dir,
      env: { NO_COLOR: "1", DENO_DIR, ...box.env },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return { code, stdout: new TextDecoder().decode(stdout) };
  };
  // Why the flag is documented: without it, Deno finds the deno.json and follows its map.
  equal((await run()).stdout, "swapped program\n");
  const documented = await run("--no-config");
  equal(documented.code, 0);
  match(documented.stdout, /^Usage: siftrust sif/);
});
