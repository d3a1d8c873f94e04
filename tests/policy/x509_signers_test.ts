/**
 * `key` and `certificate` signers in the policy (docs/policy.md, "Signers"), against a real
 * openssl PKI (tests/helpers/pki.ts): images signed with `siftrust sign --key` (DSSE) are
 * allowed by the signer whose key or certificate verifies them, and denied when the key is
 * another, the certificate is expired, lacks the code-signing EKU, chains to another root, is
 * revoked by a CRL or by a real `openssl ocsp` responder, or the signer's `expires` passed.
 */

import { deepStrictEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import {
  checkImage,
  decidingFiles,
  type ImageDecision,
  lintPolicy,
  loadPolicy,
  policyKeys,
  PolicyKeysError,
  policyYaml,
} from "../../policy/mod.ts";
import { parsePolicy } from "../../policy/load.ts";
import { effectivePolicy } from "../../policy/model.ts";
import { certificateValidUntil } from "../../policy/cache.ts";
import { cacheable } from "../../policy/cache.ts";
import type { OcspPost } from "../../core/x509/mod.ts";
import { runCli } from "../helpers/cli.ts";
import { type TestEnv, testEnv } from "../helpers/env.ts";
import { peerTest } from "../helpers/peers.ts";
import { openssl, type PkiCert, TestPki } from "../helpers/pki.ts";

const NO_ENV = { env: {}, uid: 0, euid: 0 };

/** An OCSP POST that must not be used. */
const NO_OCSP: OcspPost = () => Promise.reject(new Error("no OCSP expected"));

/** Copies the unsigned example image to `name` and signs it (DSSE) with a PEM private key. */
async function signedImage(work: TestEnv, name: string, key: string): Promise<string> {
  const image = `${work.dir}/${name}.sif`;
  await Deno.copyFile("examples/example.sif", image);
  const signed = await runCli(["sign", "--key", key, image], { env: work.env });
  equal(signed.code, 0, signed.stderr);
  return image;
}

/**
 * Writes a policy with one signer `site` (its YAML body) and no keyring or keyserver (no
 * network but OCSP), and returns its path.
 */
async function policyWith(work: TestEnv, name: string, signer: string[]): Promise<string> {
  const path = `${work.dir}/${name}.yaml`;
  await Deno.writeTextFile(
    path,
    [
      "version: 1",
      "signers:",
      "  site:",
      ...signer.map((line) => `    ${line}`),
      "keys: {local: false, keyservers: []}",
      "",
    ].join("\n"),
  );
  return path;
}

/** A certificate signer's YAML lines: the leaf, the test root and the intermediate. */
function certificateSigner(pki: TestPki, leaf: PkiCert, extra: string[] = []): string[] {
  return [
    "certificate:",
    `  file: ${leaf.cert}`,
    `  roots: ${pki.root.cert}`,
    `  intermediates: ${pki.intermediate.cert}`,
    ...extra.map((line) => `  ${line}`),
  ];
}

/** Decides `image` in-process under the policy file, OCSP through `ocsp`. */
async function decide(
  policyPath: string,
  image: string,
  options: { ocsp?: OcspPost; now?: Date; cacheDir?: string } = {},
): Promise<ImageDecision> {
  const policy = await loadPolicy(policyPath);
  const keys = await policyKeys(policy, NO_ENV, () => {
    throw new Error("asked for keyservers");
  }, { ocsp: options.ocsp ?? NO_OCSP, now: options.now });
  return (await checkImage(image, { policy, keys, now: options.now, cacheDir: options.cacheDir }))
    .decision;
}

/** `check --json` on one image: its exit code and the decision document. */
async function checkCli(work: TestEnv, policy: string, image: string) {
  const result = await runCli(["check", "--json", "--no-cache", "--policy", policy, image], {
    env: work.env,
  });
  const document = JSON.parse(result.stdout);
  return { code: result.code, stderr: result.stderr, result: document.results[0] };
}

/** The earliest notAfter of leaf, intermediate and root, as openssl reads them (ms). */
async function chainNotAfter(pki: TestPki, leaf: PkiCert): Promise<number> {
  const ends = await Promise.all([leaf.cert, pki.intermediate.cert, pki.root.cert].map(
    async (cert) => {
      const line = await openssl(["x509", "-in", cert, "-noout", "-enddate"]);
      return new Date(line.trim().replace(/^notAfter=/, "")).getTime();
    },
  ));
  return Math.min(...ends);
}

/** A PEM key pair made with openssl: the private key and its public half. */
async function keyPair(work: TestEnv, name: string): Promise<{ key: string; pub: string }> {
  const key = `${work.dir}/${name}.key`;
  const pub = `${work.dir}/${name}.pub.pem`;
  await openssl(["genpkey", "-algorithm", "ED25519", "-out", key]);
  await openssl(["pkey", "-in", key, "-pubout", "-out", pub]);
  return { key, pub };
}

peerTest("key: signers allow their own DSSE signatures only", ["openssl"], async (t) => {
  await using work = await testEnv("siftrust-x509-key-", { folders: true });
  const build = await keyPair(work, "build");
  const other = await keyPair(work, "other");
  const byBuild = await signedImage(work, "by-build", build.key);
  const byOther = await signedImage(work, "by-other", other.key);
  const policy = await policyWith(work, "key", ["key: build.pub.pem"]);

  await t.step("signed with that key: allow, exit 0, the signature reported", async () => {
    const { code, stderr, result } = await checkCli(work, policy, byBuild);
    equal(code, 0, stderr);
    equal(result.decision, "allow");
    const [signature] = result.signatures;
    equal(signature.type, "dsse");
    equal(signature.signerName, "site");
    match(signature.signer, /^SHA256:/);
    equal(signature.keySource, "key");
    equal(signature.authenticity, "ok");
    equal(signature.trusted, true);
  });

  await t.step("signed with another key: deny, exit 1, reported and ignored", async () => {
    const { code, result } = await checkCli(work, policy, byOther);
    equal(code, 1);
    equal(result.decision, "deny");
    const [signature] = result.signatures;
    equal(signature.authenticity, "unknown-key");
    equal(signature.signerName, null);
    match(signature.signer, /^SHA256:/);
    equal(signature.trusted, false);
  });

  await t.step(
    "a key signer and an image with only an OpenPGP signature: deny, exit 1",
    async () => {
      const { code, result } = await checkCli(work, policy, "examples/example-signed.sif");
      equal(code, 1);
      equal(result.decision, "deny");
      equal(result.signatures[0].type, "pgp");
      equal(result.signatures[0].trusted, false);
    },
  );

  await t.step("expires passed: deny", async () => {
    const expired = await policyWith(work, "key-expired", [
      "key: build.pub.pem",
      "expires: 2020-01-01",
    ]);
    const decision = await decide(expired, byBuild);
    equal(decision.decision, "deny");
    equal(decision.signatures[0].authenticity, "untrusted-signer");
    equal(decision.signatures[0].because.kind, "signer-expired");
  });

  await t.step(
    "a DSSE-signed image under a PGP-only policy: the signature is not checked",
    async () => {
      const pgpOnly = await policyWith(work, "pgp", [
        'fingerprint: "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A"',
      ]);
      const decision = await decide(pgpOnly, byBuild);
      equal(decision.decision, "deny");
      equal(decision.signatures[0].authenticity, "not-checked");
      ok(decision.hints.some((hint) => hint.kind === "dsse-ignored"));
    },
  );

  await t.step("two signers holding the same key in two files: exit 2", async () => {
    await Deno.copyFile(build.pub, `${work.dir}/copy.pub.pem`);
    const path = `${work.dir}/shared.yaml`;
    await Deno.writeTextFile(
      path,
      "version: 1\nsigners:\n  a: {key: build.pub.pem}\n  b: {key: copy.pub.pem}\n",
    );
    const result = await runCli(["check", "--policy", path, byBuild], { env: work.env });
    equal(result.code, 2, result.stderr);
    match(result.stderr, /signers a and b share the key SHA256:/);
  });

  await t.step("a key file that is missing or not a public key: exit 2", async () => {
    const missing = await policyWith(work, "missing", ["key: nowhere.pem"]);
    const result = await runCli(["check", "--policy", missing, byBuild], { env: work.env });
    equal(result.code, 2, result.stderr);
    match(result.stderr, /signer site: .*nowhere\.pem: no such file/);
    const notKey = await policyWith(work, "private", ["key: build.key"]);
    const policy = await loadPolicy(notKey);
    try {
      await policyKeys(policy, NO_ENV, () => {
        throw new Error("asked for keyservers");
      }, { ocsp: NO_OCSP });
      ok(false, "a private key file was taken as a public key");
    } catch (error) {
      ok(error instanceof PolicyKeysError);
      equal(error.kind, "signer");
      match(error.message, /not a PEM public key/);
    }
  });

  await t.step("a signer with both fingerprint and key: exit 2 with file:line:col", async () => {
    const both = await policyWith(work, "both", [
      'fingerprint: "98AB4AB73B0BC8A8CF8F05ED3E41C34BB55B761A"',
      "key: build.pub.pem",
    ]);
    const result = await runCli(["check", "--policy", both, byBuild], { env: work.env });
    equal(result.code, 2, result.stderr);
    match(
      result.stderr,
      /both\.yaml:4:5: a signer has exactly one of fingerprint, key or certificate/,
    );
  });
});

peerTest("certificate: signers trust a chain that verifies now", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  await using work = await testEnv("siftrust-x509-cert-", { folders: true });
  const leaf = await pki.issue("Build service");
  const image = await signedImage(work, "by-leaf", leaf.key);

  await t.step("a leaf that chains to the root: allow, exit 0, the subject reported", async () => {
    const policy = await policyWith(work, "cert", certificateSigner(pki, leaf));
    const { code, stderr, result } = await checkCli(work, policy, image);
    equal(code, 0, stderr);
    equal(result.decision, "allow");
    const [signature] = result.signatures;
    equal(signature.signer, "CN=Build service");
    equal(signature.signerName, "site");
    equal(signature.keySource, "certificate");
    equal(signature.certificate.ocsp, false);
  });

  await t.step("the same certificate, signed by another key: deny, exit 1", async () => {
    const other = await pki.issue("Someone else");
    const byOther = await signedImage(work, "by-other", other.key);
    const policy = await policyWith(work, "cert2", certificateSigner(pki, leaf));
    const { code, result } = await checkCli(work, policy, byOther);
    equal(code, 1);
    equal(result.signatures[0].authenticity, "unknown-key");
  });

  await t.step("a chain to another root: deny, exit 1", async () => {
    const policy = await policyWith(work, "other-root", [
      "certificate:",
      `  file: ${leaf.cert}`,
      `  roots: ${pki.otherRoot.cert}`,
      `  intermediates: ${pki.intermediate.cert}`,
    ]);
    const { code, result } = await checkCli(work, policy, image);
    equal(code, 1);
    equal(result.signatures[0].authenticity, "untrusted-signer");
    match(result.signatures[0].why, /certificate is not trusted now: .*unknown authority/);
  });

  await t.step("an expired leaf: deny, authenticity expired", async () => {
    const old = await pki.issue("Old build", {
      startDate: "20200101000000Z",
      endDate: "20210101000000Z",
    });
    const byOld = await signedImage(work, "by-old", old.key);
    const policy = await policyWith(work, "expired", certificateSigner(pki, old));
    const decision = await decide(policy, byOld);
    equal(decision.decision, "deny");
    equal(decision.signatures[0].authenticity, "expired");
    equal(decision.signatures[0].signerName, "site");
  });

  await t.step("a leaf without the code-signing EKU: deny", async () => {
    const server = await pki.issue("Web server", { eku: ["serverAuth"] });
    const byServer = await signedImage(work, "by-server", server.key);
    const policy = await policyWith(work, "no-eku", certificateSigner(pki, server));
    const decision = await decide(policy, byServer);
    equal(decision.decision, "deny");
    const because = decision.signatures[0].because;
    ok(because.kind === "certificate-refused" && because.problem === "no-code-signing-eku");
  });

  await t.step("expires passed: deny though the chain verifies", async () => {
    const policy = await policyWith(work, "cert-expires", [
      ...certificateSigner(pki, leaf),
      "expires: 2020-01-01",
    ]);
    const decision = await decide(policy, image);
    equal(decision.decision, "deny");
    equal(decision.signatures[0].because.kind, "signer-expired");
  });

  await t.step("a cached allow ends at the chain's earliest notAfter", async () => {
    const policy = await policyWith(work, "cert-cache", certificateSigner(pki, leaf));
    const decision = await decide(policy, image);
    equal(certificateValidUntil(decision), await chainNotAfter(pki, leaf));
    ok(cacheable(decision));
  });
});

