/**
 * DSSE envelopes as the reference SIF library (sif ≥ v2.9, sigstore wrappers) writes and
 * reads them: detection, the pre-authentication encoding, SSH-style key IDs, PEM keys,
 * signing (Ed25519, RSA PKCS#1 v1.5 SHA-256, ECDSA DER) and threshold-1 verification.
 *
 * @module
 */

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";

/** The media type of the signed image metadata. */
export const DSSE_PAYLOAD_TYPE = "application/vnd.sylabs.sif-metadata+json";

/** Why an envelope or a key was refused: a key that needs a passphrase, or anything else. */
export type DsseErrorKind = "passphrase-needed" | "wrong-passphrase" | "invalid";

/** Why an envelope or a key was refused; the message is one line. */
export class DsseError extends Error {
  /** Which failure this is. */
  readonly kind: DsseErrorKind;

  /** Creates an error; `message` says what is wrong. */
  constructor(message: string, kind: DsseErrorKind = "invalid") {
    super(message);
    this.name = "DsseError";
    this.kind = kind;
  }
}

interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** How a supported key signs: its public half, digest (null: pure Ed25519), key ID. */
interface KeyProfile {
  publicKey: KeyObject;
  digest: string | null;
  ecdsa: boolean;
  /** RSA modulus length in bytes (the only valid signature length), else 0. */
  rsaBytes: number;
  id: string;
}

const CURVES: Record<string, { ssh: string; digest: string; size: number }> = {
  prime256v1: { ssh: "nistp256", digest: "sha256", size: 32 },
  secp384r1: { ssh: "nistp384", digest: "sha384", size: 48 },
  secp521r1: { ssh: "nistp521", digest: "sha512", size: 66 },
};

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const STANDARD_ALPHABET = new Set(ALPHANUMERIC + "+/");
const URL_SAFE_ALPHABET = new Set(ALPHANUMERIC + "-_");
const MAX_DEPTH = 10_000;
const VERIFY_FAILED = "dsse: verify envelope failed: ";
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Whether a signature object holds a DSSE envelope, by the reference's first rule: its first JSON
 * value decodes as an envelope (keys matched case-insensitively, data after it ignored) whose
 * payloadType is {@linkcode DSSE_PAYLOAD_TYPE}. Never throws.
 */
export function isDsseEnvelope(bytes: Uint8Array): boolean {
  const text = decoder.decode(bytes);
  const start = skipSpace(text, 0);
  if (text[start] !== "{") return false;
  const end = valueEnd(text, start);
  if (end < 0) return false;
  try {
    return toEnvelope(JSON.parse(text.slice(start, end))).payloadType === DSSE_PAYLOAD_TYPE;
  } catch {
    return false;
  }
}

/** DSSE v1 PAE: `DSSEv1 <len> <type> <len> <payload>`, lengths in decimal bytes. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = encoder.encode(payloadType);
  const head = encoder.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  return concat([head, payload]);
}

/**
 * The key ID the reference writes: `SHA256:` + unpadded standard base64 of SHA-256 over the
 * key's SSH wire encoding (as `ssh-keygen -l`). Ed25519, RSA, ECDSA P-256/P-384/P-521.
 * @throws DsseError for other key types.
 */
export function dsseKeyId(key: KeyObject): string {
  return profile(key).id;
}

/**
 * Reads a PEM public key: PKIX `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`.
 * @throws DsseError when it is not one, is damaged, or is of an unsupported type.
 */
export function readPemPublicKey(pem: string): KeyObject {
  const block = pemBlock(pem, ["PUBLIC KEY", "RSA PUBLIC KEY"], "not a PEM public key");
  let key: KeyObject;
  try {
    key = createPublicKey(block.text);
  } catch (error) {
    throw new DsseError(`invalid PEM public key: ${reason(error)}`);
  }
  profile(key);
  return key;
}

/**
 * Reads a PEM private key: PKCS#8 (plain or `ENCRYPTED`), PKCS#1 `RSA PRIVATE KEY` or SEC1
 * `EC PRIVATE KEY` (also with legacy `Proc-Type: 4,ENCRYPTED` headers).
 * @throws DsseError when it is not one, needs a (right) passphrase, is damaged, or is of an
 * unsupported type.
 */
