/**
 * Run by tests/integrity/hash_pool_permissions_test.ts with the shipped binary's permissions:
 * opens the image named by the first argument as `check` does, hashes its objects on the pool,
 * and prints, as JSON, how many chunks the calling thread had to read (none when the worker
 * read the file itself) and the digests.
 */

import { HashPool } from "../../core/integrity/hash_pool.ts";
import { openImageOnce } from "../../core/sif/mod.ts";

using file = openImageOnce(Deno.args[0]);
using image = await file.image();
using pool = new HashPool({ size: 1 });
let reads = 0;
const hex = await pool.hash({
  hashes: image.descriptors.map(() => "sha256"),
  ranges: image.descriptors.map((d, i) => ({ offset: d.offset, size: d.size, sinks: [i] })),
  file: await image.sameFile(),
  read: (offset, into) => {
    reads++;
    return image.readInto(offset, into);
  },
});
console.log(JSON.stringify({ reads, hex }));
