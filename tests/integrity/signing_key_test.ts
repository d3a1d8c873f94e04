/** Whether a secret key can sign at a given time, and if not why. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as openpgp from "openpgp";
import { signingKeyProblem } from "../../core/integrity/signing_key.ts";

const created = new Date("2024-01-01T00:00:00Z");
const hour = 3_600_000;

const { privateKey: key } = await openpgp.generateKey({
  type: "ecc",
  curve: "ed25519Legacy",
  userIDs: [{ name: "a", email: "a@example.org" }],
  date: created,
  keyExpirationTime: 24 * 3600,
  format: "object",
});

Deno.test("a key signs while valid; after its expiry it has expired", async () => {
  assertEquals(await signingKeyProblem(key, new Date(created.getTime() + hour)), undefined);
  assertEquals(await signingKeyProblem(key, new Date(created.getTime() + 25 * hour)), "expired");
});

Deno.test("a revoked key cannot sign", async () => {
  const { privateKey: revoked } = await openpgp.revokeKey({
    key,
    date: new Date(created.getTime() + hour),
    format: "object",
  });
  assertEquals(
    await signingKeyProblem(revoked, new Date(created.getTime() + 2 * hour)),
    "revoked",
  );
});

Deno.test("before its creation a key has no valid signing key", async () => {
  assertEquals(
    await signingKeyProblem(key, new Date(created.getTime() - hour)),
    "no-signing-key",
  );
});
