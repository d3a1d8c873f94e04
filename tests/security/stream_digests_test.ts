/**
 * `admit` hashes the copy while writing it (core/integrity/stream_digests.ts): the digests
 * streamed in any chunk size equal those read back from the image, and the decision on the
 * copy uses them instead of reading the data again.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { StreamingDigests } from "../../core/integrity/mod.ts";
import { openImageOnce, SifImage } from "../../core/sif/mod.ts";
import { checkImage } from "../../policy/mod.ts";
import { REPO_ROOT } from "../helpers/peers.ts";
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

Deno.test("streamed digests equal the digests read back, in any chunk size", async () => {
  for (const path of [SIGNED, `${REPO_ROOT}examples/example.sif`]) {
    const bytes = await Deno.readFile(path);
    const expected = await readBack(path);
    assert.ok(expected.objects.size > 0 && expected.groups.size > 0);
    for (const size of [1, 7, 128, 4096, 65536, bytes.length]) {
      const stream = new StreamingDigests();
      for (let at = 0; at < bytes.length; at += size) stream.update(bytes.subarray(at, at + size));
      const got = stream.finish();
      assert.deepEqual(got.objects, expected.objects, `${path}, chunks of ${size}`);
      assert.deepEqual(got.groups, expected.groups, `${path}, chunks of ${size}`);
    }
    // Cut short: the objects whose bytes did not all go by are not known.
    const cut = new StreamingDigests();
    cut.update(bytes.subarray(0, bytes.length - 1));
    assert.ok(cut.finish().objects.size < expected.objects.size);
  }
  // Not a SIF image: nothing known (loading it will say what is wrong).
  const junk = new StreamingDigests();
  junk.update(new Uint8Array(8192).fill(7));
  assert.deepEqual(junk.finish(), { objects: new Map(), groups: new Map() });
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