export function readPemPrivateKey(pem: string, passphrase?: string): KeyObject {
  const labels = ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];
  const block = pemBlock(pem, labels, "not a PEM private key");
  const encrypted = block.label.startsWith("ENCRYPTED") ||
    /Proc-Type:\s*4,ENCRYPTED/.test(block.text);
  if (encrypted && passphrase === undefined) {
    throw new DsseError("the key is encrypted: a passphrase is needed", "passphrase-needed");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.text, format: "pem", passphrase });
  } catch (error) {
    if (encrypted) {
      throw new DsseError(
        "cannot decrypt the key: wrong passphrase or damaged key",
        "wrong-passphrase",
      );
    }
    throw new DsseError(`invalid PEM private key: ${reason(error)}`);
  }
  profile(key);
  return key;
}

/**
 * Verifies an envelope as the reference does (threshold 1): the payloadType
 * must be the SIF media type, payload and signatures are standard then URL-safe base64, a key
 * is skipped for a signature whose non-empty keyid differs from its own, each key counts once.
 * Trailing whitespace after the JSON is allowed.
 * @returns the payload and the keys that verified a signature, in signature order.
 * @throws DsseError, with the reference's message after `signature object N not valid: `.
 */
export function verifyEnvelope(
  bytes: Uint8Array,
  keys: KeyObject[],
): { payload: Uint8Array; acceptedKeys: KeyObject[] } {
  const envelope = parseEnvelope(bytes);
  const profiles = keys.map((key) => ({ key, profile: profile(key) }));
  if (profiles.length === 0) throw new DsseError(`${VERIFY_FAILED}invalid threshold`);
  if (envelope.signatures.length === 0) throw new DsseError(`${VERIFY_FAILED}no signature found`);
  const payload = base64Decode(envelope.payload);
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const acceptedKeys: KeyObject[] = [];
  let unused = profiles;
  for (const signature of envelope.signatures) {
    const sig = base64Decode(signature.sig);
    const match = unused.find(({ profile }) =>
      (signature.keyid === "" || signature.keyid === profile.id) && verifyOne(profile, pae, sig)
    );
    if (match === undefined) continue;
    acceptedKeys.push(match.key);
    unused = unused.filter((candidate) => candidate !== match);
  }
  if (acceptedKeys.length === 0) {
    throw new DsseError(
      `${VERIFY_FAILED}accepted signatures do not match threshold, Found: 0, Expected 1`,
    );
  }
  return { payload, acceptedKeys };
}

/**
 * The payload of an envelope, read without verifying anything (to show or digest-check what a
 * signature claims). Same parsing, payloadType and base64 rules as {@linkcode verifyEnvelope}.
 * @throws DsseError when the envelope or its payload is malformed.
 */
export function readEnvelopePayload(bytes: Uint8Array): Uint8Array {
  return base64Decode(parseEnvelope(bytes).payload);
}

/**
 * The key IDs an envelope's signatures claim (empty ones left out), read without verifying
 * anything. An envelope that does not parse claims none.
 */
export function envelopeKeyIds(bytes: Uint8Array): string[] {
  try {
    return parseEnvelope(bytes).signatures.map((s) => s.keyid).filter((id) => id !== "");
  } catch (error) {
    if (error instanceof DsseError) return [];
    throw error;
  }
}

/**
 * Signs `payload` with one private key and returns the envelope exactly as the reference
 * writes it: `{"payloadType":…,"payload":…,"signatures":[{"keyid":…,"sig":…}]}`, padded
 * standard base64, no trailing newline. Ed25519 is pure; RSA is PKCS#1 v1.5 with SHA-256;
 * ECDSA is DER with SHA-256/384/512 for P-256/384/521.
 * @throws DsseError when the key is not a supported private key.
 */
export function signEnvelope(payload: Uint8Array, key: KeyObject): Uint8Array {
  if (key.type !== "private") throw new DsseError("signing needs a private key");
  const { digest, id } = profile(key);
  const sig = new Uint8Array(sign(digest, preAuthEncoding(DSSE_PAYLOAD_TYPE, payload), key));
  return encoder.encode(JSON.stringify({
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: payload.toBase64(),
    signatures: [{ keyid: id, sig: sig.toBase64() }],
  }));
}

