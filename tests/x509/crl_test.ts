/**
 * CRLs made by `openssl ca -gencrl` (tests/helpers/pki.ts).
 */

import assert from "node:assert/strict";
import { loadCrls, readCrl, verifyCertificate } from "../../core/x509/mod.ts";
import { peerTest } from "../helpers/peers.ts";
import { TestPki } from "../helpers/pki.ts";
import { read, refused } from "./support.ts";

async function withCrls(pki: TestPki, leaf: string, crls: string[]) {
  return await verifyCertificate({
    leaf: (await read(leaf))[0],
    intermediates: await read(pki.intermediate.cert),
    roots: await read(pki.root.cert),
    crls: await loadCrls(crls),
  });
}

peerTest("x509 CRLs: openssl ca -gencrl", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  const good = await pki.issue("Good");
  const revoked = await pki.issue("Revoked");
  const before = await pki.crl();
  await pki.revoke(revoked.cert);
  const pem = await pki.crl();
  const der = await pki.crl(pki.intermediate, { der: true });

  await t.step("a CRL lists the serials openssl revoked", async () => {
    const crl = readCrl(await Deno.readFile(pem));
    assert.deepEqual([...crl.revoked], [(await read(revoked.cert))[0].serial]);
    assert.equal(readCrl(await Deno.readFile(before)).revoked.size, 0);
  });

  await t.step("a certificate listed in a PEM or DER CRL is revoked", async () => {
    for (const crl of [pem, der]) {
      const message = await refused(withCrls(pki, revoked.cert, [crl]), "revoked");
      assert.match(message, /"Revoked".*"Siftrust Test Intermediate"/);
    }
  });

  await t.step(
    "a certificate not listed passes, as does one checked before revocation",
    async () => {
      await withCrls(pki, good.cert, [pem, der]);
      await withCrls(pki, revoked.cert, [before]);
    },
  );

  await t.step("the root's CRL can revoke the intermediate", async () => {
    const rootCrl = await pki.crl(pki.root);
    await withCrls(pki, good.cert, [rootCrl]);
    await pki.revoke(pki.intermediate.cert, pki.root);
    const message = await refused(withCrls(pki, good.cert, [await pki.crl(pki.root)]), "revoked");
    assert.match(message, /"Siftrust Test Intermediate" is revoked/);
  });

  await t.step("a CRL of another CA, expired or not yet valid is invalid", async () => {
    const other = await pki.crl(pki.otherRoot);
    const old = await pki.crl(pki.intermediate, {
      lastUpdate: "20200101000000Z",
      nextUpdate: "20210101000000Z",
    });
    const future = await pki.crl(pki.intermediate, {
      lastUpdate: "20990101000000Z",
      nextUpdate: "20991231000000Z",
    });
    const cases = [[other, /not signed by/], [old, /expired at 2021-01-01/], [future, /not yet/]];
    for (const [crl, reason] of cases as [string, RegExp][]) {
      assert.match(await refused(withCrls(pki, good.cert, [crl]), "crl-invalid"), reason);
    }
  });

  await t.step("a file that is not a CRL is invalid", async () => {
    await refused(withCrls(pki, good.cert, [good.cert]), "crl-invalid");
  });
});
