/**
 * The hashing pool (core/integrity/hash_pool.ts) and DigestPlan's use of it: the digests of
 * the pooled pass equal those of the inline pass and of an independent oracle (node:crypto
 * over the file's bytes, and the reference library's own object digests), on random layouts
 * and real images; the pool reads the descriptor the image was opened as, not its path; it
 * stops its workers when idle or closed; and failures end as typed errors, never hangs.
 */

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import * as openpgp from "openpgp";
import {
  createImage,
  DataType,
  type Descriptor,
  FsType,
  type ObjectInput,
  partitionExtra,
  PartType,
  SifError,
  SifImage,
} from "../../core/sif/mod.ts";
import { DigestPlan } from "../../core/integrity/hashing.ts";
import { HashPool, HashPoolError } from "../../core/integrity/hash_pool.ts";
import {
  type FromWorker,
  hashWorkerMain,
  nodeFileOpener,
  startHashWorker,
  type ToWorker,
  type WorkerScope,
} from "../../core/integrity/hash_worker.ts";
import { type DigestAlgorithm, nodeHashName } from "../../core/integrity/digest.ts";
import { signImage, verifyImage } from "../../core/integrity/mod.ts";
import { KeySet } from "../../core/keys/mod.ts";
import { wrapKey } from "../../core/keys/pgp_key.ts";
import { peerTest, REFERENCE_IMAGES } from "../helpers/peers.ts";
import { sifFiles } from "../helpers/images.ts";
import { tempDir } from "../helpers/env.ts";
import { loadImage, verifyImage as referenceVerify } from "../helpers/sifref.ts";

const ALGORITHMS: DigestAlgorithm[] = [
  "sha224",
  "sha256",
  "sha384",
  "sha512",
  "sha512_224",
  "sha512_256",
];

