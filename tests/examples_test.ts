/** The committed example image is exactly what `examples/make_example.ts` makes. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { makeExample } from "../examples/make_example.ts";
import { REPO_ROOT } from "./helpers/peers.ts";

Deno.test("examples/example.sif is reproducible from examples/make_example.ts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siftrust-example-" });
  try {
    await makeExample(`${dir}/example.sif`);
    assertEquals(
      await Deno.readFile(`${dir}/example.sif`),
      await Deno.readFile(`${REPO_ROOT}examples/example.sif`),
      "examples/example.sif is stale: run `deno run --allow-read=examples --allow-write=examples examples/make_example.ts`",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
