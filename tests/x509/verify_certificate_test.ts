/**
 * cli/verify_certificate.ts: the certificate options into a key, with Apptainer's messages and
 * the documented exit codes, against the openssl test PKI (no subprocess of siftrust).
 */

import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { CliError } from "../../cli/exit.ts";
import {
  addCertificateOptions,
  certificateKey,
  type CertificateOptions,
} from "../../cli/verify_certificate.ts";
import { peerTest } from "../helpers/peers.ts";
import { TestPki } from "../helpers/pki.ts";
import { fetchPost, read } from "./support.ts";

async function failure(options: CertificateOptions): Promise<[number, string]> {
  try {
    await certificateKey(options, fetchPost);
  } catch (error) {
    assert.ok(error instanceof CliError, String(error));
    return [error.exitCode, error.message];
  }
  assert.fail("accepted");
}

Deno.test("verify certificate options parse as Apptainer's flags", () => {
  const command = addCertificateOptions(new Command().exitOverride());
  command.parse([
    ...["--certificate", "leaf.pem", "--certificate-intermediates", "i.pem"],
    ...["--certificate-roots", "r.pem", "--ocsp-verify"],
  ], { from: "user" });
  assert.deepEqual(command.opts(), {
    certificate: "leaf.pem",
    certificateIntermediates: "i.pem",
    certificateRoots: "r.pem",
    ocspVerify: true,
  });
});

peerTest("verify certificate options: key, refusals and exit codes", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  const leaf = await pki.issue("Signer", { keyType: "ed25519" });
  const trusted = {
    certificate: leaf.cert,
    certificateIntermediates: pki.intermediate.cert,
    certificateRoots: pki.root.cert,
  };

  await t.step("no --certificate: no key", async () => {
    assert.equal(await certificateKey({}, fetchPost), undefined);
  });

  await t.step("a trusted certificate gives the leaf's key", async () => {
    const key = await certificateKey(trusted, fetchPost);
    assert.ok(key?.equals((await read(leaf.cert))[0].publicKey));
  });

  await t.step("unreadable or non-PEM files exit 2 with Apptainer's wording", async () => {
    const missing = `${pki.dir}/missing.pem`;
    assert.deepEqual(await failure({ ...trusted, certificate: missing }), [
      2,
      `Failed to load certificate: open ${missing}: no such file or directory`,
    ]);
    assert.deepEqual(await failure({ ...trusted, certificateRoots: leaf.key }), [
      2,
      'Failed to load root certificates: unexpected PEM block "PRIVATE KEY"',
    ]);
  });

  await t.step("an untrusted chain exits 1", async () => {
    assert.deepEqual(await failure({ ...trusted, certificateRoots: pki.otherRoot.cert }), [
      1,
      "Failed to verify container: x509: certificate signed by unknown authority",
    ]);
  });

  await t.step("OCSP failures exit 1 as Apptainer's", async () => {
    await pki.revoke(leaf.cert);
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);
    assert.deepEqual(await failure({ ...trusted, ocspVerify: true }), [
      1,
      "Failed to verify container: OCSP verification has failed",
    ]);
    assert.ok(await certificateKey(trusted, fetchPost), "without --ocsp-verify, no OCSP");
  });
});
