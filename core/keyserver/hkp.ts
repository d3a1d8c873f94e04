/**
 * An HKP keyserver client, as Apptainer's key client talks to keyservers:
 *
 * | Operation | Request |
 * |---|---|
 * | {@linkcode lookupKey} | `GET /pks/lookup?exact=on&op=get&search=0x<hex>` |
 * | {@linkcode searchIndex} | `GET /pks/lookup?fingerprint=on&op=index&options=mr&search=<term>&x-pagesize=256` |
 * | {@linkcode pushKey} | `POST /pks/add`, form field `keytext` |
 *
 * Query keys are sorted. The base URL is the keyserver's scheme and host (`hkp` is http on port
 * 11371, `hkps` is https; any path is dropped). Requests go through the one HTTP client
 * (core/http/client.ts): each carries `User-Agent: siftrust/<version>` and the keyserver's
 * `Authorization` when it has one, and must be answered within 5 s (the whole answer, not
 * just its headers). Answers are capped at 16 MiB.
 *
 * TLS certificates are always checked, except for keyservers configured `Insecure: true`
 * (Apptainer's `InsecureSkipVerify`).
 *
 * Every failure is an {@linkcode HkpError}.
 *
 * @module
 */

import { HttpError, httpRequest, type HttpResponse, reasonPhrase } from "../http/mod.ts";
import { keyserverBaseUrl, KeyserverUriError } from "../config/keyserver_uri.ts";
import type { Keyserver } from "../config/keyservers.ts";
import { type Keyring, KeyringError, parseKeyring } from "../keys/keyring.ts";
import { ArmorScanError, keyBlocksOfAnswer } from "./armor_scan.ts";

/** How long a keyserver has to answer one request. */
export const HKP_TIMEOUT_MS = 5000;
/** The largest answer read; a longer one is an error. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * What went wrong: `status`, a non-2xx answer; `transport`, no answer (connection refused, DNS,
 * TLS…); `timeout`, no (complete) answer in time; `answer`, an answer that is not what was
 * asked for; `config`, the keyserver URL or the permissions make the request impossible.
 */
export type HkpErrorKind = "status" | "transport" | "timeout" | "answer" | "config";

/**
 * A keyserver request failed. For `status` errors the message is `<code> <reason>`, plus
 * `: <message>` when the body is a JSON error envelope (`{"error":{"message":…}}`), e.g.
 * `404 Not Found: entity not found`; other messages name the keyserver's URL.
 */
export class HkpError extends Error {
  /** What kind of failure. */
  readonly kind: HkpErrorKind;
  /** The keyserver, as configured. */
  readonly keyserver: string;
  /** The HTTP status of a `status` error. */
  readonly status?: number;

  /** A failure of a request to `keyserver`; `status` for `status` errors. */
  constructor(keyserver: string, kind: HkpErrorKind, message: string, status?: number) {
    super(message);
    this.name = "HkpError";
    this.kind = kind;
    this.keyserver = keyserver;
    this.status = status;
  }

  /** The message with the keyserver named: `http://ks answered 404 Not Found`, or the message. */
  describe(): string {
    return this.kind === "status" ? `${this.keyserver} answered ${this.message}` : this.message;
  }
}

/** Options of the requests. */
export interface HkpOptions {
  /** Per-request time limit in milliseconds (default {@linkcode HKP_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/**
 * Fetches the keys the keyserver has for a key ID (8 or 16 hex digits) or fingerprint (40),
 * with or without `0x`, in any case. Leading zeros are kept. The answer may wrap the armored
 * key block in HTML, as SKS does; the keys are read from the armored blocks it holds. An
 * answer without an armored public key block is an `answer` error.
 */
export async function lookupKey(
  keyserver: Keyserver,
  id: string,
  options: HkpOptions = {},
): Promise<Keyring> {
  const hex = id.replace(/^0x/i, "").toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) {
    throw new HkpError(keyserver.uri, "config", `"${id}" is not a hexadecimal key ID`);
  }
  const answer = await exchange(
    keyserver,
    "GET",
    "/pks/lookup",
    {
      exact: "on",
      op: "get",
      search: `0x${hex}`,
    },
    undefined,
    options,
  );
  let blocks: string;
  try {
    blocks = keyBlocksOfAnswer(answer.body);
  } catch (error) {
    if (!(error instanceof ArmorScanError)) throw error;
    const problem = error.kind === "too-large"
      ? `is too large: ${error.message}`
      : "holds no armored OpenPGP public key";
    throw new HkpError(
      keyserver.uri,
      "answer",
      `the answer of ${answer.base} to a lookup of 0x${hex} ${problem}`,
    );
  }
  try {
    return await parseKeyring(new TextEncoder().encode(blocks));
  } catch (error) {
    if (!(error instanceof KeyringError)) throw error;
    throw new HkpError(
      keyserver.uri,
      "answer",
      `the answer of ${answer.base} to a lookup of 0x${hex} is not a valid key: ${error.message}`,
    );
  }
}

