/**
 * OCSP against real `openssl ocsp` responders on 127.0.0.1 (tests/helpers/pki.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkOcsp,
  OCSP_CLOCK_SKEW_MS,
  ocspRequest,
  verifyCertificate,
} from "../../core/x509/mod.ts";
import { peerTest } from "../helpers/peers.ts";
import { openssl, type PkiCa, TestPki } from "../helpers/pki.ts";
import { fetchPost, read, refused } from "./support.ts";

async function withOcsp(pki: TestPki, leaf: string, intermediates: PkiCa = pki.intermediate) {
  return await verifyCertificate({
    leaf: (await read(leaf))[0],
    intermediates: await read(intermediates.cert),
    roots: await read(pki.root.cert),
    ocsp: fetchPost,
  });
}

peerTest("x509 OCSP: openssl ocsp responders", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  const good = await pki.issue("Good");
  const revoked = await pki.issue("Revoked");
  const forgotten = await pki.issue("Forgotten");
  const noAia = await pki.issue("No AIA", { noAia: true });
  await pki.revoke(revoked.cert);
  // A serial missing from the responder's index is "unknown" to it.
  const index = join(pki.intermediate.dir, "index.txt");
  const serial = (await openssl(["x509", "-in", forgotten.cert, "-noout", "-serial"]))
    .trim().replace(/^serial=/, "");
  const lines = (await Deno.readTextFile(index)).split("\n");
  await Deno.writeTextFile(index, lines.filter((l) => l.split("\t")[3] !== serial).join("\n"));

  await t.step("the request is one SHA-1 CertID openssl reads back", async () => {
    const [leaf] = await read(good.cert);
    const [issuer] = await read(pki.intermediate.cert);
    const file = join(pki.dir, "request.der");
    await Deno.writeFile(file, ocspRequest(leaf, issuer));
    const text = await openssl(["ocsp", "-reqin", file, "-req_text"]);
    assert.match(text, /Hash Algorithm: sha1/);
    assert.match(text, new RegExp(`Serial Number: ${leaf.serial.toString(16).toUpperCase()}`));
    const referenceFile = join(pki.dir, "reference.der");
    await openssl([
      "ocsp",
      "-issuer",
      pki.intermediate.cert,
      "-cert",
      good.cert,
      "-reqout",
      referenceFile,
    ]);
    const reference = await openssl(["ocsp", "-reqin", referenceFile, "-req_text"]);
    const ids = (s: string) => s.match(/Issuer (Name|Key) Hash: \w+/g);
    assert.equal(ids(text)?.length, 2);
    assert.deepEqual(ids(text), ids(reference));
  });

  await t.step("without a responder running, OCSP is unreachable", async () => {
    await refused(withOcsp(pki, good.cert), "ocsp-unreachable");
  });

  {
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);

    await t.step("a good leaf and intermediate pass (CA-signed answers)", async () => {
      const trusted = await withOcsp(pki, good.cert);
      assert.deepEqual(trusted.ocsp.map((g) => g.subject), [
        "CN=Good",
        "CN=Siftrust Test Intermediate",
      ]);
      assert.deepEqual(trusted.ocsp.map((g) => g.url), [
        `http://127.0.0.1:${pki.intermediate.ocspPort}`,
        `http://127.0.0.1:${pki.root.ocspPort}`,
      ]);
    });

    await t.step("a revoked leaf is refused", async () => {
      const message = await refused(withOcsp(pki, revoked.cert), "revoked");
      assert.match(message, /"Revoked".*Revocation reason code: '1'/);
    });

    await t.step("a leaf the responder does not know is refused", async () => {
      await refused(withOcsp(pki, forgotten.cert), "ocsp-unknown");
    });

    await t.step("a leaf without an OCSP URL is refused", async () => {
      await refused(withOcsp(pki, noAia.cert), "ocsp-no-responder");
    });

    await t.step("answers that are garbage or for another certificate are refused", async () => {
      const chain = [(await read(good.cert))[0], (await read(pki.intermediate.cert))[0]];
      const garbage = () => Promise.resolve(new Uint8Array([1, 2, 3]));
      await refused(checkOcsp(chain, { post: garbage }), "ocsp-invalid");
      const other = (await read(revoked.cert))[0];
      const replay = async (url: string, _body: Uint8Array, type: string) =>
        await fetchPost(url, ocspRequest(other, chain[1]), type);
      await refused(checkOcsp(chain, { post: replay }), "ocsp-invalid");
    });

    await t.step("an answer made after the time of the check is unreliable", async () => {
      const chain = [(await read(good.cert))[0], (await read(pki.intermediate.cert))[0]];
      const past = new Date(Date.now() - OCSP_CLOCK_SKEW_MS - 60_000);
      const message = await refused(
        checkOcsp(chain, { post: fetchPost, now: past }),
        "ocsp-invalid",
      );
      assert.match(message, /unreliable OCSP response/);
    });

    await t.step(
      "an answer made within the clock skew after the time of the check is taken",
      async () => {
        // verifyCertificate takes its time before it sends the request: openssl ocsp's thisUpdate
        // (whole seconds) may be a second past it.
        const chain = [(await read(good.cert))[0], (await read(pki.intermediate.cert))[0]];
        const before = new Date(Date.now() - 2_000);
        const answered = await checkOcsp(chain, { post: fetchPost, now: before });
        assert.equal(answered.length, 1);
      },
    );
  }

  await t.step("a delegated responder with OCSP signing and nocheck is accepted", async () => {
    const responder = await pki.issue("Responder", { eku: ["OCSPSigning"], ocspNoCheck: true });
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate, responder);
    const trusted = await withOcsp(pki, good.cert);
    assert.equal(trusted.ocsp.length, 2);
    await refused(withOcsp(pki, revoked.cert), "revoked");
  });

  await t.step("a delegated responder without nocheck is itself checked", async () => {
    const responder = await pki.issue("Checked Responder", { eku: ["OCSPSigning"] });
    await pki.revoke(responder.cert);
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate, responder);
    const message = await refused(withOcsp(pki, good.cert), "revoked");
    assert.match(message, /"Checked Responder"/);
  });

  await t.step("a responder the issuer did not certify for OCSP is rejected", async () => {
    const signer = await pki.issue("Not A Responder");
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate, signer);
    const message = await refused(withOcsp(pki, good.cert), "ocsp-invalid");
    assert.match(message, /ocsp response is rejected/);
  });
});
