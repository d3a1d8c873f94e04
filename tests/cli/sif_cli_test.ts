/**
 * `siftrust sif list|info|header|dump` as a user runs it (a subprocess with the binary's
 * permissions): exit codes, the one-line `ERROR:` contract, `--json` values, raw dumps, the
 * `siftool` alias, a closed pipe, and files the process may not read.
 *
 * @module
 */

import assert from "node:assert/strict";
import { CLI_ENTRY, type CliResult, PERMISSIONS, runCli, runCliWithin } from "../helpers/cli.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
import { runCliAsNobody } from "../helpers/unprivileged.ts";
import {
  createImage,
  DataType,
  DESCRIPTOR_SIZE,
  FsType,
  partitionExtra,
  PartType,
} from "../../core/sif/mod.ts";
import {
  badCase,
  DEFFILE_DATA,
  JSON_DATA,
  LAYOUT,
  makeBaseImage,
  PART_DATA,
  writeCases,
} from "../helpers/bad_images.ts";

/** A temp folder with the base image (see tests/helpers/bad_images.ts) and the named cases. */
async function withImages(
  caseNames: string[],
  fn: (base: string, cases: Map<string, string>, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-cli-" });
  try {
    await makeBaseImage(`${dir}/base.sif`);
    const cases = await writeCases(dir, caseNames.map(badCase));
    await fn(`${dir}/base.sif`, cases, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` over `items`, at most `limit` at a time (the machine has 2 cores). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `runCliWithin`, failing the test on a timeout. */
async function runWithin(args: string[], fifo?: string): Promise<CliResult> {
  return await runCliWithin(args, fifo) ??
    assert.fail(`siftrust ${args.join(" ")} did not finish within 20 s`);
}

/** stderr as lines, without the final newline. */
const lines = (text: string) => text === "" ? [] : text.replace(/\n$/, "").split("\n");

const STACK_LINE = /^\s+at /m;

/** `text` as a literal pattern for a RegExp. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A failure reported the documented way: one `ERROR:` line, no stack, nothing on stdout. */
function assertOneError(result: CliResult, code: number, message: RegExp, what: string): void {
  const context = `${what}\nstderr: ${result.stderr}`;
  assert.equal(result.code, code, context);
  assert.equal(result.stdout, "", context);
  const [first] = lines(result.stderr);
  assert.ok(first?.startsWith("ERROR:   "), context);
  assert.match(first, message, context);
  assert.doesNotMatch(result.stderr, STACK_LINE, context);
  assert.doesNotMatch(result.stderr, /internal error/, context);
}

// ---------------------------------------------------------------------------------------------
// Bad images

const BAD_FOR_CLI = [
  "text",
  "empty",
  "cut-after-magic",
  "version-02",
  "count-2^40",
  "table-past-eof",
  "offset-past-eof",
  "size-2^62",
  "overlaps-object",
  "id-duplicate",
  "directory",
  "missing",
  "fifo",
];

Deno.test("a bad or unreadable image: exit 3 and one ERROR line that names the file", async () => {
  await withImages(BAD_FOR_CLI, async (_, cases) => {
    await pool(BAD_FOR_CLI, 4, async (name) => {
      const path = cases.get(name)!;
      const result = await runWithin(["sif", "list", path], name === "fifo" ? path : undefined);
      assertOneError(result, 3, badCase(name).error!.message, name);
      assert.equal(lines(result.stderr).length, 1, `${name}: ${result.stderr}`);
      assert.ok(result.stderr.startsWith(`ERROR:   ${path}: `), `${name}: ${result.stderr}`);
    });
  });
});

Deno.test("odd but valid images list fine: unknown types, garbage in free slots, empty objects", async () => {
  const names = ["unknown-type", "garbage-in-free-slots", "empty-objects-anywhere"];
  await withImages(names, async (_, cases) => {
    const [unknown, garbage, empty] = await pool(
      names,
      3,
      (name) => runCli(["sif", "list", cases.get(name)!]),
    );
    for (const result of [unknown, garbage, empty]) assert.equal(result.code, 0, result.stderr);
    assert.match(unknown.stdout, /^3 +\|NONE +\|1 +\(G\) +\|32790-32809 +\|Unknown$/m);
    assert.equal(lines(garbage.stdout).length, 3 + 3);
    assert.equal(lines(empty.stdout).length, 3 + 8);
    assert.match(empty.stdout, /^4 +\|NONE +\|NONE +\|0-0 +\|Generic\/Raw$/m);
    const dumped = await runCli(["sif", "dump", "4", cases.get("empty-objects-anywhere")!]);
    assert.equal(dumped.code, 0, dumped.stderr);
    assert.equal(dumped.stdoutBytes.length, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Usage errors

Deno.test("usage errors: exit 2 and an ERROR line that says what is wrong", async () => {
  await withImages(["no-descriptors"], async (img, cases) => {
    const empty = cases.get("no-descriptors")!;
    const table: [string[], RegExp][] = [
      [["sif", "info", "x", img], /invalid object ID "x": give a number from 1 up/],
      [["sif", "info", "0", img], /invalid object ID "0"/],
      [["sif", "info", "1.5", img], /invalid object ID "1\.5"/],
      [["sif", "dump", "4294967296", img], /invalid object ID "4294967296"/],
      [["sif", "dump", "-1", img], /-1/],
      [
        ["sif", "info", "99", img],
        new RegExp(`${literal(img)} has no object with ID 99 \\(its objects are 1, 2, 3\\)`),
      ],
      [["sif", "dump", "4", empty], /has no object with ID 4 \(it has no objects\)/],
      [["sif", "list"], /missing required argument 'image'/],
      [["sif", "info", "1"], /missing required argument 'image'/],
      [["sif", "bogus"], /unknown command 'bogus'/],
      [["bogus"], /unknown command 'bogus'/],
      [["sif", "list", "--nope", img], /unknown option '--nope'/],
      [["sif", "list", img, "extra"], /too many arguments/],
    ];
    await pool(table, 4, async ([args, message]) => {
      const result = await runCli(args);
      assertOneError(result, 2, message, args.join(" "));
      assert.ok(lines(result.stderr).length <= 2, `${args.join(" ")}: ${result.stderr}`);
    });
  });
});

Deno.test("commander's usage errors add exactly one line: INFO:    (add --help for usage)", async () => {
  const table = [["sif", "list"], ["sif", "bogus"], ["sif", "list", "--nope", "x.sif"]];
  const results = await pool(table, 3, (args) => runCli(args));
  for (const result of results) {
    assert.equal(result.code, 2, result.stderr);
    assert.ok(result.stderr.startsWith("ERROR:   "), result.stderr);
  }
  assert.deepEqual(
    results.map((result) => lines(result.stderr).slice(1)),
    table.map(() => ["INFO:    (add --help for usage)"]),
  );
});

Deno.test("--help and --version exit 0 and print to stdout", async () => {
  const table = [
    ["--help"],
    ["--version"],
    ["-V"],
    ["sif", "--help"],
    ["sif", "list", "--help"],
    ["siftool", "dump", "--help"],
  ];
  const results = await pool(table, 3, (args) => runCli(args));
  results.forEach((result, i) => {
    const what = table[i].join(" ");
    assert.equal(result.code, 0, `${what}: ${result.stderr}`);
    assert.equal(result.stderr, "", what);
    assert.notEqual(result.stdout.trim(), "", what);
  });
  assert.match(results[1].stdout, /^siftrust \d+\.\d+\.\d+/);
  assert.equal(results[2].stdout, results[1].stdout);
  assert.match(results[0].stdout, /\bsif\b/);
  assert.match(results[4].stdout, /--json/);
});

// ---------------------------------------------------------------------------------------------
// Output of a good image

Deno.test("siftool is an alias of sif", async () => {
  await withImages([], async (img) => {
    const [sif, siftool] = await Promise.all([
      runCli(["sif", "list", img]),
      runCli(["siftool", "list", img]),
    ]);
    assert.equal(sif.code, 0, sif.stderr);
    assert.equal(siftool.code, 0, siftool.stderr);
    assert.equal(siftool.stdout, sif.stdout);
    assert.match(sif.stdout, /^1 +\|1 +\|NONE +\|32768-32772 +\|FS \(Raw\/\*System\/amd64\)$/m);
    assert.match(sif.stdout, /^2 +\|1 +\|1 +\|32772-32790 +\|JSON\.Generic$/m);
    assert.match(sif.stdout, /^3 +\|NONE +\|1 +\(G\) +\|32790-32809 +\|Def\.FILE$/m);
  });
});

Deno.test("sif dump writes exactly the object's bytes", async () => {
  await withImages([], async (img) => {
    const expected = [PART_DATA, JSON_DATA, DEFFILE_DATA];
    const results = await pool([1, 2, 3], 3, (id) => runCli(["sif", "dump", String(id), img]));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.deepEqual(result.stdoutBytes, expected[i], `object ${i + 1}`);
    });
  });
});

Deno.test("--json of list, info and header has the image's values", async () => {
  await withImages(["unknown-type"], async (img, cases) => {
    const unknownImg = cases.get("unknown-type")!;
    const [list, info2, info3, header, unknown] = await pool(
      [
        ["sif", "list", "--json", img],
        ["sif", "info", "--json", "2", img],
        ["sif", "info", "3", img, "--json"],
        ["sif", "header", "--json", img],
        ["sif", "info", "--json", "3", unknownImg],
      ],
      3,
      (args) => runCli(args),
    );
    for (const result of [list, info2, info3, header, unknown]) {
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, "");
    }

    const part = {
      id: 1,
      type: "FS",
      typeCode: DataType.Partition,
      group: 1,
      link: null,
      offset: LAYOUT.part.offset,
      size: PART_DATA.length,
      createdAt: null,
      modifiedAt: null,
      name: "rootfs.raw",
      partition: { fsType: "Raw", partType: "*System", arch: "amd64" },
    };
    const json = {
      id: 2,
      type: "JSON.Generic",
      typeCode: DataType.GenericJSON,
      group: 1,
      link: { id: 1, isGroup: false },
      offset: LAYOUT.json.offset,
      size: JSON_DATA.length,
      createdAt: null,
      modifiedAt: null,
      name: "meta.json",
    };
    const deffile = {
      id: 3,
      type: "Def.FILE",
      typeCode: DataType.Deffile,
      group: null,
      link: { id: 1, isGroup: true },
      offset: LAYOUT.deffile.offset,
      size: DEFFILE_DATA.length,
      createdAt: null,
      modifiedAt: null,
      name: "recipe.def",
    };
    assert.deepEqual(JSON.parse(list.stdout), { image: img, objects: [part, json, deffile] });
    assert.deepEqual(JSON.parse(info2.stdout), { image: img, object: json });
    assert.deepEqual(JSON.parse(info3.stdout), { image: img, object: deffile });
    assert.deepEqual(JSON.parse(unknown.stdout), {
      image: unknownImg,
      object: { ...deffile, type: "Unknown", typeCode: 0x400c },
    });
    assert.deepEqual(JSON.parse(header.stdout), {
      image: img,
      header: {
        launchScript: "",
        version: "01",
        primaryArch: "amd64",
        id: "00000000-0000-0000-0000-000000000000",
        createdAt: null,
        modifiedAt: null,
        descriptorsFree: LAYOUT.descriptorsTotal - 3,
        descriptorsTotal: LAYOUT.descriptorsTotal,
        descriptorsOffset: LAYOUT.descriptorsOffset,
        descriptorsSize: LAYOUT.descriptorsTotal * DESCRIPTOR_SIZE,
        dataOffset: LAYOUT.dataOffset,
        dataSize: LAYOUT.fileSize - LAYOUT.dataOffset,
      },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The process environment: a closed pipe, files it may not read

/** The entry point runCli runs (kept in step with tests/helpers/cli.ts). */
const ENTRY = CLI_ENTRY;

Deno.test("a reader that stops early (`sif dump 1 IMG | head -c 1`) ends the CLI quietly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-cli-" });
  try {
    // 8 MiB: far more than a pipe buffer holds, so the CLI is still writing when the pipe
    // closes.
    const big = `${dir}/big.sif`;
    const data = new Uint8Array(8 << 20).fill(0x5a);
    (await createImage(big, {
      deterministic: true,
      objects: [{
        dataType: DataType.Partition,
        data,
        extra: partitionExtra(FsType.Raw, PartType.System, "amd64"),
      }],
    })).close();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSIONS, ENTRY, "sif", "dump", "1", big],
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    await reader.cancel();
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    assert.ok(!first.done && first.value.length > 0 && first.value[0] === 0x5a);
    assert.doesNotMatch(stderr, /internal error/);
    assert.doesNotMatch(stderr, STACK_LINE);
    assert.equal(status.code, 0, `exit ${status.code}, signal ${status.signal}: ${stderr}`);
    assert.equal(stderr, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A file the user may not read. The tests run as root, and root reads a mode-000 file, so
 * when root we run the CLI as `nobody` (tests/helpers/unprivileged.ts, from the bundle) on a
 * root-owned mode-0600 copy of the image. As any other user, a mode-000 file does it and the
 * usual runCli is enough.
 */
Deno.test("an image the user may not read: exit 3, `permission denied`", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-cli-" });
  try {
    await Deno.chmod(dir, 0o755);
    const secret = `${dir}/secret.sif`;
    await makeBaseImage(secret);
    let result: CliResult;
    if (Deno.uid() === 0) {
      await Deno.chmod(secret, 0o600);
      result = await runCliAsNobody(["sif", "list", secret], { home: `${dir}/home`, cwd: dir });
    } else {
      await Deno.chmod(secret, 0o000);
      result = await runCli(["sif", "list", secret]);
    }
    assertOneError(
      result,
      3,
      new RegExp(`^ERROR:   ${literal(secret)}: permission denied`),
      "secret",
    );
    assert.equal(lines(result.stderr).length, 1, result.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Deno's own permission check (a narrower --allow-read than the shipped binary's). */
Deno.test("an image outside Deno's --allow-read: exit 3 and a clear message", async () => {
  await withImages([], async (img) => {
    const elsewhere = await Deno.makeTempDir({ prefix: "siftrust-cli-" });
    try {
      // Its own files stay readable: the bundle's entry loads its program from its folder, and
      // the sources' entry (cli/main.ts) the commands from the sources.
      const own = ENTRY.endsWith("/cli/main.ts")
        ? REPO_ROOT.replace(/\/$/, "")
        : ENTRY.slice(0, ENTRY.lastIndexOf("/"));
      const permissions = PERMISSIONS.map((flag) =>
        flag === "--allow-read" ? `--allow-read=${elsewhere},${own}` : flag
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", ...permissions, ENTRY, "sif", "list", img],
        cwd: REPO_ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      const result = {
        code: out.code,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
        stdoutBytes: out.stdout,
      };
      assertOneError(
        result,
        3,
        new RegExp(`^ERROR:   ${literal(img)}: .*permission to read`),
        "outside",
      );
      assert.equal(lines(result.stderr).length, 1, result.stderr);
    } finally {
      await Deno.remove(elsewhere);
    }
  });
});