/** A seeded xorshift32, so a failing layout can be made again from its seed. */
function random(seed: number): (below: number) => number {
  let x = seed || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

function bytes(length: number, next: (below: number) => number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = next(256);
  return data;
}

/** What a plan asks for: object and group digests. */
interface Needs {
  objects: [number, DigestAlgorithm][];
  groups: [number, DigestAlgorithm][];
}

function planOf(needs: Needs): DigestPlan {
  const plan = new DigestPlan();
  for (const [id, algorithm] of needs.objects) plan.needObject(id, algorithm);
  for (const [group, algorithm] of needs.groups) plan.needGroup(group, algorithm);
  return plan;
}

/** The digests the needs name, computed over the whole file with node:crypto. */
function oracle(file: Uint8Array, descriptors: readonly Descriptor[], needs: Needs) {
  const data = (d: Descriptor) => file.subarray(d.offset, d.offset + d.size);
  const objects = needs.objects.map(([id, algorithm]) => {
    const d = descriptors.find((d) => d.id === id)!;
    return createHash(nodeHashName(algorithm)).update(data(d)).digest("hex");
  });
  const groups = needs.groups.map(([group, algorithm]) => {
    const hash = createHash(nodeHashName(algorithm));
    for (const d of descriptors) if (d.groupId === group) hash.update(data(d));
    return hash.digest("hex");
  });
  return { objects, groups };
}

/** Asserts that a plan that has run holds exactly the oracle's digests. */
function assertDigests(plan: DigestPlan, needs: Needs, expected: ReturnType<typeof oracle>) {
  assertEquals(needs.objects.map(([id, a]) => plan.objectDigest(id, a)), expected.objects);
  needs.groups.forEach(([group, algorithm], i) => {
    ok(plan.groupMatches(group, { algorithm, hex: expected.groups[i] }), `group ${group}`);
  });
}

/** A random image: up to 7 objects of random sizes (empty, tiny, across chunk borders). */
async function randomImage(path: string, seed: number): Promise<void> {
  const next = random(seed);
  const sizes = [0, 1, 17, 4095, 4096, 4097, 65_537, 300_000];
  const objects: ObjectInput[] = [];
  for (let i = 0, count = 1 + next(7); i < count; i++) {
    const size = next(3) === 0 ? next(200_000) : sizes[next(sizes.length)];
    objects.push({
      dataType: DataType.Generic,
      data: bytes(size, next),
      groupId: next(4),
      ...(next(2) === 0 ? { alignment: 1 + next(4096) } : {}),
    });
  }
  (await createImage(path, { objects })).close();
}

/** Random needs over an image's objects and groups (sometimes a group with no objects). */
function randomNeeds(descriptors: readonly Descriptor[], seed: number): Needs {
  const next = random(seed ^ 0x5bd1e995);
  const pick = () => ALGORITHMS[next(ALGORITHMS.length)];
  const needs: Needs = { objects: [], groups: [] };
  for (const d of descriptors) {
    for (let i = next(3); i > 0; i--) needs.objects.push([d.id, pick()]);
  }
  for (const group of new Set([...descriptors.map((d) => d.groupId), 9])) {
    for (let i = next(3); i > 0; i--) needs.groups.push([group, pick()]);
  }
  return needs;
}

/** Runs a plan for `needs` on `image`, pooled or inline, and checks it against the oracle. */
async function check(
  image: SifImage,
  needs: Needs,
  expected: ReturnType<typeof oracle>,
  pool: HashPool | false,
): Promise<void> {
  const plan = planOf(needs);
  const progress: number[] = [];
  await plan.run(image, (done) => progress.push(done), { pool, poolMinBytes: 0 });
  assertDigests(plan, needs, expected);
  const total = progress.at(-1)!;
  assertEquals(progress, [...progress].sort((a, b) => a - b), "progress only grows");
  assertEquals(
    total,
    image.descriptors.filter((d) =>
      needs.objects.some(([id]) => id === d.id) || needs.groups.some(([g]) => g === d.groupId)
    ).reduce((sum, d) => sum + d.size, 0),
  );
}

Deno.test("pooled digests equal inline ones and node:crypto's on random layouts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  // Small chunks, so that chunks end inside objects and at their borders.
  using pool = new HashPool({ size: 2, chunkSize: 5000, buffersPerJob: 2 });
  try {
    const cases = Array.from({ length: 24 }, (_, i) => 0x9e3779b9 * (i + 1) >>> 0);
    await Promise.all(cases.map(async (seed) => {
      const path = `${dir}/${seed}.sif`;
      await randomImage(path, seed);
      using image = await SifImage.open(path);
      const needs = randomNeeds(image.descriptors, seed);
      const expected = oracle(await Deno.readFile(path), image.descriptors, needs);
      await check(image, needs, expected, false);
      await check(image, needs, expected, pool);
    }));
    ok(pool.workers <= 2, "never more workers than the pool's size");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

peerTest(
  "pooled and inline digests of the reference's images equal the reference library's",
  ["go", REFERENCE_IMAGES],
  async () => {
    using pool = new HashPool({ size: 2, chunkSize: 4096 });
    for (const path of sifFiles(REFERENCE_IMAGES)) {
      const reference = await loadImage(path);
      using image = await SifImage.open(path);
      const needs: Needs = {
        objects: image.descriptors.map((d) => [d.id, "sha256"]),
        groups: [],
      };
      const expected = {
        objects: image.descriptors.map((d) =>
          reference.descriptors.find((r) => r.id === d.id)!.sha256
        ),
        groups: [],
      };
      await check(image, needs, expected, false);
      await check(image, needs, expected, pool);
    }
  },
);

peerTest(
  "an image signed through the pool verifies with the reference and with siftrust",
  ["go"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
    try {
      const { privateKey } = await openpgp.generateKey({
        type: "ecc",
        curve: "ed25519Legacy",
        userIDs: [{ name: "hash pool test" }],
        format: "object",
      });
      const keyring = `${dir}/public.asc`;
      await Deno.writeTextFile(keyring, privateKey.toPublic().armor());
      const path = `${dir}/big.sif`;
      // 12 MiB: above the size DigestPlan hashes on the pool by default.
      (await createImage(path, {
        objects: [{
          dataType: DataType.Partition,
          data: bytes(12 << 20, random(7)),
          extra: partitionExtra(FsType.Squashfs, PartType.PrimarySystem, "amd64"),
        }],
      })).close();
      {
        using image = await SifImage.open(path, { write: true });
        await signImage(image, { kind: "pgp", key: wrapKey(privateKey) });
      }
      assertEquals((await referenceVerify(path, { keyrings: [keyring] })).error, "");
      const keys = new KeySet([{
        key: wrapKey(privateKey.toPublic()),
        source: { kind: "file", location: keyring },
      }]);
      {
        using image = await SifImage.open(path);
        assertEquals((await verifyImage(image, { keys })).outcome.error, undefined);
      }
      // One byte changed: both refuse it.
      const file = await Deno.open(path, { write: true });
      await file.seek(-(6 << 20), Deno.SeekMode.End);
      await file.write(new Uint8Array([0x55]));
      file.close();
      ok((await referenceVerify(path, { keyrings: [keyring] })).error !== "");
      using image = await SifImage.open(path);
      ok((await verifyImage(image, { keys })).outcome.error !== undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("the pool hashes the descriptor the image was opened as, not its path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  const path = `${dir}/image.sif`;
  using pool = new HashPool({ size: 1, chunkSize: 8192 });
  try {
    await randomImage(path, 42);
    const original = await Deno.readFile(path);
    const fd = openSync(path, "r");
    try {
      using image = await SifImage.fromDescriptor(fd, path);
      const needs = randomNeeds(image.descriptors, 42);
      needs.objects.push(...image.descriptors.map((d) => [d.id, "sha256"] as [number, "sha256"]));
      const expected = oracle(original, image.descriptors, needs);
      // The name now leads elsewhere: the old file moved away, another image in its place.
      await Deno.rename(path, `${dir}/moved.sif`);
      await randomImage(path, 43);
      await check(image, needs, expected, pool);
      // The moved file changes under the same descriptor: its new bytes are what is hashed.
      const d = image.descriptors.find((d) => d.size > 0)!;
      const changed = await Deno.open(`${dir}/moved.sif`, { write: true });
      await changed.seek(d.offset, Deno.SeekMode.Start);
      await changed.write(new Uint8Array([original[d.offset] ^ 0xff]));
      changed.close();
      const plan = planOf(needs);
      await plan.run(image, undefined, { pool, poolMinBytes: 0 });
      assertDigests(
        plan,
        needs,
        oracle(await Deno.readFile(`${dir}/moved.sif`), image.descriptors, needs),
      );
      ok(
        plan.objectDigest(d.id, "sha256") !== expected.objects[
          needs.objects.findIndex(
            ([id, a]) => id === d.id && a === "sha256",
          )
        ],
      );
    } finally {
      closeSync(fd);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("idle workers stop, and a closed pool refuses work", async () => {
  const pool = new HashPool({ size: 2, idleMs: 20 });
  const job = (data: Uint8Array) => ({
    hashes: ["sha256"],
    ranges: [{ offset: 0, size: data.length, sinks: [0] }],
    read: (offset: number, into: Uint8Array) => {
      into.set(data.subarray(offset, offset + into.length));
      return Promise.resolve();
    },
  });
  const data = bytes(10_000, random(3));
  const hex = createHash("sha256").update(data).digest("hex");
  assertEquals(await pool.hash(job(data)), [hex]);
  assertEquals(pool.workers, 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assertEquals(pool.workers, 0, "idle workers stopped");
  assertEquals(await pool.hash(job(data)), [hex], "a worker starts again when needed");

  // Closing during a job fails that job and the one waiting for a worker.
  let unblock = () => {};
  const blocked = new Promise<void>((resolve) => unblock = resolve);
  const slow = { ...job(data), read: () => blocked };
  const single = new HashPool({ size: 1 });
  const running = single.hash(slow);
  const waiting = single.hash(job(data));
  await new Promise((resolve) => setTimeout(resolve, 20));
  single.close();
  unblock();
  const closed = (error: unknown) => error instanceof HashPoolError && error.kind === "closed";
  await rejects(running, closed);
  await rejects(waiting, closed);
  assertEquals(single.workers, 0);
  await rejects(single.hash(job(data)), closed);
  pool.close();
  assertEquals(pool.workers, 0);
});

Deno.test("a bad descriptor, a short read or a worker's failure is a typed error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  using pool = new HashPool({ size: 1, chunkSize: 4096 });
  const all = (image: SifImage): Needs => ({
    objects: image.descriptors.map((d) => [d.id, "sha256"]),
    groups: [],
  });
  try {
    const path = `${dir}/image.sif`;
    (await createImage(path, {
      objects: [{ dataType: DataType.Generic, data: bytes(100_000, random(5)) }],
    })).close();

    // The descriptor closed before hashing.
    const closedFd = openSync(path, "r");
    const lost = await SifImage.fromDescriptor(closedFd, path);
    closeSync(closedFd);
    await rejects(
      planOf(all(lost)).run(lost, undefined, { pool, poolMinBytes: 0 }),
      (error) => error instanceof SifError && error.kind === "unreadable",
    );

    // The file cut short after it was opened.
    const fd = openSync(path, "r+");
    try {
      using image = await SifImage.fromDescriptor(fd, path);
      ftruncateSync(fd, image.descriptors[0].offset + 50_000);
      await rejects(
        planOf(all(image)).run(image, undefined, { pool, poolMinBytes: 0 }),
        (error) => error instanceof SifError && error.kind === "invalid",
      );
    } finally {
      closeSync(fd);
    }

    // A hash the worker does not know.
    await rejects(
      pool.hash({
        hashes: ["no-such-hash"],
        ranges: [{ offset: 0, size: 10, sinks: [0] }],
        read: () => Promise.resolve(),
      }),
      (error) => error instanceof HashPoolError && error.kind === "worker",
    );

    // The pool still works after all of that.
    const data = bytes(9000, random(9));
    assertEquals(
      await pool.hash({
        hashes: ["sha384"],
        ranges: [{ offset: 0, size: data.length, sinks: [0] }],
        read: (offset, into) =>
          Promise.resolve(into.set(data.subarray(offset, offset + into.length))),
      }),
      [createHash("sha384").update(data).digest("hex")],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the worker's code answers the pool's messages (run in this thread)", () => {
  const sent: FromWorker[] = [];
  const scope: WorkerScope = { onmessage: null, postMessage: (message) => sent.push(message) };
  hashWorkerMain(scope, createHash, nodeFileOpener(fs));
  const send = (message: ToWorker) =>
    scope.onmessage!(new MessageEvent("message", { data: message }));
  const a = bytes(1000, random(11));
  const b = bytes(77, random(12));
  send({ type: "begin", job: 1, hashes: ["sha256", "sha512-224"] });
  send({ type: "data", job: 1, sinks: [0, 1], chunk: a.slice() });
  send({ type: "data", job: 1, sinks: [1], chunk: b.slice() });
  send({ type: "end", job: 1 });
  assertEquals(sent.map((m) => m.type), ["hashed", "hashed", "digests"]);
  assertEquals(sent[2], {
    type: "digests",
    job: 1,
    hex: [
      createHash("sha256").update(a).digest("hex"),
      createHash("sha512-224").update(a).update(b).digest("hex"),
    ],
  });
  sent.length = 0;
  send({ type: "begin", job: 2, hashes: ["sha256"] });
  send({ type: "abort", job: 2 });
  send({ type: "end", job: 2 });
  send({ type: "begin", job: 3, hashes: ["no-such-hash"] });
  assertEquals(sent.map((m) => [m.type, m.job]), [["failed", 3]]);
});

Deno.test("a worker reads the image's very file itself, and answers unread when it cannot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  try {
    const path = `${dir}/data.bin`;
    const data = bytes(300_000, random(21));
    await Deno.writeFile(path, data);
    const info = await Deno.stat(path);
    const sent: FromWorker[] = [];
    const scope: WorkerScope = { onmessage: null, postMessage: (message) => sent.push(message) };
    hashWorkerMain(scope, createHash, nodeFileOpener(fs));
    /** Starts a job, and waits for the worker's last word on it. */
    const begin = async (
      job: number,
      file: { path: string; dev: number; ino: number },
      readAhead = true,
    ) => {
      scope.onmessage!(
        new MessageEvent("message", {
          data: {
            type: "begin",
            job,
            hashes: ["sha256", "sha384"],
            reading: {
              file,
              chunkSize: 65536,
              readAhead,
              ranges: [
                { offset: 1000, size: 200_000, sinks: [0, 1] },
                { offset: 250_000, size: 50_000, sinks: [1] },
              ],
            },
          } satisfies ToWorker,
        }),
      );
      while (!sent.some((m) => m.job === job && (m.type === "digests" || m.type === "unread"))) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const same = { path, dev: info.dev, ino: info.ino! };
    const hex = [
      createHash("sha256").update(data.subarray(1000, 201_000)).digest("hex"),
      createHash("sha384").update(data.subarray(1000, 201_000))
        .update(data.subarray(250_000, 300_000)).digest("hex"),
    ];
    // Reading ahead of the hashing, and reading and hashing in turn, hash the same bytes.
    for (const readAhead of [true, false]) {
      sent.length = 0;
      await begin(1, same, readAhead);
      const progress = sent.filter((m) => m.type === "progress");
      assertEquals(progress.reduce((sum, m) => sum + (m as { bytes: number }).bytes, 0), 250_000);
      assertEquals(sent.at(-1), { type: "digests", job: 1, hex });
    }
    // Another inode at that path, no file at all, a symbolic link to the very file (not
    // followed), a FIFO (opened without blocking, then refused), or a range past the end: the
    // pool must read.
    sent.length = 0;
    await begin(2, { ...same, ino: same.ino + 1 });
    await begin(3, { ...same, path: `${dir}/missing` });
    await Deno.symlink(path, `${dir}/link`);
    await begin(4, { ...same, path: `${dir}/link` });
    const fifo = new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    ok(fifo.success);
    await begin(5, { ...same, path: `${dir}/fifo` });
    await Deno.truncate(path, 260_000);
    await begin(6, same);
    assertEquals(
      sent.map((m) => [m.type, m.job]),
      [2, 3, 4, 5, 6].map((job) => ["unread", job]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the pool lets the worker read the image, and reads itself when the worker cannot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  using pool = new HashPool({ size: 1, chunkSize: 8192 });
  try {
    const path = `${dir}/data.bin`;
    const data = bytes(100_000, random(31));
    await Deno.writeFile(path, data);
    const info = await Deno.stat(path);
    let reads = 0;
    let hashed = 0;
    const job = (ino: number) => ({
      hashes: ["sha256"],
      ranges: [{ offset: 10, size: 90_000, sinks: [0] }],
      file: { path, dev: info.dev, ino },
      read: (offset: number, into: Uint8Array) => {
        reads++;
        return Promise.resolve(into.set(data.subarray(offset, offset + into.length)));
      },
      onHashed: (n: number) => void (hashed += n),
    });
    const expected = [createHash("sha256").update(data.subarray(10, 90_010)).digest("hex")];
    assertEquals(await pool.hash(job(info.ino!)), expected);
    assertEquals([reads, hashed], [0, 90_000]);
    hashed = 0;
    assertEquals(await pool.hash(job(info.ino! + 1)), expected);
    ok(reads > 0);
    assertEquals(hashed, 90_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pool limited to N CPUs reads ahead only while fewer than N jobs run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-hash-pool-" });
  using pool = new HashPool({ size: 2, chunkSize: 8192 });
  try {
    const path = `${dir}/data.bin`;
    const data = bytes(200_000, random(7));
    await Deno.writeFile(path, data);
    const info = await Deno.stat(path);
    const started: (boolean | undefined)[] = [];
    const job = () => ({
      hashes: ["sha256"],
      ranges: [{ offset: 0, size: data.length, sinks: [0] }],
      file: { path, dev: info.dev, ino: info.ino! },
      read: () => Promise.reject(new Error("the worker reads this file itself")),
      onStarted: (readsAhead?: boolean) => void started.push(readsAhead),
    });
    const expected = [createHash("sha256").update(data).digest("hex")];
    // A lone job reads ahead on a second CPU, when the machine has one.
    assertEquals(await pool.hash(job()), expected);
    assertEquals(started, [navigator.hardwareConcurrency > 1]);
    // Limited to one CPU (`check -j 1`), it reads and hashes in turn.
    pool.limitCpus(1);
    assertEquals(await pool.hash(job()), expected);
    assertEquals(started.slice(1), [false]);
    // Limited to two: two jobs at once do not both read ahead.
    pool.limitCpus(2);
    started.length = 0;
    assertEquals(await Promise.all([pool.hash(job()), pool.hash(job())]), [expected, expected]);
    assertEquals(started.length, 2);
    ok(!started.every((readsAhead) => readsAhead), JSON.stringify(started));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runWhile calls its task once the hashing is under way, and reports both failures", async () => {
  await using temp = await tempDir("siftrust-hash-pool-");
  const path = `${temp.dir}/image.sif`;
  const data = bytes(200_000, random(41));
  (await createImage(path, { objects: [{ dataType: DataType.Generic, data }] })).close();
  using image = await SifImage.open(path);
  using pool = new HashPool({ size: 1, chunkSize: 4096 });
  const id = image.descriptors[0].id;
  const plan = new DigestPlan();
  plan.needObject(id, "sha256");
  let hashedBefore = -1;
  let hashed = 0;
  const answer = await plan.runWhile(
    image,
    (done) => void (hashed = done),
    { pool, poolMinBytes: 0 },
    () => {
      hashedBefore = hashed;
      return Promise.resolve("keys");
    },
  );
  assertEquals([answer, hashedBefore, hashed], ["keys", 0, data.length]);
  assertEquals(plan.objectDigest(id, "sha256"), createHash("sha256").update(data).digest("hex"));
  // The task's failure is thrown; the hashing's, when the task succeeds.
  const failing = new DigestPlan();
  failing.needObject(id, "sha256");
  await rejects(
    failing.runWhile(image, undefined, { pool, poolMinBytes: 0 }, () => {
      throw new TypeError("no keys");
    }),
    TypeError,
  );
  const closed = new HashPool();
  closed.close();
  await rejects(
    failing.runWhile(image, undefined, { pool: closed, poolMinBytes: 0 }, () => Promise.resolve()),
    (error) => error instanceof HashPoolError && error.kind === "closed",
  );
});

Deno.test("prestarted workers wait for their first job, and stop when none comes", async () => {
  const pool = new HashPool({ size: 2, idleMs: 20 });
  pool.prestart(5, 50);
  assertEquals(pool.workers, 2);
  const data = bytes(5000, random(51));
  assertEquals(
    await pool.hash({
      hashes: ["sha256"],
      ranges: [{ offset: 0, size: data.length, sinks: [0] }],
      read: (offset, into) =>
        Promise.resolve(into.set(data.subarray(offset, offset + into.length))),
    }),
    [createHash("sha256").update(data).digest("hex")],
  );
  assertEquals(pool.workers, 2);
  const unused = new HashPool({ size: 1 });
  unused.prestart(1, 30);
  assertEquals(unused.workers, 1);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assertEquals([pool.workers, unused.workers], [0, 0]);
  pool.close();
  unused.close();
  // A closed pool starts nothing.
  unused.prestart();
  assertEquals(unused.workers, 0);
});

Deno.test("an aborted job rejects within a chunk, and its worker takes the next job", async () => {
  await using temp = await tempDir("siftrust-hash-pool-");
  const path = `${temp.dir}/data.bin`;
  const data = bytes(200_000, random(61));
  await Deno.writeFile(path, data);
  const info = await Deno.stat(path);
  using pool = new HashPool({ size: 1, chunkSize: 4096 });
  const expected = [createHash("sha256").update(data).digest("hex")];
  const aborted = (error: unknown) => error instanceof DOMException && error.name === "AbortError";
  // Aborted as soon as the worker has it (which reads the file, or, given another inode, is
  // fed by the pool), or by the pool's third read: no chunk after the abort is hashed.
  for (const when of ["started", "started, fed", "third read, fed"]) {
    const controller = new AbortController();
    let hashed = 0;
    let reads = 0;
    const job = pool.hash({
      hashes: ["sha256"],
      ranges: [{ offset: 0, size: data.length, sinks: [0] }],
      file: { path, dev: info.dev, ino: info.ino! + (when.endsWith("fed") ? 1 : 0) },
      read: (offset, into) => {
        if (++reads === 3 && when.startsWith("third")) controller.abort();
        return Promise.resolve(into.set(data.subarray(offset, offset + into.length)));
      },
      onStarted: () => {
        if (when.startsWith("started")) controller.abort();
      },
      onHashed: (n) => void (hashed += n),
      signal: controller.signal,
    });
    await rejects(job, aborted, when);
    ok(hashed <= (when.startsWith("third") ? 3 * 4096 : 0), `${when}: ${hashed} bytes hashed`);
    assertEquals(pool.workers, 1, when);
    assertEquals(
      await pool.hash({
        hashes: ["sha256"],
        ranges: [{ offset: 0, size: data.length, sinks: [0] }],
        file: { path, dev: info.dev, ino: info.ino! },
        read: () => Promise.reject(new Error("the worker reads this file itself")),
      }),
      expected,
      when,
    );
  }
  // A job whose signal is aborted before it starts does not start.
  await rejects(
    pool.hash({
      hashes: ["sha256"],
      ranges: [{ offset: 0, size: 1, sinks: [0] }],
      read: () => Promise.reject(new Error("not read")),
      signal: AbortSignal.abort(),
    }),
    aborted,
  );
});

Deno.test("a pool adopts a worker started ahead, and stops one of another build", async () => {
  const data = bytes(100_000, random(71));
  const job = {
    hashes: ["sha256"],
    ranges: [{ offset: 0, size: data.length, sinks: [0] }],
    read: (offset: number, into: Uint8Array) =>
      Promise.resolve(into.set(data.subarray(offset, offset + into.length))),
  };
  const expected = [createHash("sha256").update(data).digest("hex")];
  using pool = new HashPool({ size: 1 });
  // A job sent before the worker has its code waits for it.
  ok(pool.adopt(startHashWorker()));
  assertEquals(pool.workers, 1);
  assertEquals(await pool.hash(job), expected);
  assertEquals(pool.workers, 1, "no other worker was started");
  // No room left, or code of another build: the worker is stopped, not taken.
  const extra = startHashWorker();
  ok(!pool.adopt(extra));
  const foreign = startHashWorker();
  using other = new HashPool({ size: 1 });
  ok(!other.adopt({ ...foreign, boot: `${foreign.boot}// another build\n` }));
  assertEquals(other.workers, 0);
  assertEquals(await other.hash(job), expected);
});
