/**
 * The one HTTP client of siftrust. Every request siftrust makes — keyservers (HKP), service
 * discovery, endpoint token checks, registry and keyserver logins — goes through
 * {@linkcode httpRequest}, which gives each the same limits:
 *
 * - a time limit for the whole exchange, headers and body ({@linkcode DEFAULT_TIMEOUT_MS});
 * - a size cap on the body, counted while it streams in ({@linkcode DEFAULT_MAX_BYTES});
 * - `User-Agent: siftrust/<version>` ({@linkcode USER_AGENT});
 * - typed failures ({@linkcode HttpError}); an answer with any status is an answer, and the
 *   caller decides what a status means.
 *
 * TLS certificates are checked, except when a request is `insecure` (Apptainer's
 * `InsecureSkipVerify`, for endpoints and keyservers configured `Insecure: true`). Deno's
 * `fetch` cannot skip the check for one request (`Deno.createHttpClient` takes extra CA
 * certificates, but has no option to skip verification), so insecure https requests go
 * through `node:https` with `rejectUnauthorized: false` (see insecure.ts).
 *
 * Proxies come from the environment, unless a run chose them (network.ts).
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { HttpError } from "./errors.ts";
import { insecureHttps } from "./insecure.ts";
import { chosenClient } from "./network.ts";
import {
  concat,
  Timeout,
  TooLarge,
  type TransportAnswer,
  type TransportRequest,
} from "./transport.ts";

/** The User-Agent of every request: `siftrust/<version>`. */
export const USER_AGENT: string = `siftrust/${denoJson.version}`;
/** The default time limit of one request, body included. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The default size cap of an answer's body (16 MiB). */
export const DEFAULT_MAX_BYTES: number = 16 * 1024 * 1024;

/** Options of {@linkcode httpRequest}. */
export interface HttpRequestOptions {
  /** `GET` (the default), `POST`, … */
  method?: string;
  /** Request headers; `User-Agent` is set unless given. */
  headers?: Record<string, string>;
  /** The request body. */
  body?: string | Uint8Array;
  /** Time limit for the whole exchange in milliseconds (default {@linkcode DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** The largest body read, in bytes (default {@linkcode DEFAULT_MAX_BYTES}); more is `too-large`. */
  maxBytes?: number;
  /** Do not check the TLS certificate (https only). */
  insecure?: boolean;
  /** Only the status and headers are wanted: the body is not read (it is empty). */
  discardBody?: boolean;
}

/** A complete answer. */
export interface HttpResponse {
  /** The URL asked for. */
  url: string;
  /** The HTTP status. */
  status: number;
  /** The reason phrase the server sent (may be empty). */
  statusText: string;
  /** The answer's headers. */
  headers: Headers;
  /** The body (empty when `discardBody`). */
  body: Uint8Array;
}

/** The body as UTF-8 text. */
export function responseText(response: HttpResponse): string {
  return new TextDecoder().decode(response.body);
}

/** The body parsed as JSON; undefined when it is not JSON. */
export function responseJson(response: HttpResponse): unknown {
  try {
    return JSON.parse(responseText(response));
  } catch {
    return undefined;
  }
}

/** The value of a `Basic` Authorization header: `Basic base64(user:password)`. */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/**
 * Sends one request and reads its whole answer within the limits.
 * @throws HttpError when there is no complete answer (see {@linkcode HttpError.kind})
 */
export async function httpRequest(
  url: string | URL,
  options: HttpRequestOptions = {},
): Promise<HttpResponse> {
  const given = String(url);
  let target: URL;
  try {
    target = new URL(given);
  } catch {
    throw new HttpError("invalid-url", given, "not a valid URL");
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new HttpError("invalid-url", given, `unsupported scheme ${target.protocol.slice(0, -1)}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const headers = { "User-Agent": USER_AGENT, ...options.headers };
  const request = {
    url: target,
    method: options.method ?? "GET",
    headers,
    body: options.body,
    timeoutMs,
    maxBytes,
    discardBody: options.discardBody ?? false,
  };
  try {
    const answer = options.insecure && target.protocol === "https:"
      ? await insecureHttps(request)
      : await viaFetch(request);
    return { url: given, ...answer };
  } catch (error) {
    throw failure(given, timeoutMs, maxBytes, error);
  }
}

async function viaFetch(request: TransportRequest): Promise<TransportAnswer> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body as BodyInit | undefined,
      signal,
      client: chosenClient(),
    });
    const chunks: Uint8Array[] = [];
    if (response.body !== null) {
      if (request.discardBody) await response.body.cancel().catch(() => undefined);
      else {
        let size = 0;
        for await (const chunk of response.body) {
          size += chunk.length;
          if (size > request.maxBytes) {
            await response.body.cancel().catch(() => undefined);
            throw new TooLarge();
          }
          chunks.push(chunk);
        }
      }
    }
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      body: concat(chunks),
    };
  } catch (error) {
    if (signal.aborted && !(error instanceof TooLarge)) throw new Timeout();
    throw error;
  }
}

function failure(url: string, timeoutMs: number, maxBytes: number, error: unknown): HttpError {
  if (error instanceof Timeout) {
    return new HttpError("timeout", url, `no answer within ${timeoutMs / 1000} s`);
  }
  if (error instanceof TooLarge) {
    return new HttpError("too-large", url, `the answer is larger than ${sizeText(maxBytes)}`);
  }
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return new HttpError(
      "not-permitted",
      url,
      "network access is not permitted (run with --allow-net)",
    );
  }
  return new HttpError("unreachable", url, reasonOf(error));
}

/** `16 MiB`, `1 KiB`, or `100 bytes`. */
function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / 1024 / 1024} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** The useful part of a transport failure: `tcp connect error: Connection refused (os error 111)`. */
function reasonOf(error: unknown): string {
  const err = error as Error;
  const cause = err?.cause instanceof Error ? err.cause.message : "";
  const text = cause !== "" ? cause : String(err?.message ?? error);
  return text
    .replace(/^error sending request for url \([^)]*\): /, "")
    .replace(/^client error \((Connect|SendRequest)\): /, "");
}
