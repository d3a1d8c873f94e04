/**
 * `SifImage.open` on damaged and foreign files: every way the header, the descriptor table or
 * a descriptor can be wrong is rejected with a `SifError` of the right kind whose one-line
 * message starts with the path and names what is wrong; odd but harmless images still load.
 */

import assert from "node:assert/strict";
import { SifError, SifImage } from "../../core/sif/mod.ts";
import {
  BAD_CASES,
  badCase,
  baseImageBytes,
  DEFFILE_DATA,
  JSON_DATA,
  LAYOUT,
  PART_DATA,
  writeCases,
} from "../helpers/bad_images.ts";
import { tempDir } from "../helpers/env.ts";

/**
 * Opens `path` and returns the image or the error. A FIFO must be refused without being
 * opened (which would block until a writer comes): after 5 s the test fails, and unblocks
 * the hung open by opening the FIFO for writing so that nothing is left behind.
 */
async function attemptOpen(path: string): Promise<SifImage | unknown> {
  const opening = SifImage.open(path).catch((error) => error);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), 5000);
  });
  try {
    const result = await Promise.race([opening, hung]);
    if (result !== "hung") return result;
    (await Deno.open(path, { write: true })).close();
    const late = await opening;
    if (late instanceof SifImage) late.close();
    assert.fail(`SifImage.open(${path}) did not finish within 5 s`);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("SifImage.open rejects every bad input with a SifError that says what is wrong", async (t) => {
  await using temp = await tempDir("siftrust-bad-");
  const dir = temp.dir;
  const paths = await writeCases(dir);
  for (const c of BAD_CASES) {
    await t.step(c.name, async () => {
      const path = paths.get(c.name)!;
      const result = await attemptOpen(path);
      if (c.error === undefined) {
        assert.ok(result instanceof SifImage, `must load, got ${result}`);
        using image = result;
        c.check?.(image);
        return;
      }
      if (result instanceof SifImage) {
        result.close();
        assert.fail("must be rejected, but it loaded");
      }
      assert.ok(result instanceof SifError, `not a SifError: ${result}`);
      assert.equal(result.kind, c.error.kind, `kind of: ${result.message}`);
      assert.equal(result.path, path);
      assert.ok(result.message.startsWith(`${path}: `), result.message);
      assert.ok(!result.message.includes("\n"), `more than one line: ${result.message}`);
      assert.match(result.message, c.error.message);
    });
  }
});

Deno.test("the base image loads as the reference lays it out", async () => {
  await using temp = await tempDir("siftrust-bad-");
  const dir = temp.dir;
  const path = `${dir}/base.sif`;
  await Deno.writeFile(path, await baseImageBytes());
  using image = await SifImage.open(path);
  assert.equal(image.fileSize, LAYOUT.fileSize);
  assert.equal(image.header.descriptorsOffset, LAYOUT.descriptorsOffset);
  assert.equal(image.header.descriptorsTotal, LAYOUT.descriptorsTotal);
  assert.equal(image.header.dataOffset, LAYOUT.dataOffset);
  const { part, json, deffile } = LAYOUT;
  assert.deepEqual(
    image.descriptors.map((d) => [d.slot, d.id, d.offset, d.size]),
    [part, json, deffile].map((o, i) => [i, o.id, o.offset, o.size]),
  );
  assert.deepEqual(await image.objectData(image.descriptor(1)!), PART_DATA);
  assert.deepEqual(await image.objectData(image.descriptor(2)!), JSON_DATA);
  assert.deepEqual(await image.objectData(image.descriptor(3)!), DEFFILE_DATA);
});

Deno.test("a FIFO is refused at once, without waiting for a writer", async () => {
  await using temp = await tempDir("siftrust-bad-");
  const dir = temp.dir;
  const path = (await writeCases(dir, [badCase("fifo")])).get("fifo")!;
  const started = performance.now();
  const result = await attemptOpen(path);
  assert.ok(result instanceof SifError && result.kind === "unreadable", String(result));
  assert.ok(performance.now() - started < 1000, "took more than a second");
});
