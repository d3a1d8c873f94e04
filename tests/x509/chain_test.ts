/**
 * Chain building and checks against a PKI made by openssl (tests/helpers/pki.ts).
 */

import assert from "node:assert/strict";
import {
  loadCertificates,
  readCertificates,
  SYSTEM_ROOTS_PATH,
  verifyCertificate,
} from "../../core/x509/mod.ts";
import { readPemPrivateKey, signEnvelope, verifyEnvelope } from "../../core/integrity/dsse.ts";
import { existsSync, peerTest } from "../helpers/peers.ts";
import { read, refused } from "./support.ts";
import { openssl, type PkiCa, TestPki } from "../helpers/pki.ts";

async function trust(pki: TestPki, leaf: string, roots: PkiCa = pki.root, at?: Date) {
  return await verifyCertificate({
    leaf: (await read(leaf))[0],
    intermediates: await read(pki.intermediate.cert),
    roots: await read(roots.cert),
    at,
  });
}

/** notAfter as openssl prints it, for comparison with ours. */
async function opensslEndDate(cert: string): Promise<Date> {
  const line = await openssl(["x509", "-in", cert, "-noout", "-enddate"]);
  return new Date(line.trim().replace(/^notAfter=/, ""));
}

peerTest("x509 chains: openssl PKI", ["openssl"], async (t) => {
  await using pki = await TestPki.create();

  await t.step("root → intermediate → leaf with code signing verifies", async () => {
    const leaf = await pki.issue("Signer", { endDate: "20300101000000Z" });
    const trusted = await trust(pki, leaf.cert);
    assert.deepEqual(trusted.chain.map((c) => c.name), [
      "Signer",
      "Siftrust Test Intermediate",
      "Siftrust Test Root",
    ]);
    const ends = await Promise.all([leaf.cert, pki.intermediate.cert, pki.root.cert].map(
      opensslEndDate,
    ));
    assert.deepEqual(trusted.notAfter, new Date(Math.min(...ends.map((d) => d.getTime()))));
    assert.deepEqual(trusted.ocsp, []);
  });

  for (const keyType of ["rsa", "p256", "p384", "ed25519"] as const) {
    await t.step(`${keyType} leaf: its key verifies DSSE made with its private key`, async () => {
      const leaf = await pki.issue(`Signer ${keyType}`, { keyType });
      const trusted = await trust(pki, leaf.cert);
      const payload = new TextEncoder().encode(`{"signed":"${keyType}"}`);
      const privateKey = readPemPrivateKey(await Deno.readTextFile(leaf.key));
      const envelope = signEnvelope(payload, privateKey);
      assert.deepEqual(verifyEnvelope(envelope, [trusted.publicKey]).payload, payload);
    });
  }

  await t.step("a key that did not make the signature does not verify it", async () => {
    const leaf = await pki.issue("Signer A");
    const other = await pki.issue("Signer B");
    const trusted = await trust(pki, leaf.cert);
    const envelope = signEnvelope(
      new TextEncoder().encode("{}"),
      readPemPrivateKey(await Deno.readTextFile(other.key)),
    );
    assert.throws(() => verifyEnvelope(envelope, [trusted.publicKey]));
  });

  await t.step("an expired leaf is refused", async () => {
    const leaf = await pki.issue("Old", {
      startDate: "20200101000000Z",
      endDate: "20210101000000Z",
    });
    const message = await refused(trust(pki, leaf.cert), "expired");
    assert.ok(message.endsWith("is after 2021-01-01T00:00:00Z"), message);
    // In 2020 the leaf was valid but the intermediate (made now) was not yet.
    await refused(
      trust(pki, leaf.cert, pki.root, new Date("2020-06-01T00:00:00Z")),
      "not-yet-valid",
    );
  });

  await t.step("a leaf not yet valid is refused", async () => {
    const leaf = await pki.issue("Future", { startDate: "20990101000000Z" });
    await refused(trust(pki, leaf.cert), "not-yet-valid");
  });

  await t.step("a leaf without code signing is refused", async () => {
    const none = await pki.issue("No EKU", { eku: [] });
    const server = await pki.issue("TLS", { eku: ["serverAuth"] });
    const any = await pki.issue("Any", { eku: ["anyExtendedKeyUsage"] });
    await refused(trust(pki, none.cert), "no-code-signing-eku");
    const message = await refused(trust(pki, server.cert), "no-code-signing-eku");
    assert.deepEqual(message, "x509: certificate specifies an incompatible key usage");
    await trust(pki, any.cert);
  });

  await t.step("a leaf of another root, or without its intermediate, is untrusted", async () => {
    const stranger = await pki.issue("Stranger", {}, pki.otherRoot);
    const message = await refused(trust(pki, stranger.cert), "untrusted-root");
    assert.deepEqual(message, "x509: certificate signed by unknown authority");
    await trust(pki, stranger.cert, pki.otherRoot);
    const leaf = await pki.issue("Lonely");
    await refused(
      verifyCertificate({ leaf: (await read(leaf.cert))[0], roots: await read(pki.root.cert) }),
      "untrusted-root",
    );
  });

  await t.step("an intermediate with the right name but another key is refused", async () => {
    const impostor = await pki.issue("Siftrust Test Intermediate", { ca: true });
    const leaf = await pki.issue("Signer");
    await refused(
      verifyCertificate({
        leaf: (await read(leaf.cert))[0],
        intermediates: await read(impostor.cert),
        roots: await read(pki.root.cert),
      }),
      "bad-chain-signature",
    );
  });

  await t.step("issuers must be CAs within their validity", async () => {
    const notCa = await pki.addCa("notca", "Not A CA", { ca: false });
    const expired = await pki.addCa("expired", "Expired CA", {
      startDate: "20200101000000Z",
      endDate: "20210101000000Z",
    });
    for (const [ca, kind] of [[notCa, "not-ca"], [expired, "expired"]] as const) {
      const leaf = await pki.issue(`Leaf of ${ca.name}`, {}, ca);
      const message = await refused(
        verifyCertificate({
          leaf: (await read(leaf.cert))[0],
          intermediates: await read(ca.cert),
          roots: await read(pki.root.cert),
        }),
        kind,
      );
      assert.ok(message.includes(`candidate authority certificate "${await nameOf(ca)}"`), message);
    }
  });

  await t.step("a critical extension nobody knows is refused", async () => {
    const leaf = await pki.issue("Strange", { unknownCritical: true });
    const message = await refused(trust(pki, leaf.cert), "unhandled-critical-extension");
    assert.equal(message, "x509: unhandled critical extension (1.3.6.1.4.1.55555.1)");
  });

  await t.step("a PEM file without certificates is refused", () => {
    assert.throws(() => readCertificates("hello\n"), {
      name: "X509Error",
      kind: "bad-certificate",
      message: "failed to decode PEM",
    });
  });

  await t.step("the system roots do not trust the test PKI", async () => {
    if (!existsSync(SYSTEM_ROOTS_PATH)) return;
    const leaf = await pki.issue("Signer");
    await refused(
      verifyCertificate({
        leaf: (await read(leaf.cert))[0],
        intermediates: await read(pki.intermediate.cert),
        roots: await loadCertificates(),
      }),
      "untrusted-root",
    );
  });
});

async function nameOf(ca: PkiCa): Promise<string> {
  return (await read(ca.cert))[0].name;
}

Deno.test({
  name: "x509: the system roots bundle loads",
  ignore: !existsSync(SYSTEM_ROOTS_PATH),
  fn: async () => {
    const roots = await loadCertificates();
    assert.ok(roots.length > 10, `${roots.length} roots`);
  },
});
