/**
 * `admit` takes the digests a decision on its copy needs as it writes the copy, on workers,
 * from exactly the bytes written (core/files/copy_hashed.ts, core/integrity/stream_digests.ts):
 * they equal those read back from the copy in any chunk size; when the descriptor table lies
 * beyond what the copy holds in memory, none are taken and the decision reads the data; and
 * the decision on the copy uses them instead of reading the data again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyHashed } from "../../core/files/copy_hashed.ts";
import { neededDigests, StreamedDigests } from "../../core/integrity/mod.ts";
import { openImageOnce, SifImage } from "../../core/sif/mod.ts";
import { checkImage } from "../../policy/mod.ts";
import { withTempDir } from "../helpers/env.ts";
import { lab, labContext, SIGNED } from "./lab.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The digests of every object and group, read back from the image. */
async function readBack(path: string) {
  using image = await SifImage.open(path);
  const objects = new Map<number, string>();
  const groupData = new Map<number, Uint8Array[]>();
  for (const d of image.descriptors) {
    const data = await image.objectData(d);
    objects.set(d.id, sha256(data));
    if (d.groupId !== 0) groupData.set(d.groupId, [...groupData.get(d.groupId) ?? [], data]);
  }
  const groups = new Map(
    [...groupData].map(([id, parts]) => [id, sha256(new Uint8Array(parts.flatMap((p) => [...p])))]),
  );
  return { objects, groups };
}

Deno.test("a copy takes the digests its signatures need, from the bytes it wrote", async () => {
  await withTempDir(async (dir) => {
    const bytes = await Deno.readFile(SIGNED);
    const truth = await readBack(SIGNED);
    using image = await SifImage.open(SIGNED);
    const needed = neededDigests(image.descriptors);
    assert.ok(needed.objects.size > 1);
    const cases = [[4100, true], [65536, true], [undefined, true], [4100, false], [
      undefined,
      false,
    ]];
    for (const [chunkSize, whole] of cases as [number | undefined, boolean][]) {
      using source = await Deno.open(SIGNED);
      const streamed = new StreamedDigests();
      const copy = await copyHashed(source, `${dir}/copy.sif`, {
        digests: streamed,
        chunkSize,
        sha256: whole,
      });
      // Without the whole copy's SHA-256, one lane only writes: the copy is the same.
      assert.equal(copy.sha256, whole ? sha256(bytes) : null);
      const known = streamed.known(copy.partDigests, copy.size);
      assert.deepEqual(
        known.objects,
        new Map([...needed.objects].map((id) => [id, truth.objects.get(id)])),
        `chunks of ${chunkSize}, whole digest ${whole}`,
      );
      assert.deepEqual(await readBack(copy.tempPath), truth);
      await copy.discard();
    }
    // Chunks so small that the ring of chunks cannot hold the descriptor table: nothing is
    // taken (the decision will read the data), the copy and its SHA-256 are the same.
    using source = await Deno.open(SIGNED);
    const streamed = new StreamedDigests();
    const copy = await copyHashed(source, `${dir}/copy.sif`, { digests: streamed, chunkSize: 128 });
    assert.equal(copy.sha256, sha256(bytes));
    assert.deepEqual(copy.partDigests, []);
    assert.deepEqual(streamed.known(copy.partDigests, copy.size).objects, new Map());
    await copy.discard();
  });
});

Deno.test("the check of an admitted copy uses the streamed digests instead of reading the data", async () => {
  await using l = await lab();
  const context = await labContext(l);
  const digests = await readBack(SIGNED);
  const check = async (known: typeof digests) => {
    using file = openImageOnce(SIGNED);
    return await checkImage(SIGNED, context, undefined, { ...file, digests: known });
  };
  assert.equal((await check(digests)).decision.decision, "allow");
  // A wrong streamed digest is believed, so it must come from the bytes themselves: the
  // decision changes, which shows the data was not read again.
  const wrong = new Map([...digests.objects].map(([id]) => [id, "0".repeat(64)]));
  const groupsWrong = new Map([...digests.groups].map(([id]) => [id, "0".repeat(64)]));
  assert.equal((await check({ objects: wrong, groups: groupsWrong })).decision.decision, "deny");
});
