/**
 * `siftrust verify --certificate …` end to end: an image signed (DSSE) with a leaf's key from a
 * real openssl PKI verifies through the chain, and every refusal exits as documented. OCSP
 * goes to real `openssl ocsp` responders on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { runCli } from "../helpers/cli.ts";
import { testEnv } from "../helpers/env.ts";
import { peerTest } from "../helpers/peers.ts";
import { type PkiKeyType, TestPki } from "../helpers/pki.ts";

peerTest("verify --certificate: chain, wrong root, wrong key, OCSP", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  await using work = await testEnv("siftrust-verify-cert-", { folders: true });
  const env = work.env;
  const chain = (cert: string) => [
    ...["--certificate", cert, "--certificate-intermediates", pki.intermediate.cert],
    ...["--certificate-roots", pki.root.cert],
  ];

  for (const keyType of ["rsa", "p256", "p384", "ed25519"] as PkiKeyType[]) {
    await t.step(`a ${keyType} leaf's signature verifies through the chain`, async () => {
      const leaf = await pki.issue(`Signer ${keyType}`, { keyType });
      const image = `${work.dir}/${keyType}.sif`;
      await Deno.copyFile("examples/example.sif", image);
      const signed = await runCli(["sign", "--key", leaf.key, image], { env });
      assert.equal(signed.code, 0, signed.stderr);
      const verified = await runCli(["verify", ...chain(leaf.cert), image], { env });
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(verified.stderr, /Verifying image with key material from certificate/);
      assert.match(verified.stderr, /Verified signature\(s\) from image/);
    });
  }

  const leaf = await pki.issue("Signer", { keyType: "p256" });
  const image = `${work.dir}/signed.sif`;
  await Deno.copyFile("examples/example.sif", image);
  assert.equal((await runCli(["sign", "--key", leaf.key, image], { env })).code, 0);

  await t.step("a chain to another root exits 1", async () => {
    const result = await runCli([
      "verify",
      ...["--certificate", leaf.cert, "--certificate-roots", pki.otherRoot.cert],
      image,
    ], { env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /certificate signed by unknown authority/);
  });

  await t.step("a trusted certificate whose key did not sign exits 1", async () => {
    const other = await pki.issue("Someone else", { keyType: "p256" });
    const result = await runCli(["verify", ...chain(other.cert), image], { env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Failed to verify container/);
  });

  await t.step("a leaf without the code-signing EKU exits 1", async () => {
    const noEku = await pki.issue("No EKU", { keyType: "p256", eku: ["serverAuth"] });
    const unsigned = `${work.dir}/no-eku.sif`;
    await Deno.copyFile("examples/example.sif", unsigned);
    assert.equal((await runCli(["sign", "--key", noEku.key, unsigned], { env })).code, 0);
    const result = await runCli(["verify", ...chain(noEku.cert), unsigned], { env });
    assert.equal(result.code, 1, result.stderr);
  });

  await t.step("--ocsp-verify: good passes, revoked fails", async () => {
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);
    const good = await runCli(["verify", "--ocsp-verify", ...chain(leaf.cert), image], { env });
    assert.equal(good.code, 0, good.stderr);
    await pki.revoke(leaf.cert);
  });

  await t.step("--ocsp-verify after revocation exits 1", async () => {
    // openssl ocsp reads its index at start: a fresh responder sees the revocation.
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);
    const revoked = await runCli(["verify", "--ocsp-verify", ...chain(leaf.cert), image], { env });
    assert.equal(revoked.code, 1, revoked.stderr);
    assert.match(revoked.stderr, /OCSP verification has failed/);
    const offline = await runCli(["verify", ...chain(leaf.cert), image], { env });
    assert.equal(offline.code, 0, "without --ocsp-verify no responder is asked");
  });
});
