/**
 * What the client hands its two transports (`fetch`, and `node:https` for insecure https),
 * and what they give back.
 *
 * @module
 */

import type { HttpResponse } from "./client.ts";

/** One request, with its limits resolved. */
export interface TransportRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs: number;
  maxBytes: number;
  discardBody: boolean;
}

/** A complete answer, before the client adds the URL. */
export type TransportAnswer = Omit<HttpResponse, "url">;

/** The time limit ran out. */
export class Timeout extends Error {}
/** The answer is larger than the cap. */
export class TooLarge extends Error {}

/** Joins chunks into one array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
