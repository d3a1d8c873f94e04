/**
 * The one HTTP client (core/http) against servers on 127.0.0.1: what it sends (method,
 * headers, body, User-Agent), and each typed failure — time limit (before the headers and
 * while the body streams), size cap, bad URLs, a closed port — and the insecure-TLS path
 * against a server with a self-signed certificate.
 *
 * @module
 */

import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import {
  basicAuthorization,
  HttpError,
  type HttpErrorKind,
  httpRequest,
  responseJson,
  responseText,
} from "../../core/http/mod.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

/** A server on 127.0.0.1 for one test; `close` stops it. */
function serve(
  handler: (request: Request) => Response | Promise<Response>,
  tls?: { cert: string; key: string },
): { base: string; close: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, ...tls },
    handler,
  );
  return {
    base: `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** Expects the request to fail with this kind; returns the error. */
async function failsWith(kind: HttpErrorKind, promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(
    () => assert.fail(`expected a ${kind} failure`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.kind, kind, error.message);
  return error;
}

Deno.test("GET and POST: method, headers, body and User-Agent are sent; any status is an answer", async () => {
  const seen: { method: string; ua: string | null; auth: string | null; body: string }[] = [];
  const server = serve(async (request) => {
    seen.push({
      method: request.method,
      ua: request.headers.get("user-agent"),
      auth: request.headers.get("authorization"),
      body: await request.text(),
    });
    const path = new URL(request.url).pathname;
    if (path === "/missing") return new Response("nope", { status: 404, statusText: "Not Found" });
    return Response.json({ ok: true }, { headers: { "X-Test": "yes" } });
  });
  try {
    const got = await httpRequest(`${server.base}/x`, {
      headers: { Authorization: basicAuthorization("u", "p") },
    });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("x-test"), "yes");
    assert.deepEqual(responseJson(got), { ok: true });
    const posted = await httpRequest(new URL(`${server.base}/add`), {
      method: "POST",
      body: "keytext=abc",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(posted.status, 200);
    const missing = await httpRequest(`${server.base}/missing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.statusText, "Not Found");
    assert.equal(responseText(missing), "nope");
    assert.equal(responseJson(missing), undefined, "not JSON");
    assert.deepEqual(seen, [
      { method: "GET", ua: `siftrust/${denoJson.version}`, auth: "Basic dTpw", body: "" },
      { method: "POST", ua: `siftrust/${denoJson.version}`, auth: null, body: "keytext=abc" },
      { method: "GET", ua: `siftrust/${denoJson.version}`, auth: null, body: "" },
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("basicAuthorization encodes UTF-8 user names and passwords", () => {
  assert.equal(basicAuthorization("u", "p"), "Basic dTpw");
  // "é" is two bytes in UTF-8: c3 a9.
  assert.equal(basicAuthorization("é", "ü"), `Basic ${btoa("\xc3\xa9:\xc3\xbc")}`);
});

Deno.test("time limit: no headers, or a body that stalls, is a timeout within the limit", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const server = serve((request) => {
    if (new URL(request.url).pathname === "/silent") {
      return released.then(() => new Response("late"));
    }
    // Headers at once, then one chunk, then nothing until released.
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("first chunk"));
        await released;
        controller.close();
      },
    });
    return new Response(body);
  });
  try {
    for (const path of ["/silent", "/stall"]) {
      const started = Date.now();
      const error = await failsWith(
        "timeout",
        httpRequest(`${server.base}${path}`, { timeoutMs: 300 }),
      );
      assert.equal(error.reason, "no answer within 0.3 s");
      assert.ok(Date.now() - started < 3000, `${path}: given up in time`);
    }
  } finally {
    release();
    await server.close();
  }
});

Deno.test("size cap: counted while the body streams; the cap itself is allowed; discardBody reads none", async () => {
  const server = serve((request) => {
    const size = Number(new URL(request.url).searchParams.get("size"));
    // Sent in 1000-byte chunks, without a Content-Length.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let sent = 0; sent < size; sent += 1000) {
          controller.enqueue(new Uint8Array(Math.min(1000, size - sent)).fill(0x61));
        }
        controller.close();
      },
    });
    return new Response(body);
  });
  try {
    const exact = await httpRequest(`${server.base}/?size=4096`, { maxBytes: 4096 });
    assert.equal(exact.body.length, 4096);
    const error = await failsWith(
      "too-large",
      httpRequest(`${server.base}/?size=4097`, { maxBytes: 4096 }),
    );
    assert.equal(error.reason, "the answer is larger than 4 KiB");
    const discarded = await httpRequest(`${server.base}/?size=100000`, {
      maxBytes: 10,
      discardBody: true,
    });
    assert.equal(discarded.status, 200);
    assert.equal(discarded.body.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("bad URLs and a closed port are typed failures", async () => {
  await failsWith("invalid-url", httpRequest("not a url"));
  const ftp = await failsWith("invalid-url", httpRequest("ftp://127.0.0.1/x"));
  assert.equal(ftp.message, "cannot reach ftp://127.0.0.1/x: unsupported scheme ftp");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const closed = await failsWith("unreachable", httpRequest(`http://127.0.0.1:${port}/`));
  assert.match(closed.message, new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}/: `));
});

Deno.test("insecure: a self-signed certificate is refused, unless the request is insecure", async () => {
  const cert = await Deno.readTextFile(new URL("localhost.crt", FIXTURES));
  const key = await Deno.readTextFile(new URL("localhost.key", FIXTURES));
  const server = serve(async (request) => {
    const body = await request.text();
    return new Response(`${request.method} ${body} ${request.headers.get("user-agent")}`, {
      status: 201,
      headers: { "X-Test": "tls" },
    });
  }, { cert, key });
  try {
    await failsWith("unreachable", httpRequest(`${server.base}/`));
    const answer = await httpRequest(`${server.base}/`, {
      method: "POST",
      body: "hello",
      insecure: true,
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get("x-test"), "tls");
    assert.equal(responseText(answer), `POST hello siftrust/${denoJson.version}`);
    await failsWith(
      "too-large",
      httpRequest(`${server.base}/`, { insecure: true, maxBytes: 4 }),
    );
    const headersOnly = await httpRequest(`${server.base}/`, { insecure: true, discardBody: true });
    assert.equal(headersOnly.status, 201);
    assert.equal(headersOnly.body.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("insecure: a server that never answers is a timeout", async () => {
  // A TCP listener that accepts and never speaks: the TLS handshake never completes.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    const started = Date.now();
    await failsWith(
      "timeout",
      httpRequest(`https://127.0.0.1:${port}/`, { insecure: true, timeoutMs: 300 }),
    );
    assert.ok(Date.now() - started < 3000);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});