peerTest("certificate: revocation by CRL and by a real OCSP responder", ["openssl"], async (t) => {
  await using pki = await TestPki.create();
  await using work = await testEnv("siftrust-x509-revoke-", { folders: true });
  const leaf = await pki.issue("Build service");
  const image = await signedImage(work, "by-leaf", leaf.key);

  await t.step(
    "a current CRL that does not list the leaf: allow, cached until its nextUpdate",
    async () => {
      const crl = await pki.crl(pki.intermediate, {
        lastUpdate: "20250101000000Z",
        nextUpdate: "20991231000000Z",
      });
      const policy = await policyWith(
        work,
        "crl-ok",
        certificateSigner(pki, leaf, [`crls: [${crl}]`]),
      );
      const cacheDir = `${work.dir}/cache`;
      const decision = await decide(policy, image, { cacheDir, now: new Date() });
      equal(decision.decision, "allow");
      const end = Math.min(await chainNotAfter(pki, leaf), Date.parse("2099-12-31T00:00:00Z"));
      equal(certificateValidUntil(decision), end);
    },
  );

  await t.step("a CRL (openssl ca -gencrl) that lists the leaf: deny, revoked", async () => {
    await pki.revoke(leaf.cert);
    const crl = await pki.crl();
    const policy = await policyWith(work, "crl", certificateSigner(pki, leaf, [`crls: [${crl}]`]));
    const decision = await decide(policy, image);
    equal(decision.decision, "deny");
    equal(decision.signatures[0].authenticity, "revoked");
  });

  const good = await pki.issue("Good build");
  const byGood = await signedImage(work, "by-good", good.key);
  const { ocspOverHttp } = await import("../../core/x509/mod.ts");

  await t.step("OCSP says good: allow, and the decision is not cached", async () => {
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);
    const policy = await policyWith(
      work,
      "ocsp-good",
      certificateSigner(pki, good, ["ocsp: true"]),
    );
    const decision = await decide(policy, byGood, { ocsp: ocspOverHttp });
    equal(decision.decision, "allow");
    equal(decision.signatures[0].certificate?.ocsp, true);
    equal(cacheable(decision), false);
  });

  await t.step("OCSP says revoked: deny, exit 1", async () => {
    await using _root = await pki.startOcsp(pki.root);
    await using _intermediate = await pki.startOcsp(pki.intermediate);
    const policy = await policyWith(
      work,
      "ocsp-revoked",
      certificateSigner(pki, leaf, ["ocsp: true"]),
    );
    const { code, result } = await checkCli(work, policy, image);
    equal(code, 1);
    equal(result.signatures[0].authenticity, "revoked");
  });

  await t.step("OCSP unreachable: deny, exit 4 (key unavailable), not cached", async () => {
    const policy = await policyWith(
      work,
      "ocsp-down",
      certificateSigner(pki, good, ["ocsp: true"]),
    );
    const { code, result } = await checkCli(work, policy, byGood);
    equal(code, 4);
    equal(result.signatures[0].authenticity, "key-unavailable");
    match(result.signatures[0].why, /certificate is not trusted now/);
    ok(result.hints.some((hint: string) => /OCSP responder of site's certificate/.test(hint)));
  });

  await t.step("an OCSP POST that fails counts as key-unavailable (in-process)", async () => {
    const policy = await policyWith(
      work,
      "ocsp-fail",
      certificateSigner(pki, good, ["ocsp: true"]),
    );
    const decision = await decide(policy, byGood, {
      ocsp: () => Promise.reject(new Error("connection refused")),
    });
    equal(decision.decision, "deny");
    equal(decision.keyUnavailable, true);
    equal(decision.signatures[0].authenticity, "key-unavailable");
    ok(decision.hints.some((hint) => hint.kind === "ocsp-unreachable" && hint.signer === "site"));
    equal(cacheable(decision), false);
  });

  await t.step("decidingFiles lists the signer's certificate, roots and CRL files", async () => {
    const crl = await pki.crl();
    const policy = await loadPolicy(
      await policyWith(work, "files", certificateSigner(pki, good, [`crls: [${crl}]`])),
    );
    const files = decidingFiles(policy, () => undefined);
    for (const file of [good.cert, pki.root.cert, pki.intermediate.cert, crl]) {
      ok(files.includes(file), `${file} is not among ${files}`);
    }
  });

  await t.step("without ocsp: no responder is asked", async () => {
    const policy = await policyWith(work, "no-ocsp", certificateSigner(pki, good));
    const decision = await decide(policy, byGood);
    assertEquals([decision.decision, decision.signatures[0].certificate?.ocsp], ["allow", false]);
  });
});

// ---------------------------------------------------------------------------------------------
// no PKI needed

/** A verdict of a DSSE signature by certificate signer `site`, as the cache sees it. */
function certificateDecision(
  certificate: { trustedUntil: string | null; ocsp: boolean },
  trusted = true,
): ImageDecision {
  return {
    image: "/i.sif",
    decision: trusted ? "allow" : "deny",
    mode: "enforce",
    keyUnavailable: false,
    rule: "default",
    reasons: [],
    signatures: [{
      id: 3,
      type: "dsse",
      group: 1,
      object: null,
      objects: [1],
      signer: "CN=Build",
      signerName: "site",
      keySource: "certificate",
      integrity: "ok",
      authenticity: trusted ? "ok" : "untrusted-signer",
      trusted,
      because: trusted ? { kind: "trusted", signer: "site" } : { kind: "unknown-key" },
      certificate: { subject: "CN=Build", ...certificate },
    }],
    requirements: [],
    hints: [],
  };
}

Deno.test("certificateValidUntil: the earliest end of the trusted signatures' chains", () => {
  const until = "2031-02-03T04:05:06.000Z";
  equal(
    certificateValidUntil(certificateDecision({ trustedUntil: until, ocsp: false })),
    Date.parse(until),
  );
  equal(
    certificateValidUntil(certificateDecision({ trustedUntil: null, ocsp: false }, false)),
    null,
  );
});

Deno.test("cacheable: not a decision that relied on OCSP; a DSSE unknown key is no network", () => {
  equal(cacheable(certificateDecision({ trustedUntil: null, ocsp: true })), false);
  equal(cacheable(certificateDecision({ trustedUntil: null, ocsp: false })), true);
  const unknown = certificateDecision({ trustedUntil: null, ocsp: false }, false);
  unknown.signatures[0] = { ...unknown.signatures[0], authenticity: "unknown-key" };
  delete unknown.signatures[0].certificate;
  equal(cacheable(unknown), true);
});

Deno.test("key and certificate signers survive policy show: its YAML loads as the same signers", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "siftrust-x509-show-" }));
  try {
    await Deno.writeTextFile(
      `${dir}/p.yaml`,
      "version: 1\nsigners:\n  a: {key: a.pem, expires: 2030-01-01}\n" +
        "  b: {certificate: {file: b.pem, roots: ca.pem, crls: [ca.crl], ocsp: true}}\n",
    );
    const policy = await loadPolicy(`${dir}/p.yaml`);
    const again = parsePolicy(policyYaml(policy), "shown.yaml");
    assertEquals(again.signers, {
      a: { key: `${dir}/a.pem`, expires: "2030-01-01" },
      b: {
        certificate: {
          file: `${dir}/b.pem`,
          roots: `${dir}/ca.pem`,
          ocsp: true,
          crls: [`${dir}/ca.crl`],
        },
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lint: an offline policy of key signers only is not short of key material", () => {
  const codes = (text: string) =>
    lintPolicy(effectivePolicy(parsePolicy(text, "p.yaml"), "/p.yaml", "0", "/"), new Date())
      .map((warning) => warning.code);
  const keyOnly = "version: 1\nsigners:\n  a: {key: /k.pem}\nkeys: {offline: true, local: false}\n";
  equal(codes(keyOnly).includes("no-key-material"), false);
  const pgp = keyOnly.replace("{key: /k.pem}", `{fingerprint: "${"AB".repeat(20)}"}`);
  equal(codes(pgp).includes("no-key-material"), true);
});