/** `SHA256:` + unpadded base64 of SHA-256 over the SSH wire form (strings and mpints). */
function sshFingerprint(fields: (string | Uint8Array)[]): string {
  const bytes = fields.map((field) => typeof field === "string" ? encoder.encode(field) : field);
  const wire = concat(bytes.flatMap((field) => [uint32(field.length), field]));
  const digest = new Uint8Array(createHash("sha256").update(wire).digest());
  return `SHA256:${digest.toBase64({ omitPadding: true })}`;
}

function verifyOne(profile: KeyProfile, pae: Uint8Array, sig: Uint8Array): boolean {
  const { publicKey: key, digest } = profile;
  if (profile.rsaBytes !== 0 && sig.length !== profile.rsaBytes) return false;
  try {
    if (verify(digest, pae, key, sig)) return true;
    return profile.ecdsa && verify(digest, pae, { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}

/** The signing profile of a supported key (public or private). */
function profile(key: KeyObject): KeyProfile {
  if (key.type === "secret") throw new DsseError("unsupported key type secret");
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: "jwk" });
  const common = { publicKey, ecdsa: false, rsaBytes: 0 };
  const type = publicKey.asymmetricKeyType;
  if (type === "ed25519") {
    return { ...common, digest: null, id: sshFingerprint(["ssh-ed25519", base64Url(jwk.x)]) };
  }
  if (type === "rsa") {
    const rsaBytes = Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    const [e, n] = [mpint(base64Url(jwk.e)), mpint(base64Url(jwk.n))];
    return { ...common, digest: "sha256", rsaBytes, id: sshFingerprint(["ssh-rsa", e, n]) };
  }
  const curveName = publicKey.asymmetricKeyDetails?.namedCurve ?? "";
  const curve = CURVES[curveName];
  if (type !== "ec" || curve === undefined) {
    throw new DsseError(`unsupported key type ${type}${curveName ? ` (curve ${curveName})` : ""}`);
  }
  const point = concat([
    Uint8Array.of(4),
    leftPad(base64Url(jwk.x), curve.size),
    leftPad(base64Url(jwk.y), curve.size),
  ]);
  const id = sshFingerprint([`ecdsa-sha2-${curve.ssh}`, curve.ssh, point]);
  return { ...common, digest: curve.digest, ecdsa: true, id };
}

/**
 * Parses an envelope as Go's `json.Unmarshal` would and checks its payloadType, with the
 * reference's error wording.
 */
function parseEnvelope(bytes: Uint8Array): Envelope {
  const text = decoder.decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DsseError(VERIFY_FAILED + syntaxError(text));
  }
  const envelope = toEnvelope(value);
  if (envelope.payloadType !== DSSE_PAYLOAD_TYPE) {
    const got = JSON.stringify(envelope.payloadType);
    const want = JSON.stringify(DSSE_PAYLOAD_TYPE);
    throw new DsseError(`${VERIFY_FAILED}dsse: unexpected payload type: got ${got}, want ${want}`);
  }
  return envelope;
}

function syntaxError(text: string): string {
  const start = skipSpace(text, 0);
  const end = text[start] === "{" || text[start] === "[" ? valueEnd(text, start) : 0;
  if (start === text.length || end < 0) return "unexpected end of JSON input";
  const rest = skipSpace(text, end);
  if (end > 0 && isJson(text.slice(start, end))) {
    return `invalid character '${text[rest]}' after top-level value`;
  }
  return "invalid JSON";
}

