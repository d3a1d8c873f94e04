/**
 * `exec` must check the container that the runtime will start, found the way Apptainer and
 * SingularityCE parse their command lines: `-B trusted.sif evil.sif` starts evil.sif, a
 * boolean flag never takes the next word, `--` ends the flags, root flags come before the
 * subcommand, and anything unknown, refused, fetched or uncertain is refused.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  APPTAINER_FLAGS,
  classifyContainerArg,
  CONTAINER_COMMANDS,
  parseRuntimeArgv,
  type RuntimeArgvResult,
  type RuntimeRefusalKind,
  SINGULARITYCE_FLAGS,
} from "../../policy/runtime/mod.ts";
import { unionFlagSet } from "../../policy/runtime/flag_set.ts";

/** The container a command line starts, or the refusal kind. */
function container(...argv: string[]): string {
  const result = parseRuntimeArgv(argv);
  return result.ok ? `${result.subcommand}:${result.containerIndex}:${result.container}` : "";
}

function refused(...argv: string[]): RuntimeRefusalKind | "ok" {
  const result: RuntimeArgvResult = parseRuntimeArgv(argv);
  return result.ok ? "ok" : result.kind;
}

Deno.test("the image is the first word after the subcommand's flags", () => {
  const result = parseRuntimeArgv([
    "apptainer",
    "exec",
    "--bind",
    "/a:/b",
    "-e",
    "image.sif",
    "cmd",
    "arg",
  ]);
  assertEquals(result, {
    ok: true,
    runtime: "apptainer",
    subcommand: "exec",
    containerIndex: 5,
    container: "image.sif",
    globalFlags: [],
    flags: [
      { name: "bind", value: "/a:/b", index: 2 },
      { name: "cleanenv", value: "true", index: 4 },
    ],
  });
  assertEquals(container("apptainer", "run", "img.sif"), "run:2:img.sif");
  assertEquals(container("apptainer", "shell", "img.sif"), "shell:2:img.sif");
  assertEquals(container("apptainer", "test", "img.sif"), "test:2:img.sif");
  assertEquals(container("/usr/bin/apptainer", "exec", "img.sif", "ls"), "exec:2:img.sif");
  assertEquals(container("singularity", "exec", "img.sif", "ls"), "exec:2:img.sif");
  // The command and its arguments are the container's, not the runtime's.
  assertEquals(
    container("apptainer", "exec", "img.sif", "--bind", "evil.sif", "-B"),
    "exec:2:img.sif",
  );
});

