/**
 * The copy engine of `admit`: it reads the source once, writes a private temporary file next
 * to the destination, hashes exactly the bytes it wrote, and only a commit puts the copy in
 * place. A discard, a failed read or a killed process never leaves a destination behind, and
 * a source that grows or shrinks during the copy gives a copy that its size and hash describe.
 */

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import { withDirLock } from "../../core/files/atomic.ts";
import { CopyError, copyHashed, type CopySource } from "../../core/files/copy_hashed.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

async function readAll(file: Deno.FsFile): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(1 << 20);
  for (let got = await file.read(buffer); got !== null; got = await file.read(buffer)) {
    chunks.push(buffer.slice(0, got));
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A folder with a source file of `data`; the destination folder is `${dir}/lib`. */
async function setup(data: Uint8Array) {
  const dir = await Deno.makeTempDir({ prefix: "copy-hashed-" });
  await Deno.writeFile(`${dir}/source.sif`, data);
  await Deno.mkdir(`${dir}/lib`);
  return { dir, source: `${dir}/source.sif`, lib: `${dir}/lib`, dest: `${dir}/lib/image.sif` };
}

/** Wraps a source: counts the bytes read, and runs `afterRead` after each read. */
function watched(file: Deno.FsFile, afterRead: (reads: number) => Promise<void> | void) {
  let reads = 0;
  const counter = { bytes: 0 };
  const source: CopySource = {
    stat: () => file.stat(),
    seek: (offset, whence) => file.seek(offset, whence),
    read: async (buffer) => {
      const got = await file.read(buffer);
      if (got !== null) counter.bytes += got;
      await afterRead(++reads);
      return got;
    },
  };
  return { source, counter };
}

Deno.test("a copy is hashed as written, private to its folder, and readable back", async () => {
  const data = randomBytes(9 * 1024 * 1024 + 12345);
  const { dir, source, lib, dest } = await setup(data);
  try {
    for (const [chunkSize, whole] of [[undefined, true], [65536, true], [65536, false]] as const) {
      using file = await Deno.open(source);
      await file.seek(100, Deno.SeekMode.Start); // the copy starts at byte 0 regardless
      const copy = await copyHashed(file, dest, { chunkSize, sha256: whole });
      assertEquals(copy.size, data.length);
      // Without its SHA-256, the copy is written by the copying thread: the same bytes.
      assertEquals(copy.sha256, whole ? sha256(data) : null);
      ok(copy.tempPath.startsWith(`${lib}/.image.sif.`) && copy.tempPath.endsWith(".tmp"));
      const info = await Deno.stat(copy.tempPath);
      assertEquals(info.mode! & 0o7777, 0o644);
      assertEquals(info.uid, Deno.uid());
      assertEquals(sha256(await readAll(copy.file)), sha256(data));
      await copy.discard();
    }
    using file = await Deno.open(source);
    const copy = await copyHashed(file, dest, { mode: 0o600 });
    assertEquals((await Deno.stat(copy.tempPath)).mode! & 0o7777, 0o600);
    await copy.discard();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("commit renames the copy into place; nothing is at the destination before", async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const { dir, source, lib, dest } = await setup(data);
  try {
    using file = await Deno.open(source);
    const copy = await copyHashed(file, dest);
    assertEquals(await listing(lib), [copy.tempPath.slice(lib.length + 1)]);
    await copy.commit();
    assertEquals(await listing(lib), ["image.sif"]);
    assertEquals(sha256(await Deno.readFile(dest)), sha256(data));
    assertEquals((await Deno.stat(dest)).mode! & 0o7777, 0o644);
    // The handle now reads the committed file.
    await copy.file.seek(0, Deno.SeekMode.Start);
    assertEquals(sha256(await readAll(copy.file)), sha256(data));
    copy.file.close();
    await rejects(copy.commit(), (e) => e instanceof CopyError && e.kind === "finished");
    await rejects(copy.discard(), (e) => e instanceof CopyError && e.kind === "finished");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("commit replaces an existing file, or leaves it when told not to", async () => {
  const data = randomBytes(100_000);
  const { dir, source, lib, dest } = await setup(data);
  try {
    await Deno.writeFile(dest, new TextEncoder().encode("old"));
    using first = await Deno.open(source);
    const kept = await copyHashed(first, dest);
    await rejects(
      kept.commit({ overwrite: false }),
      (e) => e instanceof CopyError && e.kind === "destination-exists",
    );
    assertEquals(new TextDecoder().decode(await Deno.readFile(dest)), "old");
    await kept.discard();
    assertEquals(await listing(lib), ["image.sif"]);

    using second = await Deno.open(source);
    const replacing = await copyHashed(second, dest);
    await replacing.commit();
    replacing.file.close();
    assertEquals(sha256(await Deno.readFile(dest)), sha256(data));
    assertEquals(await listing(lib), ["image.sif"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("discard closes the copy and leaves nothing behind", async () => {
  const { dir, source, lib, dest } = await setup(randomBytes(1_000_000));
  try {
    using file = await Deno.open(source);
    const copy = await copyHashed(file, dest);
    await copy.discard();
    await copy.discard(); // twice is harmless
    assertEquals(await listing(lib), []);
    await rejects(copy.file.read(new Uint8Array(1)), Deno.errors.BadResource);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source that grows during the copy: the copy stops at the size it started with", async () => {
  const data = randomBytes(1024 * 1024);
  const { dir, source, dest } = await setup(data);
  try {
    using file = await Deno.open(source);
    using appender = await Deno.open(source, { append: true });
    const { source: growing, counter } = watched(file, async (reads) => {
      if (reads === 1) await appender.write(randomBytes(300_000));
    });
    const copy = await copyHashed(growing, dest, { chunkSize: 65536 });
    assertEquals((await Deno.stat(source)).size, data.length + 300_000);
    assertEquals(copy.size, data.length);
    assertEquals(copy.sha256, sha256(data));
    assertEquals(counter.bytes, data.length); // read once, and no further
    assertEquals(sha256(await readAll(copy.file)), copy.sha256);
    await copy.discard();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source cut short during the copy: size and hash describe the shorter copy", async () => {
  const data = randomBytes(1024 * 1024);
  const { dir, source, dest } = await setup(data);
  try {
    using file = await Deno.open(source);
    const { source: shrinking } = watched(file, async (reads) => {
      if (reads === 1) await Deno.truncate(source, 200_000);
    });
    const copy = await copyHashed(shrinking, dest, { chunkSize: 65536 });
    assertEquals(copy.size, 200_000);
    assertEquals(copy.sha256, sha256(data.subarray(0, 200_000)));
    assertEquals(sha256(await readAll(copy.file)), copy.sha256);
    await copy.discard();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed read or a folder as source leaves no temporary file", async () => {
  const { dir, source, lib, dest } = await setup(randomBytes(1024 * 1024));
  try {
    using file = await Deno.open(source);
    const { source: failing } = watched(file, (reads) => {
      if (reads === 3) throw new Error("EIO");
    });
    await rejects(
      copyHashed(failing, dest, { chunkSize: 65536 }),
      (e) => e instanceof CopyError && e.kind === "io",
    );
    assertEquals(await listing(lib), []);

    using folder = await Deno.open(lib);
    await rejects(
      copyHashed(folder, dest),
      (e) => e instanceof CopyError && e.kind === "not-a-regular-file",
    );
    assertEquals(await listing(lib), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a copy killed midway leaves no destination; the next copy under lock cleans up", async () => {
  const data = randomBytes(4 * 1024 * 1024);
  const { dir, source, lib, dest } = await setup(data);
  const script = `${dir}/slow_copy.ts`;
  const engine = new URL("../../core/files/copy_hashed.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { copyHashed } from ${JSON.stringify(engine)};
const file = await Deno.open(Deno.args[0]);
const slow = {
  stat: () => file.stat(),
  seek: (o, w) => file.seek(o, w),
  read: async (b) => { await new Promise((r) => setTimeout(r, 50)); return await file.read(b); },
};
const copy = await copyHashed(slow, Deno.args[1], { chunkSize: 65536 });
await copy.commit();
`,
  );
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-lock", script, source, dest],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 20_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = await listing(lib);
      if (names.length > 0 && (await Deno.stat(`${lib}/${names[0]}`)).size > 65536) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.status;
    assertEquals(names.length, 1, "the copy did not start in time");
    ok(names[0].startsWith(".image.sif.") && names[0].endsWith(".tmp"));
    assertEquals(await listing(lib), names); // killed: a leftover temporary, no destination

    await withDirLock(lib, async () => {
      using file = await Deno.open(source);
      const copy = await copyHashed(file, dest, { underLock: true });
      assertEquals(await listing(lib), [copy.tempPath.slice(lib.length + 1)]);
      await copy.commit();
      copy.file.close();
    });
    assertEquals(await listing(lib), ["image.sif"]);
    assertEquals(sha256(await Deno.readFile(dest)), sha256(data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("memory stays flat however large the image", async () => {
  // In a process of its own: tests running in parallel share this one's memory.
  const dir = await Deno.makeTempDir({ prefix: "copy-hashed-" });
  try {
    const size = 512 * 1024 * 1024;
    {
      using sparse = await Deno.open(`${dir}/big.sif`, { write: true, create: true });
      await sparse.truncate(size);
    }
    const module = new URL("../../core/files/copy_hashed.ts", import.meta.url).href;
    const script = `
      import { copyHashed } from ${JSON.stringify(module)};
      using file = await Deno.open(${JSON.stringify(`${dir}/big.sif`)});
      const copy = await copyHashed(file, ${JSON.stringify(`${dir}/copy.sif`)});
      await copy.discard();
      const peak = /VmHWM:\\s+(\\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
      console.log(JSON.stringify({ size: copy.size, peakKib: Number(peak[1]) }));
    `;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    ok(output.success, "the copy process failed");
    const { size: copied, peakKib } = JSON.parse(new TextDecoder().decode(output.stdout));
    assertEquals(copied, size);
    // Deno itself takes about 50 MiB; a copy that held the image would take over 512 MiB more.
    ok(peakKib < 160 * 1024, `peak RSS ${peakKib} KiB for a ${size}-byte copy`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
