/**
 * A hashing worker reads the image itself under the permissions siftrust ships with (deno.json's
 * `siftrust` task), not only under `--allow-all`: Deno refuses some ways of reopening a file
 * (`/proc/self/fd/N`) without it, and the pool would then quietly read everything on the calling
 * thread. The digests are those of node:crypto over the file's bytes.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createHash } from "node:crypto";
import { createImage, DataType } from "../../core/sif/mod.ts";
import { PERMISSIONS } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";
import { REPO_ROOT } from "../helpers/peers.ts";

Deno.test("with the shipped permissions, the worker reads the image itself", async () => {
  await using temp = await tempDir("siftrust-pool-permissions-");
  const path = `${temp.dir}/image.sif`;
  const data = new Uint8Array(3 << 20);
  crypto.getRandomValues(data.subarray(0, 65536));
  data.copyWithin(65536, 0);
  (await createImage(path, {
    objects: [
      { dataType: DataType.Generic, data },
      { dataType: DataType.Generic, data: data.subarray(5, 70_000) },
    ],
  })).close();
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      `${REPO_ROOT}tests/integrity/pool_reads_script.ts`,
      path,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  assertEquals(result, { reads: 0, hex: [sha256(data), sha256(data.subarray(5, 70_000))] });
});
