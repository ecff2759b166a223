import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { hasOpenssl, makeTestCerts } from "../_tls.ts";
import { isCertificateError } from "../../src/http/tls.ts";
import { createHttp1Pool, type Http1PoolOptions } from "../../src/http/http1.ts";
import { serveOnLoopback } from "../_serve.ts";

/** A real Deno.serve on a free port that notes each request's client port. */
async function startServer(
  handler: (request: Request) => Response | Promise<Response>,
  tls?: { cert: string; key: string },
) {
  const clientPorts: number[] = [];
  const served = await serveOnLoopback((request, info) => {
    clientPorts.push((info.remoteAddr as Deno.NetAddr).port);
    return handler(request);
  }, { tls });
  return { url: served.url, clientPorts, [Symbol.asyncDispose]: served.stop };
}

/** A raw TCP server: answers each connection's first request with `answer`, then closes it. */
function startRawServer(answer: string) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const served = (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        const buffer = new Uint8Array(65536);
        let text = "";
        while (!text.includes("\r\n\r\n")) {
          const n = await conn.read(buffer);
          if (n === null) break;
          text += new TextDecoder().decode(buffer.subarray(0, n));
        }
        await conn.write(new TextEncoder().encode(answer)).catch(() => {});
        conn.close();
      })();
    }
  })().catch(() => {});
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await served;
    },
  };
}

/** A GET to a raw server that sends `answer` rejects with an error naming `message`. */
async function assertAnswerRefused(
  answer: string,
  message: string,
  options?: Http1PoolOptions,
): Promise<void> {
  await using raw = startRawServer(answer);
  const pool = createHttp1Pool(raw.url, options);
  try {
    await assertRejects(
      () => pool.request({ method: "GET", path: "/", headers: {} }),
      Error,
      message,
    );
  } finally {
    pool.close();
  }
}

Deno.test("createHttp1Pool() exchanges requests with Deno.serve over kept-alive connections", async (t) => {
  await using server = await startServer(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/echo") {
      return Response.json({
        method: request.method,
        body: await request.text(),
        type: request.headers.get("content-type"),
        trace: request.headers.get("traceparent"),
      });
    }
    if (url.pathname === "/chunked") {
      const parts = ['{"a":', '"ü', 'nïcode"}'];
      return new Response(
        new ReadableStream({
          pull(controller) {
            const next = parts.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(next));
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    }
    if (url.pathname === "/empty") return new Response(null, { status: 204 });
    if (url.pathname === "/big") return Response.json({ text: "x".repeat(1 << 20) });
    return Response.json({ error: { code: "not_found", message: "no" } }, {
      status: 404,
      headers: { "retry-after": "3" },
    });
  });
  const pool = createHttp1Pool(server.url);
  try {
    await t.step("a POST carries its headers and body; the answer is a Response", async () => {
      const body = JSON.stringify({ message: "héllo" });
      const response = await pool.request({
        method: "POST",
        path: "/echo",
        headers: { "content-type": "application/json", traceparent: "00-abc" },
        body,
      });
      assertEquals(response.status, 200);
      assertEquals(await response.json(), {
        method: "POST",
        body,
        type: "application/json",
        trace: "00-abc",
      });
    });

    await t.step("a chunked answer is read whole, multi-byte text intact", async () => {
      const response = await pool.request({ method: "GET", path: "/chunked", headers: {} });
      assertEquals(await response.json(), { a: "ünïcode" });
    });

    await t.step("status, status text and headers of an error answer are kept", async () => {
      const response = await pool.request({ method: "GET", path: "/missing", headers: {} });
      assertEquals(response.status, 404);
      assertEquals(response.headers.get("retry-after"), "3");
      assertEquals((await response.json()).error.code, "not_found");
    });

    await t.step("a 1 MiB answer spanning many reads arrives whole", async () => {
      const response = await pool.request({ method: "GET", path: "/big", headers: {} });
      assertEquals((await response.json()).text.length, 1 << 20);
    });

    await t.step("a 204 has no body", async () => {
      const response = await pool.request({ method: "GET", path: "/empty", headers: {} });
      assertEquals(response.status, 204);
      assertEquals(response.body, null);
    });

    await t.step("sequential requests reuse one connection", () => {
      assertEquals(new Set(server.clientPorts).size, 1, String(server.clientPorts));
    });

    await t.step("20 concurrent requests each get their own answer", async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const response = await pool.request({
          method: "POST",
          path: "/echo",
          headers: {},
          body: String(i),
        });
        return (await response.json()).body;
      }));
      assertEquals(answers, Array.from({ length: 20 }, (_, i) => String(i)));
    });

    await t.step("a header value with a line break is refused before sending", async () => {
      await assertRejects(
        () => pool.request({ method: "GET", path: "/echo", headers: { x: "a\r\nb: c" } }),
        TypeError,
        "line break",
      );
    });
  } finally {
    pool.close();
  }
});

