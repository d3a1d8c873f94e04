/**
 * AllSignedBy and AnySignedBy: the fingerprints in the descriptors of the signatures each
 * verification task examines, without cryptography. Checked on images signed here, and
 * against the reference library's `Verifier.AllSignedBy`/`AnySignedBy` on its corpus.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  allSignedBy,
  anySignedBy,
  readSignatureObjects,
  selectTasks,
  signersByTask,
  signImage,
  TaskError,
  type TaskRequest,
  verifyImage,
} from "../../core/integrity/mod.ts";
import { createImage, DataType, SifImage } from "../../core/sif/mod.ts";
import { corpusImages } from "../helpers/images.ts";
import { peerTest } from "../helpers/peers.ts";
import { sifrefBinary, verifyImage as referenceVerify } from "../helpers/sifref.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { tempDir } from "../helpers/env.ts";
import { fingerprintOf as fp, newKey } from "../helpers/keys.ts";

const text = (s: string) => new TextEncoder().encode(s);

const alice = await newKey("alice");
const bob = await newKey("bob");

/** Two groups; alice signs both, bob group 1 only. */
async function twoGroupImage(path: string): Promise<void> {
  const image = await createImage(path, {
    objects: [
      { dataType: DataType.Deffile, data: text("Bootstrap: scratch\n") },
      { dataType: DataType.GenericJSON, data: text('{"b":2}'), groupId: 2 },
    ],
  });
  image.close();
  using writable = await SifImage.open(path, { write: true });
  await signImage(writable, { kind: "pgp", key: wrapKey(alice) });
  await signImage(writable, { kind: "pgp", key: wrapKey(bob) }, { groups: [1] });
}

async function signedBy(path: string, request: TaskRequest = {}) {
  using image = await SifImage.open(path);
  const tasks = selectTasks(image, request);
  const signatures = await readSignatureObjects(image);
  return {
    all: allSignedBy(tasks, signatures),
    any: anySignedBy(tasks, signatures),
    byTask: signersByTask(tasks, signatures).map(({ task, fingerprints }) => [
      task.kind === "group" ? task.group : task.object.id,
      fingerprints,
    ]),
  };
}

Deno.test("AllSignedBy needs every task, AnySignedBy one; both sorted, no keys needed", async () => {
  await using temp = await tempDir("siftrust-signed-by-");
  const dir = temp.dir;
  const path = `${dir}/two.sif`;
  await twoGroupImage(path);
  const both = [fp(alice), fp(bob)].sort();
  assertEquals(await signedBy(path), {
    all: [fp(alice)],
    any: both,
    byTask: [[1, both], [2, [fp(alice)]]],
  });
  // Only group 1: both signed every task.
  assertEquals((await signedBy(path, { groups: [1] })).all, both);
  // Legacy tasks examine legacy signatures only: there are none.
  assertEquals(await signedBy(path, { legacy: true }), {
    all: [],
    any: [],
    byTask: [[1, []], [2, []]],
  });
  // The same answer from a verification's report (its checks carry the signature objects).
  using image = await SifImage.open(path);
  const report = await verifyImage(image);
  assertEquals(allSignedBy(report.tasks, report.checks.map((c) => c.signature)), [fp(alice)]);
});

peerTest(
  "AllSignedBy and AnySignedBy agree with the reference library on its corpus",
  ["go"],
  async () => {
    await sifrefBinary();
    const requests: TaskRequest[] = [
      {},
      { groups: [1] },
      { objects: [1] },
      { legacy: true },
      { legacy: true, objects: [1] },
      { legacy: true, legacyAll: true },
    ];
    let compared = 0;
    for (const path of corpusImages()) {
      for (const request of requests) {
        const reference = await referenceVerify(path, {
          groups: request.groups,
          objects: request.objects,
          legacy: request.legacy,
          legacyAll: request.legacyAll,
        });
        let ours;
        try {
          ours = await signedBy(path, request);
        } catch (error) {
          // The reference's NewVerifier refuses the same requests: no fingerprints either way.
          if (!(error instanceof TaskError)) throw error;
          assertEquals([reference.allSignedBy, reference.anySignedBy], [[], []], path);
          continue;
        }
        if (reference.signedByError !== undefined) continue;
        const what = `${path} ${JSON.stringify(request)}`;
        assertEquals(ours.all, reference.allSignedBy, what);
        assertEquals(ours.any, reference.anySignedBy, what);
        if (reference.anySignedBy.length > 0) compared++;
      }
    }
    // The corpus has signed images: the comparison is not vacuous.
    if (compared === 0) throw new Error("no signed corpus image was compared");
  },
);
