/**
 * https without certificate checks, for requests marked `insecure`: `node:https` with
 * `rejectUnauthorized: false` and no connection reuse, because Deno's `fetch` cannot skip
 * the check for one request.
 *
 * @module
 */

import { request as httpsRequest } from "node:https";
import { withChosenEnvironment } from "./network.ts";
import {
  concat,
  Timeout,
  TooLarge,
  type TransportAnswer,
  type TransportRequest,
} from "./transport.ts";

/**
 * Sends the request. The promise settles on the first of the answer's end, an error, the
 * time limit or the size cap (it does not wait for the socket to acknowledge `destroy`).
 */
export async function insecureHttps(request: TransportRequest): Promise<TransportAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        finish();
      };
      const body = typeof request.body === "string"
        ? new TextEncoder().encode(request.body)
        : request.body;
      const outgoing = withChosenEnvironment(() =>
        httpsRequest(request.url, {
          method: request.method,
          headers: body === undefined
            ? request.headers
            : { ...request.headers, "Content-Length": String(body.length) },
          rejectUnauthorized: false,
          // No certificate is checked, so no CA is needed; without this, node:https reads the
          // system's root certificates, which needs `--allow-sys=ca` (siftrust lacks it).
          ca: [],
          agent: false,
        }, (incoming) => {
          const chunks: Uint8Array[] = [];
          let size = 0;
          const finish = () =>
            settle(() =>
              resolve({
                status: incoming.statusCode ?? 0,
                statusText: incoming.statusMessage ?? "",
                headers: headersOf(incoming.headers),
                body: concat(chunks),
              })
            );
          if (request.discardBody) {
            finish();
            outgoing.destroy();
            return;
          }
          incoming.on("data", (chunk: Uint8Array) => {
            size += chunk.length;
            if (size <= request.maxBytes) chunks.push(chunk);
            else {
              settle(() => reject(new TooLarge()));
              outgoing.destroy();
            }
          });
          incoming.on("end", finish);
          incoming.on("error", (error) => settle(() => reject(error)));
        })
      );
      timer = setTimeout(() => {
        settle(() => reject(new Timeout()));
        outgoing.destroy();
      }, request.timeoutMs);
      outgoing.on("error", (error) => settle(() => reject(error)));
      outgoing.end(body);
    });
  } finally {
    clearTimeout(timer);
  }
}

function headersOf(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}
