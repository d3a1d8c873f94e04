/** The hint `verify` prints after failing for want of a key: by signature kind and key source. */

import { deepStrictEqual as assertEquals, match } from "node:assert/strict";
import type { SignatureCheck, VerifyFailure } from "../../core/integrity/mod.ts";
import { keyHintText } from "../../cli/render/verify_text.ts";

const FP = "8232570480B868E1473AEEB03DBCBA1EE9D661E5";

function check(format: "pgp" | "dsse", issuerKeyIds?: string[]): SignatureCheck {
  return { signature: { format }, issuerKeyIds } as unknown as SignatureCheck;
}

const missing: VerifyFailure = { kind: "key-unavailable", group: 1, signature: 3, fingerprint: FP };

Deno.test("keyHintText: DSSE wants --key; PGP with only --key wants the keyrings", () => {
  match(keyHintText({ ...missing, kind: "no-key-material" }, check("dsse"), []), /--key/);
  match(
    keyHintText({ ...missing, kind: "no-key-material" }, check("pgp"), undefined),
    /verify without --key/,
  );
});

Deno.test("keyHintText: a missing PGP key, with --local, no keyserver, or keyservers asked", () => {
  const pgp = check("pgp", ["3DBCBA1EE9D661E5"]);
  match(keyHintText(missing, pgp, undefined), /--local keeps keyservers out.*without --local$/);
  match(keyHintText(missing, pgp, []), /and no keyserver is configured/);
  assertEquals(
    keyHintText(missing, pgp, ["https://a.example", "https://b.example"]),
    `the signer's key 3DBCBA1EE9D661E5 (fingerprint ${FP}) is in none of the keyrings searched ` +
      "nor on the keyservers asked (https://a.example, https://b.example): import it with " +
      "`siftrust key import FILE` or `siftrust key pull FINGERPRINT`, or pass it with " +
      "--keyring FILE, or name a keyserver that has it with --url URL",
  );
  match(keyHintText({ ...missing, fingerprint: undefined }, check("pgp"), []), /key unknown is/);
});