/** The envelope fields of a parsed value; keys match case-insensitively, null is no value. */
function toEnvelope(value: unknown): Envelope {
  if (value === null) return { payloadType: "", payload: "", signatures: [] };
  if (!isObject(value)) throw typeError(value, "Go value of type dsse.Envelope");
  const payloadType = goString(member(value, "payloadType"), "Envelope.payloadType");
  const payload = goString(member(value, "payload"), "Envelope.payload");
  const list = member(value, "signatures") ?? [];
  if (!Array.isArray(list)) {
    throw typeError(list, "Go struct field Envelope.signatures of type []dsse.Signature");
  }
  const signatures = list.map((entry: unknown) => {
    if (entry === null) return { keyid: "", sig: "" };
    if (!isObject(entry)) {
      throw typeError(entry, "Go struct field Envelope.signatures of type dsse.Signature");
    }
    const keyid = goString(member(entry, "keyid"), "Signature.signatures.keyid");
    return { keyid, sig: goString(member(entry, "sig"), "Signature.signatures.sig") };
  });
  return { payloadType, payload, signatures };
}

function goString(value: unknown, field: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw typeError(value, `Go struct field ${field} of type string`);
  return value;
}

/** The last member whose key equals `name` under Go's case folding. */
function member(object: Record<string, unknown>, name: string): unknown {
  const wanted = fold(name);
  const keys = Object.keys(object).filter((key) => fold(key) === wanted);
  return keys.length === 0 ? undefined : object[keys[keys.length - 1]];
}

/** Go's JSON key folding: per code point, upper(lower(c)) when that is one code point. */
function fold(key: string): string {
  return Array.from(key, (c) => {
    const folded = c.toLowerCase().toUpperCase();
    return [...folded].length === 1 ? folded : c;
  }).join("");
}

function typeError(value: unknown, target: string): DsseError {
  const kind = Array.isArray(value) ? "array" : typeof value === "boolean" ? "bool" : typeof value;
  return new DsseError(`${VERIFY_FAILED}json: cannot unmarshal ${kind} into ${target}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && " \t\r\n".includes(text[i])) i++;
  return i;
}

/**
 * Index just past the object or array opening at `start`, or -1 if the text ends first or
 * nests deeper than Go's decoder allows.
 */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "{" || c === "[") {
      if (++depth > MAX_DEPTH) return -1;
    } else if ((c === "}" || c === "]") && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/**
 * Go's padded base64: standard alphabet, then URL-safe; CR and LF are ignored. The text is
 * checked by one scan (no regular expression: a payload may be megabytes of attacker data).
 */
function base64Decode(value: string): Uint8Array {
  const text = value.replaceAll("\r", "").replaceAll("\n", "");
  if (isPaddedBase64(text, STANDARD_ALPHABET)) return Uint8Array.fromBase64(text);
  if (isPaddedBase64(text, URL_SAFE_ALPHABET)) {
    return Uint8Array.fromBase64(text, { alphabet: "base64url" });
  }
  throw new DsseError(
    `${VERIFY_FAILED}unable to base64 decode payload (is payload in the right format?)`,
  );
}

/**
 * Whether `text` is whole 4-character groups of `alphabet`, the last one possibly ending in
 * `==` or `=` (padding only there).
 */
function isPaddedBase64(text: string, alphabet: Set<string>): boolean {
  if (text.length % 4 !== 0) return false;
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const end = text.length - padding;
  for (let i = 0; i < end; i++) if (!alphabet.has(text[i])) return false;
  return true;
}

/** The first PEM block in `pem`; a DsseError unless its label is one of `labels`. */
function pemBlock(pem: string, labels: string[], notOne: string): { label: string; text: string } {
  const found = /-----BEGIN ([^\r\n-]+)-----[\s\S]*?-----END \1-----/.exec(pem);
  if (found === null) throw new DsseError(`${notOne}: no PEM block found`);
  if (!labels.includes(found[1])) throw new DsseError(`${notOne} (found "${found[1]}")`);
  return { label: found[1], text: found[0] };
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

function base64Url(value: string | undefined): Uint8Array {
  return Uint8Array.fromBase64(value ?? "", { alphabet: "base64url" });
}

/** SSH mpint body of a non-negative big-endian integer: minimal, sign bit clear. */
function mpint(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  const body = bytes.subarray(start);
  return body.length > 0 && body[0] & 0x80 ? concat([Uint8Array.of(0), body]) : body;
}

function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.length >= size ? bytes : concat([new Uint8Array(size - bytes.length), bytes]);
}

function uint32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
