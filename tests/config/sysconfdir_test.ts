/**
 * Where the system configuration is found without `SIFTRUST_SYSCONFDIR`: a fake `apptainer`
 * script answers `buildcfg SYSCONFDIR` through an injected probe; untrusted binaries and
 * `PATH` are never run.
 */

import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { join } from "node:path";
import {
  type FileFacts,
  findSysconfdir,
  type SysconfdirProbe,
  systemProbe,
} from "../../core/config/sysconfdir.ts";
import { systemConfigDir } from "../../core/config/locations.ts";

const ROOT_BINARY: FileFacts = { isFile: true, isDirectory: false, uid: 0, mode: 0o755 };
const FOLDER: FileFacts = { isFile: false, isDirectory: true, uid: 0, mode: 0o755 };

/** A fake `apptainer buildcfg` in a temp folder: prints `answer`, records each run. */
async function fakeApptainer(dir: string, answer: string): Promise<string> {
  const script = join(dir, "apptainer");
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\necho "$@" >> "${dir}/runs"\n[ "$1 $2" = "buildcfg SYSCONFDIR" ] && printf '%s\\n' '${answer}'\n`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

/**
 * A probe whose file system is `files` (fixed paths → facts), and whose runner runs the fake
 * script for any program path, recording which path it was asked to run.
 */
function probe(files: Record<string, FileFacts>, script?: string) {
  const ran: string[] = [];
  const fake: SysconfdirProbe = {
    stat: (path) => files[path],
    run: (program, args) => {
      ran.push(program);
      return script === undefined ? undefined : systemProbe.run(script, args);
    },
  };
  return { fake, ran };
}

const runs = async (dir: string) =>
  (await Deno.readTextFile(join(dir, "runs")).catch(() => "")).split("\n").filter((l) => l);

Deno.test("findSysconfdir asks a root-owned apptainer in a system folder for SYSCONFDIR", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = await fakeApptainer(dir, "/usr/local/etc/");
    const { fake, ran } = probe({ "/usr/local/bin/apptainer": ROOT_BINARY }, script);
    assertEquals(findSysconfdir(fake), "/usr/local/etc");
    assertEquals(ran, ["/usr/local/bin/apptainer"]);
    assertEquals(await runs(dir), ["buildcfg SYSCONFDIR"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findSysconfdir never runs a binary a user could have changed; falls back to the folders", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = await fakeApptainer(dir, "/evil");
    const untrusted: Record<string, FileFacts>[] = [
      { "/usr/bin/apptainer": { ...ROOT_BINARY, uid: 1000 } },
      { "/usr/bin/apptainer": { ...ROOT_BINARY, mode: 0o775 } },
      { "/usr/bin/apptainer": { ...ROOT_BINARY, mode: 0o757 } },
      { "/usr/bin/apptainer": FOLDER },
    ];
    for (const files of untrusted) {
      const { fake, ran } = probe({ ...files, "/usr/local/etc/apptainer": FOLDER }, script);
      assertEquals(findSysconfdir(fake), "/usr/local/etc", JSON.stringify(files));
      assertEquals(ran, []);
    }
    assertEquals(await runs(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findSysconfdir without an answer: /etc, then /usr/local/etc, with an apptainer folder; else /etc", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A binary that fails, or answers something that is not an absolute path.
    for (const answer of ["", "relative/etc", "/etc\n/other"]) {
      const script = await fakeApptainer(dir, answer);
      const { fake } = probe({
        "/usr/bin/apptainer": ROOT_BINARY,
        "/usr/local/etc/apptainer": FOLDER,
      }, script);
      assertEquals(findSysconfdir(fake), "/usr/local/etc", JSON.stringify(answer));
    }
    const both = probe({ "/etc/apptainer": FOLDER, "/usr/local/etc/apptainer": FOLDER });
    assertEquals(findSysconfdir(both.fake), "/etc");
    assertEquals(findSysconfdir(probe({}).fake), "/etc");
    const failing = probe({ "/usr/sbin/apptainer": ROOT_BINARY });
    assertEquals(findSysconfdir(failing.fake), "/etc");
    assertEquals(failing.ran, ["/usr/sbin/apptainer"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIFTRUST_SYSCONFDIR overrides the detection, which is not even asked then", () => {
  let asked = 0;
  const detected = () => (asked++, "/usr/local/etc");
  const env = (values: Record<string, string>) => (name: string) => values[name];
  assertEquals(systemConfigDir(env({ SIFTRUST_SYSCONFDIR: "/site" }), detected), "/site/apptainer");
  assertEquals(asked, 0);
  assertEquals(systemConfigDir(env({}), detected), "/usr/local/etc/apptainer");
  assertEquals(asked, 1);
});

Deno.test({
  name: "the system probe ignores an apptainer on PATH and runs programs with an empty environment",
  ignore: ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin", "/bin", "/sbin"]
    .some((d) => {
      try {
        Deno.statSync(`${d}/apptainer`);
        return true;
      } catch {
        return false;
      }
    }),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = Deno.env.get("PATH");
    try {
      await fakeApptainer(dir, "/evil");
      Deno.env.set("PATH", `${dir}:${path}`);
      const found = findSysconfdir(systemProbe);
      ok(found === "/etc" || found === "/usr/local/etc", found);
      assertEquals(await runs(dir), [], "the apptainer on PATH never ran");
      // What a run sees of the environment: nothing but PATH.
      const envScript = join(dir, "env.sh");
      await Deno.writeTextFile(envScript, "#!/bin/sh\nenv | sort\n");
      await Deno.chmod(envScript, 0o755);
      Deno.env.set("APPTAINER_CONFIGDIR", "/tmp/x");
      const seen = (systemProbe.run(envScript, []) ?? "").split("\n")
        .filter((line) =>
          line !== "" && !line.startsWith("PWD=") && !line.startsWith("SHLVL=") &&
          !line.startsWith("_=")
        );
      assertEquals(seen, ["PATH=/usr/bin:/bin"]);
    } finally {
      Deno.env.set("PATH", path ?? "");
      Deno.env.delete("APPTAINER_CONFIGDIR");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
