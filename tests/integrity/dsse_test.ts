/**
 * DSSE envelopes: detection, byte-exact signing against the reference vectors, SSH key IDs,
 * verification (threshold 1, keyid skip rule, base64 alphabets, trailing whitespace), the
 * three key types, PEM key reading, and malformed input that must only ever raise DsseError.
 */

import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import {
  DSSE_PAYLOAD_TYPE,
  DsseError,
  dsseKeyId,
  envelopeKeyIds,
  isDsseEnvelope,
  preAuthEncoding,
  readEnvelopePayload,
  readPemPrivateKey,
  readPemPublicKey,
  signEnvelope,
  verifyEnvelope,
} from "../../core/integrity/dsse.ts";
import { DataType, SifImage } from "../../core/sif/mod.ts";
import { peerTest, SHARED_VECTORS } from "../helpers/peers.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const THRESHOLD = "dsse: verify envelope failed: accepted signatures do not match threshold, " +
  "Found: 0, Expected 1";

async function signatureObjects(file: string): Promise<Uint8Array[]> {
  using image = await SifImage.open(SHARED_VECTORS + file);
  const signatures = image.descriptors.filter((d) => d.dataType === DataType.Signature);
  return await Promise.all(signatures.map((d) => image.objectData(d)));
}

function publicKey(file: string): KeyObject {
  return readPemPublicKey(Deno.readTextFileSync(SHARED_VECTORS + file));
}

/** The vector envelope of one-group-signed-dsse.sif and the three test public keys. */
async function oneGroup() {
  const [bytes] = await signatureObjects("one-group-signed-dsse.sif");
  return {
    bytes,
    ed: publicKey("ed25519-public.pem"),
    rsa: publicKey("rsa-public.pem"),
    ecdsa: publicKey("ecdsa-public.pem"),
  };
}

interface EnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** Applies `change` to the parsed envelope and serializes it again. */
function edit(bytes: Uint8Array, change: (envelope: EnvelopeJson) => void): Uint8Array {
  const envelope = JSON.parse(decode(bytes));
  change(envelope);
  return encode(JSON.stringify(envelope));
}

function flipByte(base64: string, index: number): string {
  const bytes = Uint8Array.fromBase64(base64);
  bytes[index] ^= 0x01;
  return bytes.toBase64();
}

function toUrlSafe(base64: string): string {
  return base64.replaceAll("+", "-").replaceAll("/", "_");
}