/** Sends a search and returns the machine-readable index answer (see mr_index.ts). */
export async function searchIndex(
  keyserver: Keyserver,
  term: string,
  options: HkpOptions = {},
): Promise<string> {
  const answer = await exchange(
    keyserver,
    "GET",
    "/pks/lookup",
    {
      fingerprint: "on",
      op: "index",
      options: "mr",
      search: term,
      "x-pagesize": "256",
    },
    undefined,
    options,
  );
  return new TextDecoder().decode(answer.body);
}

/** Publishes an ASCII-armored public key. Returns the keyserver's answer text (often HTML). */
export async function pushKey(
  keyserver: Keyserver,
  armoredPublicKey: string,
  options: HkpOptions = {},
): Promise<string> {
  const form = new URLSearchParams({ keytext: armoredPublicKey }).toString();
  const answer = await exchange(keyserver, "POST", "/pks/add", {}, form, options);
  return new TextDecoder().decode(answer.body);
}

interface Answer {
  /** The keyserver's base URL, for messages. */
  base: string;
  status: number;
  statusText: string;
  body: Uint8Array;
}

/** One request: builds the URL, sends it, reads the whole answer, maps failures. */
async function exchange(
  keyserver: Keyserver,
  method: "GET" | "POST",
  path: string,
  query: Record<string, string>,
  form: string | undefined,
  options: HkpOptions,
): Promise<Answer> {
  let base: URL;
  try {
    base = keyserverBaseUrl(keyserver.uri);
  } catch (error) {
    if (!(error instanceof KeyserverUriError)) throw error;
    throw new HkpError(keyserver.uri, "config", error.message);
  }
  const url = new URL(path, base);
  url.search = new URLSearchParams(
    Object.entries(query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ).toString();
  const headers: Record<string, string> = {};
  const authorization = keyserver.authorization?.trim();
  if (authorization && !/^bearer$/i.test(authorization)) headers.Authorization = authorization;
  if (form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  const timeoutMs = options.timeoutMs ?? HKP_TIMEOUT_MS;
  const where = base.origin;
  let raw: HttpResponse;
  try {
    raw = await httpRequest(url, {
      method,
      headers,
      body: form,
      timeoutMs,
      maxBytes: MAX_ANSWER_BYTES,
      insecure: keyserver.insecure,
    });
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    throw transportError(keyserver.uri, where, timeoutMs, error);
  }
  if (raw.status < 200 || raw.status > 299) {
    throw new HkpError(keyserver.uri, "status", statusText(raw), raw.status);
  }
  return { base: where, status: raw.status, statusText: raw.statusText, body: raw.body };
}

/** A failure of the HTTP client as an {@linkcode HkpError} that names the keyserver. */
function transportError(
  keyserver: string,
  where: string,
  timeoutMs: number,
  error: HttpError,
): HkpError {
  switch (error.kind) {
    case "timeout":
      return new HkpError(
        keyserver,
        "timeout",
        `${where} gave no answer within ${timeoutMs / 1000} s`,
      );
    case "too-large":
      return new HkpError(
        keyserver,
        "answer",
        `the answer of ${where} is larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`,
      );
    case "not-permitted":
    case "invalid-url":
      return new HkpError(keyserver, "config", `cannot reach ${where}: ${error.reason}`);
    case "unreachable":
      return new HkpError(keyserver, "transport", `cannot reach ${where}: ${error.reason}`);
  }
}

/** `<code> <reason>`, plus `: <message>` from a JSON error envelope. */
function statusText(answer: HttpResponse): string {
  const reason = reasonPhrase(answer.status) ?? answer.statusText;
  let text = reason ? `${answer.status} ${reason}` : String(answer.status);
  try {
    const envelope = JSON.parse(new TextDecoder().decode(answer.body));
    const message = envelope?.error?.message;
    if (typeof message === "string" && message !== "") text += `: ${printable(message)}`;
  } catch {
    // Not JSON: the status says it all.
  }
  return text;
}

/** Untrusted text made safe for one log line: control characters escaped, length capped. */
export function printable(text: string, max = 300): string {
  const safe = text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
