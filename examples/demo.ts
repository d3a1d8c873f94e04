/**
 * The demo (`deno task demo`): one site policy, two images. `siftrust check --explain` allows
 * the signed example image and denies the unsigned one, and says why each time.
 *
 * The deny exits 1, as it should; this script runs both checks, explains each exit code, and
 * itself exits 0 when both came out as expected (1 otherwise). No network, no keyserver: the
 * policy (`examples/site.yaml`) reads the example key from a file and is `offline`.
 *
 * @module
 */

import { main } from "../cli/main.ts";

const POLICY = "examples/site.yaml";

const CASES = [
  {
    image: "examples/example-signed.sif",
    expected: 0,
    meaning: "ALLOW: signed by example-demo, a signer the policy trusts",
  },
  {
    image: "examples/example.sif",
    expected: 1,
    meaning:
      "DENY, as expected: the image has no signature. In a job script, `siftrust check … || exit 1` stops here",
  },
];

Deno.chdir(new URL("../", import.meta.url));
console.log(
  `siftrust demo: the policy ${POLICY} trusts one signer, the example key (a throw-away demo key:\n` +
    "never trust it outside this demo). Two images are checked against it.\n",
);
let surprises = 0;
for (const { image, expected, meaning } of CASES) {
  const args = ["check", "--explain", "--policy", POLICY, image];
  console.log(`$ siftrust ${args.join(" ")}`);
  const code = await main(args);
  if (code === expected) {
    console.log(`-> exit code ${code}: ${meaning}\n`);
  } else {
    console.log(`-> exit code ${code}, but ${expected} was expected: the demo did not work\n`);
    surprises++;
  }
}
console.log(
  surprises === 0
    ? "Both decisions came out as expected. Read docs/policy.md to write your own policy."
    : "Something is wrong: please report it.",
);
Deno.exit(surprises === 0 ? 0 : 1);