function assertDsseError(fn: () => unknown, message?: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DsseError, `expected DsseError, got ${error}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    assert.ok(!error.message.includes("\n"), "one-line message");
    return true;
  });
}

function newEnvelope(payload: Uint8Array, signatures: { keyid: string; sig: Uint8Array }[]) {
  return encode(JSON.stringify({
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: payload.toBase64(),
    signatures: signatures.map(({ keyid, sig }) => ({ keyid, sig: sig.toBase64() })),
  }));
}

peerTest(
  "isDsseEnvelope: true for every signature object of the DSSE vectors",
  [SHARED_VECTORS],
  async () => {
    for (const file of ["one-group-signed-dsse.sif", "two-groups-signed-dsse.sif"]) {
      const objects = await signatureObjects(file);
      assert.equal(objects.length, file.startsWith("one") ? 1 : 2);
      for (const bytes of objects) assert.equal(isDsseEnvelope(bytes), true, file);
    }
  },
);

peerTest("isDsseEnvelope: false for PGP clear-signed text", [SHARED_VECTORS], async () => {
  const [pgp] = await signatureObjects("one-group-signed-pgp.sif");
  assert.match(decode(pgp), /^-----BEGIN PGP SIGNED MESSAGE-----/);
  assert.equal(isDsseEnvelope(pgp), false);
});

Deno.test("isDsseEnvelope: the first JSON value decides, keys match case-insensitively", () => {
  const type = JSON.stringify(DSSE_PAYLOAD_TYPE);
  const yes = [
    `{"payloadType":${type}}`,
    ` \n{"PAYLOADTYPE":${type},"payload":"","signatures":null}`,
    `{"payloadType":${type}} trailing garbage`,
    `{"payloadType":${type},"extra":[1,{"}":"]"}]}{`,
    `{"payloadType":${type},"signatures":[{"keyid":"a","sig":"b","x":1}]}`,
  ];
  for (const text of yes) assert.equal(isDsseEnvelope(encode(text)), true, text);
  const no = [
    "",
    "{}",
    "[]",
    "null",
    `"${DSSE_PAYLOAD_TYPE}"`,
    `[{"payloadType":${type}}]`,
    `{"payloadType":"application/vnd.in-toto+json"}`,
    `{"payloadType":${type}`,
    `{"payloadType":${type},}`,
    `{"payloadType":${type},"payload":5}`,
    `{"payloadType":${type},"signatures":{}}`,
    `{"payloadType":${type},"signatures":[{"sig":true}]}`,
    `{"payload_type":${type}}`,
    `\ufeff{"payloadType":${type}}`,
  ];
  for (const text of no) assert.equal(isDsseEnvelope(encode(text)), false, text);
});

Deno.test("isDsseEnvelope: never throws on garbage", () => {
  const random = new Uint8Array(4096);
  for (let round = 0; round < 200; round++) {
    crypto.getRandomValues(random);
    const length = round % 50 === 0 ? random.length : random[0] % 64;
    const bytes = random.subarray(0, length);
    if (round % 2 === 1) bytes[0] = 0x7b; // "{"
    assert.equal(isDsseEnvelope(bytes), false);
  }
  assert.equal(isDsseEnvelope(encode("[".repeat(200_000))), false);
  assert.equal(isDsseEnvelope(encode(`{"a":${"[".repeat(200_000)}`)), false);
});

Deno.test("preAuthEncoding: byte lengths, single spaces", () => {
  const pae = preAuthEncoding("tÿpe", encode("é!"));
  assert.equal(decode(pae), "DSSEv1 5 tÿpe 3 é!");
  assert.equal(decode(preAuthEncoding("", new Uint8Array())), "DSSEv1 0  0 ");
  const metadata = preAuthEncoding(DSSE_PAYLOAD_TYPE, encode("{}"));
  assert.equal(decode(metadata), `DSSEv1 40 ${DSSE_PAYLOAD_TYPE} 2 {}`);
});

peerTest(
  "dsseKeyId: the three test public keys give the documented key IDs",
  [SHARED_VECTORS],
  () => {
    assert.equal(
      dsseKeyId(publicKey("ed25519-public.pem")),
      "SHA256:x6l8ZblpSSXGaPMCzySedWg88BwIFcz8jlPb6el0mFs",
    );
    assert.equal(
      dsseKeyId(publicKey("rsa-public.pem")),
      "SHA256:BhCwr7qZulYcOMSl2Jt2DuYHxHNnN6th4NdMqR/PGa4",
    );
    assert.equal(
      dsseKeyId(publicKey("ecdsa-public.pem")),
      "SHA256:13cNV0A11AxgIQYCvlDmJlRi0CjRtjnYF47RzrMhlaU",
    );
    const ed = readPemPrivateKey(Deno.readTextFileSync(SHARED_VECTORS + "ed25519-private.pem"));
    assert.equal(dsseKeyId(ed), dsseKeyId(publicKey("ed25519-public.pem")));
  },
);

peerTest(
  "signEnvelope: reproduces the vectors' ed25519 signature byte for byte",
  [SHARED_VECTORS],
  async () => {
    const key = readPemPrivateKey(Deno.readTextFileSync(SHARED_VECTORS + "ed25519-private.pem"));
    const objects = [
      ...await signatureObjects("one-group-signed-dsse.sif"),
      ...await signatureObjects("two-groups-signed-dsse.sif"),
    ];
    for (const bytes of objects) {
      const text = decode(bytes).replace(/\n$/, "");
      const vector: EnvelopeJson = JSON.parse(text);
      const payload = Uint8Array.fromBase64(vector.payload);
      const ours = decode(signEnvelope(payload, key));
      const parsed: EnvelopeJson = JSON.parse(ours);
      assert.equal(parsed.signatures.length, 1);
      const entry = vector.signatures.find((s) => s.keyid === parsed.signatures[0].keyid);
      assert.deepEqual(parsed.signatures[0], entry);
      // Byte layout: the vector envelope minus its other (RSA) signature entries.
      const others = vector.signatures.filter((s) => s !== entry).map((s) => JSON.stringify(s));
      const expected = others.reduce((all, other) => all.replace(`,${other}`, ""), text);
      assert.equal(ours, expected);
      if (vector.signatures.length === 1) assert.equal(ours, text);
    }
    const [first] = objects;
    assert.ok(!decode(first).endsWith("\n"), "HEAD writes no trailing newline");
    assert.equal(
      decode(Uint8Array.fromBase64(JSON.parse(decode(first)).payload)),
      '{"version":1,"header":{"digest":"sha256:635fa0a14a8ef0c0351ed3e985799ed1d4f75ce973dea3cc7' +
        '6c99710795cc3f1"},"objects":[{"relativeId":0,"descriptorDigest":"sha256:3634ad01db0dd54' +
        '82ecf685267b53d6201690438ca27c3d7ea91c971a1f41f92","objectDigest":"sha256:004dfc8da678c3' +
        '09de28b5386a1e9efd57f536b150c40d29b31506aa0fb17ec2"},{"relativeId":1,"descriptorDigest":' +
        '"sha256:04b5f87c9692a54f80d10fb6af00c779763aeca29d610348854bd97cd8bf66fd","objectDigest"' +
        ':"sha256:9f9c4e5e131934969b4ac8f495691c70b8c6c8e3f489c2c9ab5f1af82bce0604"}]}',
    );
  },
);

peerTest("verifyEnvelope: the vectors verify with the ed25519 key and with the RSA key", [
  SHARED_VECTORS,
], async () => {
  const { ed, rsa } = await oneGroup();
  for (const file of ["one-group-signed-dsse.sif", "two-groups-signed-dsse.sif"]) {
    for (const bytes of await signatureObjects(file)) {
      const payload = Uint8Array.fromBase64(JSON.parse(decode(bytes)).payload);
      for (const key of [ed, rsa]) {
        const result = verifyEnvelope(bytes, [key]);
        assert.deepEqual(result.payload, payload);
        assert.deepEqual(result.acceptedKeys, [key]);
      }
      assert.deepEqual(verifyEnvelope(bytes, [rsa, ed]).acceptedKeys, [ed, rsa]);
      assert.match(decode(verifyEnvelope(bytes, [ed]).payload), /^\{"version":1,/);
    }
  }
});

peerTest("readEnvelopePayload: the payload without any key; malformed input refused", [
  SHARED_VECTORS,
], async () => {
  const { bytes, ed } = await oneGroup();
  assert.deepEqual(readEnvelopePayload(bytes), verifyEnvelope(bytes, [ed]).payload);
  const badSignature = edit(bytes, (e) => e.signatures[0].sig = "AAAA");
  assert.deepEqual(readEnvelopePayload(badSignature), readEnvelopePayload(bytes));
  const urlSafe = edit(bytes, (e) => e.payload = toUrlSafe(e.payload));
  assert.deepEqual(readEnvelopePayload(urlSafe), readEnvelopePayload(bytes));
  assertDsseError(() => readEnvelopePayload(encode("{")), /unexpected end of JSON input/);
  const other = edit(bytes, (e) => e.payloadType = "text/plain");
  assertDsseError(() => readEnvelopePayload(other), /unexpected payload type: got "text\/plain"/);
  const broken = edit(bytes, (e) => e.payload = "***");
  assertDsseError(() => readEnvelopePayload(broken), /unable to base64 decode payload/);
});

peerTest(
  "verifyEnvelope: the ECDSA key is not a signer (threshold error)",
  [SHARED_VECTORS],
  async () => {
    const { bytes, ecdsa } = await oneGroup();
    assertDsseError(() => verifyEnvelope(bytes, [ecdsa]), THRESHOLD);
    assertDsseError(
      () => verifyEnvelope(bytes, []),
      "dsse: verify envelope failed: invalid threshold",
    );
  },
);

peerTest(
  "verifyEnvelope: a changed payload or signature byte is refused",
  [SHARED_VECTORS],
  async () => {
    const { bytes, ed, rsa } = await oneGroup();
    for (const index of [0, 100, 300]) {
      const tampered = edit(bytes, (e) => e.payload = flipByte(e.payload, index));
      assertDsseError(() => verifyEnvelope(tampered, [ed, rsa]), THRESHOLD);
    }
    const badEd = edit(bytes, (e) => e.signatures[0].sig = flipByte(e.signatures[0].sig, 10));
    assertDsseError(() => verifyEnvelope(badEd, [ed]), THRESHOLD);
    assert.deepEqual(verifyEnvelope(badEd, [ed, rsa]).acceptedKeys, [rsa]);
    const badRsa = edit(bytes, (e) => e.signatures[1].sig = flipByte(e.signatures[1].sig, 511));
    assertDsseError(() => verifyEnvelope(badRsa, [rsa]), THRESHOLD);
    const shortRsa = edit(bytes, (e) => {
      e.signatures[1].sig = Uint8Array.fromBase64(e.signatures[1].sig).subarray(1).toBase64();
    });
    assertDsseError(() => verifyEnvelope(shortRsa, [rsa]), THRESHOLD);
  },
);

peerTest(
  "verifyEnvelope: the payloadType must be the SIF metadata type",
  [SHARED_VECTORS],
  async () => {
    const { bytes, ed } = await oneGroup();
    const other = edit(bytes, (e) => e.payloadType = "application/json");
    assertDsseError(
      () => verifyEnvelope(other, [ed]),
      'dsse: verify envelope failed: dsse: unexpected payload type: got "application/json", ' +
        `want "${DSSE_PAYLOAD_TYPE}"`,
    );
    assert.equal(isDsseEnvelope(other), false);
  },
);

peerTest(
  "verifyEnvelope: URL-safe base64 and trailing whitespace are accepted",
  [SHARED_VECTORS],
  async () => {
    const { bytes, ed, rsa } = await oneGroup();
    const urlSafe = edit(bytes, (e) => {
      e.payload = toUrlSafe(e.payload);
      for (const s of e.signatures) s.sig = toUrlSafe(s.sig);
    });
    assert.notDeepEqual(urlSafe, bytes);
    assert.match(decode(urlSafe), /[-_]/);
    assert.deepEqual(verifyEnvelope(urlSafe, [ed, rsa]).acceptedKeys, [ed, rsa]);
    for (const tail of ["\n", " \r\n\t\n"]) {
      const padded = encode(decode(bytes) + tail);
      assert.deepEqual(verifyEnvelope(padded, [ed]).acceptedKeys, [ed]);
      assert.equal(isDsseEnvelope(padded), true);
    }
    const garbage = encode(decode(bytes) + "\nx");
    assert.equal(isDsseEnvelope(garbage), true);
    assertDsseError(
      () => verifyEnvelope(garbage, [ed]),
      "dsse: verify envelope failed: invalid character 'x' after top-level value",
    );
    const mixed = edit(bytes, (e) => e.payload = "-+" + e.payload.slice(2));
    assertDsseError(() => verifyEnvelope(mixed, [ed]), /unable to base64 decode payload/);
    const unpadded = edit(bytes, (e) => e.payload = e.payload.replace(/=+$/, ""));
    assertDsseError(() => verifyEnvelope(unpadded, [ed]), /unable to base64 decode payload/);
  },
);

peerTest("verifyEnvelope: keyid skip rule and one count per key", [SHARED_VECTORS], async () => {
  const { bytes, ed, rsa } = await oneGroup();
  const rsaId = dsseKeyId(rsa);
  const mislabelled = edit(bytes, (e) => e.signatures[0].keyid = rsaId);
  assertDsseError(() => verifyEnvelope(mislabelled, [ed]), THRESHOLD);
  const unlabelled = edit(bytes, (e) => e.signatures[0].keyid = "");
  assert.deepEqual(verifyEnvelope(unlabelled, [rsa, ed]).acceptedKeys, [ed, rsa]);
  const twice = edit(bytes, (e) => e.signatures = [e.signatures[0], e.signatures[0]]);
  assert.deepEqual(verifyEnvelope(twice, [ed]).acceptedKeys, [ed]);
  const reordered = edit(bytes, (e) => e.signatures.reverse());
  assert.deepEqual(verifyEnvelope(reordered, [ed, rsa]).acceptedKeys, [rsa, ed]);
});

Deno.test("ECDSA P-256/384/521: DER round trip, IEEE-P1363 signatures also verify", () => {
  const payload = encode('{"One":1,"Two":2}\n');
  for (
    const [namedCurve, hash] of [["P-256", "sha256"], ["P-384", "sha384"], ["P-521", "sha512"]]
  ) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve });
    const envelope = signEnvelope(payload, privateKey);
    const parsed: EnvelopeJson = JSON.parse(decode(envelope));
    assert.equal(parsed.signatures[0].keyid, dsseKeyId(publicKey));
    assert.equal(Uint8Array.fromBase64(parsed.signatures[0].sig)[0], 0x30, "DER SEQUENCE");
    const result = verifyEnvelope(envelope, [publicKey]);
    assert.deepEqual(result.payload, payload);
    assert.deepEqual(result.acceptedKeys, [publicKey]);
    const pae = preAuthEncoding(DSSE_PAYLOAD_TYPE, payload);
    const p1363 = sign(hash, pae, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const keyid = dsseKeyId(publicKey);
    const raw = newEnvelope(payload, [{ keyid, sig: new Uint8Array(p1363) }]);
    assert.deepEqual(verifyEnvelope(raw, [publicKey]).acceptedKeys, [publicKey]);
    const flipped = new Uint8Array(p1363);
    flipped[flipped.length - 1] ^= 0x01;
    const bad = newEnvelope(payload, [{ keyid, sig: flipped }]);
    assertDsseError(() => verifyEnvelope(bad, [publicKey]), THRESHOLD);
  }
});

Deno.test("RSA-2048 and Ed25519: generated keys round trip", () => {
  const payload = encode("metadata");
  for (
    const pair of [
      generateKeyPairSync("rsa", { modulusLength: 2048 }),
      generateKeyPairSync("ed25519"),
    ]
  ) {
    const envelope = signEnvelope(payload, pair.privateKey);
    const parsed: EnvelopeJson = JSON.parse(decode(envelope));
    assert.deepEqual(Object.keys(parsed), ["payloadType", "payload", "signatures"]);
    assert.deepEqual(Object.keys(parsed.signatures[0]), ["keyid", "sig"]);
    assert.equal(parsed.payload, "bWV0YWRhdGE=");
    assert.deepEqual(verifyEnvelope(envelope, [pair.publicKey]).acceptedKeys, [pair.publicKey]);
    assert.deepEqual(verifyEnvelope(envelope, [pair.privateKey]).payload, payload);
    const other = generateKeyPairSync("ed25519").publicKey;
    assertDsseError(() => verifyEnvelope(envelope, [other]), THRESHOLD);
  }
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const sig = Uint8Array.fromBase64(
    JSON.parse(decode(signEnvelope(payload, rsa.privateKey)))
      .signatures[0].sig,
  );
  assert.equal(sig.length, 256);
  assertDsseError(() => signEnvelope(payload, rsa.publicKey), "signing needs a private key");
});

Deno.test("verifyEnvelope: malformed input raises DsseError only", () => {
  const type = JSON.stringify(DSSE_PAYLOAD_TYPE);
  const key = generateKeyPairSync("ed25519").publicKey;
  const cases: [string, string | RegExp][] = [
    ["", "dsse: verify envelope failed: unexpected end of JSON input"],
    ["{", "dsse: verify envelope failed: unexpected end of JSON input"],
    ["   ", "dsse: verify envelope failed: unexpected end of JSON input"],
    [
      '{"payloadType":5}',
      "dsse: verify envelope failed: json: cannot unmarshal number into Go struct field " +
      "Envelope.payloadType of type string",
    ],
    ["[]", /cannot unmarshal array into Go value of type dsse\.Envelope/],
    ["null", /unexpected payload type: got "", want/],
    ["{}", /unexpected payload type: got "", want/],
    [
      `{"payloadType":${type},"payload":"e30="}`,
      "dsse: verify envelope failed: no signature found",
    ],
    [`{"payloadType":${type},"payload":"e30=","signatures":[]}`, /no signature found/],
    [`{"payloadType":${type},"payload":"e30=","signatures":"x"}`, /cannot unmarshal string/],
    [`{"payloadType":${type},"payload":"e30=","signatures":[7]}`, /cannot unmarshal number/],
    [`{"payloadType":${type},"payload":"e30=","signatures":[{"sig":{}}]}`, /unmarshal object/],
    [
      `{"payloadType":${type},"payload":"not base64!","signatures":[{"keyid":"","sig":""}]}`,
      "dsse: verify envelope failed: unable to base64 decode payload (is payload in the right " +
      "format?)",
    ],
    [`{"payloadType":${type},"payload":"e30=","signatures":[{"sig":"%%%"}]}`, /base64 decode/],
    [`{"payloadType":${type},"payload":"e30=","signatures":[null]}`, THRESHOLD],
    [`{"payloadType":${type},"payload":"e30=","signatures":[{"sig":"AAAA"}]}`, THRESHOLD],
    [
      `{"payloadType":${type},"payload":"e30=","signatures":[{"keyid":"${
        "k".repeat(1 << 20)
      }","sig":"AAAA"}]}`,
      THRESHOLD,
    ],
    [`{"payloadType":${type},"payload":"e30=",}`, "dsse: verify envelope failed: invalid JSON"],
    [`\ufeff{"payloadType":${type}}`, "dsse: verify envelope failed: invalid JSON"],
  ];
  for (const [text, message] of cases) {
    assertDsseError(() => verifyEnvelope(encode(text), [key]), message);
  }
  const random = new Uint8Array(512);
  for (let round = 0; round < 200; round++) {
    crypto.getRandomValues(random);
    assertDsseError(() => verifyEnvelope(random.subarray(0, random[0]), [key]));
  }
});

peerTest("verifyEnvelope: random corruption of a vector never escapes as another error", [
  SHARED_VECTORS,
], async () => {
  const { bytes, ed, rsa } = await oneGroup();
  for (let round = 0; round < 300; round++) {
    const copy = bytes.slice();
    const index = Math.floor(Math.random() * copy.length);
    copy[index] = Math.floor(Math.random() * 256);
    try {
      verifyEnvelope(copy, [ed, rsa]);
    } catch (error) {
      assert.ok(error instanceof DsseError, `byte ${index}: ${error}`);
    }
    isDsseEnvelope(copy);
  }
});

Deno.test("readPemPublicKey: PKIX and PKCS#1; clear one-line refusals", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = rsa.publicKey.export({ format: "pem", type: "pkcs1" }) as string;
  assert.match(pkcs1, /BEGIN RSA PUBLIC KEY/);
  assert.equal(dsseKeyId(readPemPublicKey(pkcs1)), dsseKeyId(rsa.publicKey));
  const spki = rsa.publicKey.export({ format: "pem", type: "spki" }) as string;
  assert.equal(dsseKeyId(readPemPublicKey(`comment line\n${spki}`)), dsseKeyId(rsa.publicKey));
  const privatePem = rsa.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  assertDsseError(() => readPemPublicKey(privatePem), 'not a PEM public key (found "PRIVATE KEY")');
  assertDsseError(() => readPemPublicKey("hello"), "not a PEM public key: no PEM block found");
  assertDsseError(
    () => readPemPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
    /^invalid PEM public key: /,
  );
  const x25519 = generateKeyPairSync("x25519").publicKey.export({ format: "pem", type: "spki" });
  assertDsseError(() => readPemPublicKey(x25519 as string), "unsupported key type x25519");
  const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey;
  const k1Pem = k1.export({ format: "pem", type: "spki" }) as string;
  assertDsseError(() => readPemPublicKey(k1Pem), "unsupported key type ec (curve secp256k1)");
  assertDsseError(() => dsseKeyId(k1), "unsupported key type ec (curve secp256k1)");
});

Deno.test("readPemPrivateKey: PKCS#8, PKCS#1, SEC1 and encrypted keys", () => {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const sec1 = ec.privateKey.export({ format: "pem", type: "sec1" }) as string;
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  assert.equal(dsseKeyId(readPemPrivateKey(sec1)), dsseKeyId(ec.publicKey));
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = rsa.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
  assert.equal(dsseKeyId(readPemPrivateKey(pkcs1)), dsseKeyId(rsa.publicKey));
  const encrypted = rsa.privateKey.export({
    format: "pem",
    type: "pkcs8",
    cipher: "aes-256-cbc",
    passphrase: "secret",
  }) as string;
  assert.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/);
  assertDsseError(
    () => readPemPrivateKey(encrypted),
    "the key is encrypted: a passphrase is needed",
  );
  assertDsseError(() => readPemPrivateKey(encrypted, "wrong"), /wrong passphrase/);
  assert.equal(dsseKeyId(readPemPrivateKey(encrypted, "secret")), dsseKeyId(rsa.publicKey));
  const publicPem = rsa.publicKey.export({ format: "pem", type: "spki" }) as string;
  assertDsseError(() => readPemPrivateKey(publicPem), 'not a PEM private key (found "PUBLIC KEY")');
  assertDsseError(
    () => readPemPrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
    /^invalid PEM private key: /,
  );
  const ed448 = generateKeyPairSync("ed448").privateKey.export({ format: "pem", type: "pkcs8" });
  assertDsseError(() => readPemPrivateKey(ed448 as string), "unsupported key type ed448");
});

Deno.test("envelopeKeyIds: the key IDs an envelope claims, none for one that does not parse", () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  const envelope = signEnvelope(new TextEncoder().encode("{}"), privateKey);
  assert.deepEqual(envelopeKeyIds(envelope), [dsseKeyId(privateKey)]);
  const unnamed = JSON.parse(new TextDecoder().decode(envelope));
  unnamed.signatures.push({ keyid: "", sig: "AAAA" });
  assert.deepEqual(envelopeKeyIds(new TextEncoder().encode(JSON.stringify(unnamed))), [
    dsseKeyId(privateKey),
  ]);
  assert.deepEqual(envelopeKeyIds(new TextEncoder().encode("{not json")), []);
});