Deno.test("a value flag takes the next word even when it looks like an image", () => {
  // The attack of issue 10: the first SIF-looking word is a bind source, not the container.
  assertEquals(
    container("apptainer", "exec", "-B", "trusted.sif", "evil.sif", "sh"),
    "exec:4:evil.sif",
  );
  assertEquals(
    container("apptainer", "exec", "--bind", "trusted.sif", "evil.sif", "sh"),
    "exec:4:evil.sif",
  );
  assertEquals(
    container("apptainer", "exec", "-Btrusted.sif", "evil.sif", "sh"),
    "exec:3:evil.sif",
  );
  assertEquals(container("apptainer", "exec", "--bind=x", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "-B=x", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(
    container("apptainer", "exec", "--overlay", "trusted.sif", "-o", "t2.sif", "evil.sif", "sh"),
    "exec:6:evil.sif",
  );
  // A value may itself look like a flag.
  assertEquals(container("apptainer", "exec", "-B", "-e", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "exec", "--bind", "--", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "exec", "--app", "X", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "exec", "--env=A=B", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "--env", "A=B", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "exec", "-H", "/h", "img.sif", "sh"), "exec:4:img.sif");
});

Deno.test("booleans never take the next word; stacks end with at most one value flag", () => {
  // -c is --contain here (a boolean): the next word is the image.
  assertEquals(container("apptainer", "exec", "-c", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "-ce", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "-cC", "-e", "img.sif", "sh"), "exec:4:img.sif");
  // A stack ending in a value flag takes the next word; a value flag inside takes the rest.
  assertEquals(
    container("apptainer", "exec", "-cB", "trusted.sif", "evil.sif", "sh"),
    "exec:4:evil.sif",
  );
  assertEquals(container("apptainer", "exec", "-Bc", "evil.sif", "sh"), "exec:3:evil.sif");
  assertEquals(
    container("apptainer", "exec", "-ceBtrusted.sif", "evil.sif", "sh"),
    "exec:3:evil.sif",
  );
  // `--contain false` is --contain, then the image `false`.
  assertEquals(container("apptainer", "exec", "--contain", "false", "sh"), "exec:3:false");
  assertEquals(
    container("apptainer", "exec", "--contain=false", "img.sif", "sh"),
    "exec:3:img.sif",
  );
  assertEquals(container("apptainer", "exec", "-c=0", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(refused("apptainer", "exec", "--contain=maybe", "img.sif", "sh"), "invalid-value");
  assertEquals(refused("apptainer", "exec", "-c=yes", "img.sif", "sh"), "invalid-value");
  assertEquals(refused("apptainer", "exec", "--contain=", "img.sif", "sh"), "invalid-value");
  // `-c=` is -c then a flag named `=`.
  assertEquals(refused("apptainer", "exec", "-c=", "img.sif", "sh"), "unknown-flag");
});

Deno.test("-- ends the flags; a lone - or an empty word is the image", () => {
  assertEquals(container("apptainer", "exec", "--", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "-e", "--", "-img.sif", "sh"), "exec:4:-img.sif");
  assertEquals(container("apptainer", "exec", "--", "--", "sh"), "exec:3:--");
  assertEquals(refused("apptainer", "exec", "--"), "missing-container");
  assertEquals(refused("apptainer", "exec", "-", "sh"), "ambiguous");
  assertEquals(refused("apptainer", "exec", "", "sh"), "ambiguous");
});

Deno.test("root flags are read before the subcommand, with the root's own arities", () => {
  const result = parseRuntimeArgv([
    "apptainer",
    "--debug",
    "-c",
    "/etc/apptainer/apptainer.conf",
    "exec",
    "-c",
    "img.sif",
    "sh",
  ]);
  ok(result.ok);
  assertEquals(result.containerIndex, 6);
  assertEquals(result.globalFlags, [
    { name: "debug", value: "true", index: 1 },
    { name: "config", value: "/etc/apptainer/apptainer.conf", index: 2 },
  ]);
  assertEquals(result.flags, [{ name: "contain", value: "true", index: 5 }]);
  assertEquals(container("apptainer", "-dq", "exec", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(
    container("apptainer", "-s", "--nocolor", "exec", "img.sif", "sh"),
    "exec:4:img.sif",
  );
  assertEquals(container("apptainer", "--config=x", "exec", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "-cx", "exec", "img.sif", "sh"), "exec:3:img.sif");
  // The config file may be named like a subcommand.
  assertEquals(container("apptainer", "-c", "exec", "exec", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "--build-config", "run", "img.sif"), "run:3:img.sif");
  // cobra sees `-dc` as complete; pflag then finds -c without its value: nothing runs.
  assertEquals(refused("apptainer", "-dc", "exec", "img.sif", "sh"), "missing-value");
  // The runtime skips what follows `--` before the subcommand: refused.
  assertEquals(refused("apptainer", "--", "x", "exec", "img.sif", "sh"), "ambiguous");
  assertEquals(refused("apptainer", "--frob", "exec", "img.sif", "sh"), "unknown-flag");
  // Root-only flags are unknown after the subcommand, and the reverse.
  assertEquals(refused("apptainer", "exec", "--debug", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "--bind", "x", "exec", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "-e", "exec", "img.sif", "sh"), "unknown-flag");
});

Deno.test("instance start and instance run take the image, then a name", () => {
  assertEquals(
    container("apptainer", "instance", "start", "--boot", "-B", "a.sif", "img.sif", "web"),
    "instance start:6:img.sif",
  );
  assertEquals(
    container("apptainer", "instance", "run", "--pid-file", "p", "img.sif", "web"),
    "instance run:5:img.sif",
  );
  assertEquals(refused("apptainer", "instance", "start", "img.sif"), "missing-argument");
  assertEquals(refused("apptainer", "instance", "list"), "unknown-subcommand");
  assertEquals(refused("apptainer", "instance"), "unknown-subcommand");
  assertEquals(refused("apptainer", "instance", "-d", "start", "img.sif", "w"), "ambiguous");
  // Flags of exec alone are unknown to instances, and the reverse.
  assertEquals(refused("apptainer", "instance", "start", "--pid", "img.sif", "w"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "--boot", "img.sif", "sh"), "unknown-flag");
  assertEquals(
    refused("apptainer", "instance", "start", "--dmtcp-restart", "c", "img.sif", "w"),
    "refused-flag",
  );
});

Deno.test("unknown, refused and cut-short flags are refused", () => {
  assertEquals(refused("apptainer", "exec", "--frobnicate", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "--frobnicate=1", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "-Z", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "-cZ", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "---bind", "x", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("apptainer", "exec", "--=x", "img.sif", "sh"), "unknown-flag");
  // -s is shell's --shell, not exec's.
  assertEquals(refused("apptainer", "exec", "-s", "/bin/sh", "img.sif", "sh"), "unknown-flag");
  assertEquals(container("apptainer", "shell", "-s", "/bin/zsh", "img.sif"), "shell:4:img.sif");
  assertEquals(refused("apptainer", "exec", "-B"), "missing-value");
  assertEquals(refused("apptainer", "exec", "-cB"), "missing-value");
  assertEquals(refused("apptainer", "exec", "--bind"), "missing-value");
  assertEquals(refused("apptainer", "exec", "--sharens", "img.sif", "sh"), "refused-flag");
  assertEquals(refused("apptainer", "exec", "--help"), "refused-flag");
  assertEquals(refused("apptainer", "exec", "-h", "img.sif", "sh"), "refused-flag");
  assertEquals(refused("apptainer", "--version", "exec", "img.sif", "sh"), "refused-flag");
  // pflag silently drops -test.… words: refused rather than guessed.
  assertEquals(refused("apptainer", "exec", "-test.v", "img.sif", "sh"), "ambiguous");
  assertEquals(refused("apptainer", "exec", "-ctest.v", "img.sif", "sh"), "ambiguous");
  // Hidden and deprecated flags are accepted, as the runtime accepts them.
  assertEquals(container("apptainer", "exec", "--nohttps", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(container("apptainer", "exec", "--pwd", "/", "img.sif", "sh"), "exec:4:img.sif");
  assertEquals(container("apptainer", "exec", "--underlay", "img.sif", "sh"), "exec:3:img.sif");
});

Deno.test("exec needs a command; every command needs an image; only the runtimes are read", () => {
  assertEquals(refused("apptainer", "exec", "img.sif"), "missing-argument");
  assertEquals(refused("apptainer", "exec"), "missing-container");
  assertEquals(refused("apptainer", "run"), "missing-container");
  assertEquals(refused("apptainer"), "unknown-subcommand");
  assertEquals(refused("apptainer", "pull", "x.sif", "docker://a"), "unknown-subcommand");
  assertEquals(refused("apptainer", "exe", "img.sif", "sh"), "unknown-subcommand");
  assertEquals(refused("docker", "run", "img"), "not-a-runtime");
  assertEquals(refused("/usr/bin/apptainer-wrapper", "exec", "img.sif", "sh"), "not-a-runtime");
  assertEquals(refused("run-singularity", "img.sif"), "not-a-runtime");
  assertEquals(refused(), "not-a-runtime");
});

Deno.test("a container that is fetched, an instance or not plainly a path is refused", () => {
  for (
    const source of [
      "docker://alpine",
      "oras://r/x:1",
      "library://a/b/c",
      "shub://a/b",
      "http://h/x.sif",
      "https://h/x.sif",
      "instance://web",
      "docker:alpine",
      "oci-archive:x.tar",
      "ipfs:Qm",
      "weird://x",
    ]
  ) {
    assertEquals(refused("apptainer", "exec", source, "sh"), "unsupported-source", source);
  }
  assertEquals(refused("apptainer", "exec", "img:v1.sif", "sh"), "ambiguous");
  assertEquals(container("apptainer", "exec", "./img:v1.sif", "sh"), "exec:2:./img:v1.sif");
  assertEquals(container("apptainer", "exec", "/data/a:b.sif", "sh"), "exec:2:/data/a:b.sif");
  // A sandbox folder is a local path here; exec refuses it on the descriptor it opens.
  assertEquals(container("apptainer", "exec", "./sandbox/", "sh"), "exec:2:./sandbox/");
});

Deno.test("classifyContainerArg splits arguments as the runtimes do", () => {
  assertEquals(classifyContainerArg("img.sif"), { kind: "local-path", path: "img.sif" });
  assertEquals(classifyContainerArg("/a/b.sif"), { kind: "local-path", path: "/a/b.sif" });
  assertEquals(classifyContainerArg("instance://web"), { kind: "instance", name: "web" });
  assertEquals(classifyContainerArg("docker://alpine"), { kind: "uri", transport: "docker" });
  assertEquals(classifyContainerArg("library:a/b"), { kind: "uri", transport: "library" });
  assertEquals(classifyContainerArg("/x/y://z"), { kind: "uri", transport: "/x/y" });
  assertEquals(classifyContainerArg("a:b").kind, "ambiguous");
  assertEquals(classifyContainerArg("").kind, "ambiguous");
});

Deno.test("singularity reads the flags of either runtime, apptainer only Apptainer's", () => {
  assertEquals(container("singularity", "exec", "--sif-fuse", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(
    container("singularity", "exec", "--data", "d.sif:/d", "img.sif", "sh"),
    "exec:4:img.sif",
  );
  assertEquals(container("singularity", "exec", "--unsquash", "img.sif", "sh"), "exec:3:img.sif");
  assertEquals(refused("apptainer", "exec", "--sif-fuse", "img.sif", "sh"), "unknown-flag");
  assertEquals(refused("singularity", "exec", "--sharens", "img.sif", "sh"), "refused-flag");
  assertEquals(container("apptainer", "run", "--runscript-timeout", "9", "i.sif"), "run:4:i.sif");
  assertEquals(
    refused("apptainer", "exec", "--runscript-timeout", "9", "i.sif", "x"),
    "unknown-flag",
  );
});

Deno.test("the flag tables are consistent: no name twice, and the runtimes agree on arity", () => {
  for (const table of [APPTAINER_FLAGS, SINGULARITYCE_FLAGS]) {
    for (const specs of [table.root, ...CONTAINER_COMMANDS.map((c) => table.commands[c])]) {
      const longs = specs.map((spec) => spec.long);
      const shorts = specs.flatMap((spec) => spec.short ?? []);
      assertEquals(new Set(longs).size, longs.length, `duplicate long name in ${table.source}`);
      assertEquals(new Set(shorts).size, shorts.length, `duplicate short name in ${table.source}`);
    }
  }
  const arity = (specs: readonly { long: string; value: boolean }[]) =>
    new Map(specs.map((spec) => [spec.long, spec.value]));
  for (const command of CONTAINER_COMMANDS) {
    const apptainer = arity(APPTAINER_FLAGS.commands[command]);
    for (const [name, value] of arity(SINGULARITYCE_FLAGS.commands[command])) {
      if (apptainer.has(name)) assertEquals(apptainer.get(name), value, `${command} --${name}`);
    }
  }
});

Deno.test("a flag both runtimes know with different arities is refused for singularity", () => {
  const union = unionFlagSet(
    [{ long: "bind", short: "B", value: true }, { long: "only-a", value: false }],
    [{ long: "bind", short: "B", value: false }, { long: "only-b", value: true }],
  );
  ok(union.byLong.get("bind")?.refused !== undefined);
  ok(union.byShort.get("B")?.refused !== undefined);
  assertEquals(union.byLong.get("only-a"), { long: "only-a", value: false });
  assertEquals(union.byLong.get("only-b"), { long: "only-b", value: true });
  // A flag that either runtime refuses stays refused.
  const refusedInOne = unionFlagSet([{ long: "x", value: false, refused: "no" }], [
    { long: "x", value: false },
  ]);
  assertEquals(refusedInOne.byLong.get("x")?.refused, "no");
});