Deno.test("createHttp1Pool() replaces a kept connection the server closed, once", async () => {
  const body = '{"ok":true}';
  await using raw = startRawServer(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
  const pool = createHttp1Pool(raw.url);
  try {
    for (let i = 0; i < 3; i++) {
      const response = await pool.request({ method: "POST", path: "/x", headers: {}, body: "{}" });
      assertEquals(await response.json(), { ok: true });
    }
    assertEquals(raw.connections, 3);
  } finally {
    pool.close();
  }
});

Deno.test("createHttp1Pool() fails clearly on a cut answer, a refused port and an abort", async (t) => {
  await t.step(
    "an answer cut short rejects, naming the closed connection",
    () =>
      assertAnswerRefused(
        'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial',
        "connection closed before the answer was complete",
      ),
  );

  await t.step("an answer without a length is read to the connection's end", async () => {
    await using raw = startRawServer("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it");
    const pool = createHttp1Pool(raw.url);
    const response = await pool.request({ method: "GET", path: "/", headers: {} });
    assertEquals(await response.text(), "all of it");
    pool.close();
  });

  await t.step("an answer over maxAnswerBytes is refused", () =>
    assertAnswerRefused(
      "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n",
      "larger than 1000 bytes",
      { maxAnswerBytes: 1000 },
    ));

  await t.step("a refused port rejects with Deno's ConnectionRefused", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const pool = createHttp1Pool(`http://127.0.0.1:${port}`);
    const error = await assertRejects(() =>
      pool.request({ method: "GET", path: "/", headers: {} })
    );
    assertMatch(error.message, /connection refused/i);
    pool.close();
  });

  await t.step("an abort while waiting for the answer rejects with its reason", async () => {
    const gate = Promise.withResolvers<void>();
    await using server = await startServer(async () => {
      await gate.promise;
      return new Response("late");
    });
    const pool = createHttp1Pool(server.url);
    const controller = new AbortController();
    const pending = pool.request({
      method: "GET",
      path: "/",
      headers: {},
      signal: controller.signal,
    });
    controller.abort(new Error("gave up"));
    const error = await assertRejects(() => pending);
    assertEquals(error.message, "gave up");
    gate.resolve();
    pool.close();
  });
});

Deno.test({
  name: "createHttp1Pool() speaks HTTPS, trusting caCerts, and refuses an unknown issuer",
  ignore: !(await hasOpenssl()),
  async fn() {
    const certs = await makeTestCerts();
    try {
      await using server = await startServer(() => Response.json({ tls: true }), {
        cert: await Deno.readTextFile(certs.cert),
        key: await Deno.readTextFile(certs.key),
      });
      const trusted = createHttp1Pool(server.url, {
        caCerts: [await Deno.readTextFile(certs.caCert)],
      });
      const response = await trusted.request({ method: "GET", path: "/", headers: {} });
      assertEquals(await response.json(), { tls: true });
      trusted.close();
      const untrusting = createHttp1Pool(server.url);
      const error = await assertRejects(() =>
        untrusting.request({ method: "GET", path: "/", headers: {} })
      );
      assert(isCertificateError(error), String(error));
      untrusting.close();
    } finally {
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});
