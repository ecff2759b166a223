import { serveGuarded } from "../../src/http/_conn_guard.ts";
import { listen, type ListenOptions } from "../../src/http/serve.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Generous bound for a cut that the 1 s timeout should make within about 1.25 s. */
const CUT_WITHIN_MS = 10_000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function serve(
  handler: Deno.ServeHandler<Deno.NetAddr>,
  guard: Pick<ListenOptions, "readTimeoutSeconds" | "maxConnectionsPerAddress"> = {
    readTimeoutSeconds: 1,
  },
) {
  const controller = new AbortController();
  const { server, addr, guarded } = await listen({
    hostname: "0.0.0.0",
    port: 0,
    portSetting: "port",
    signal: controller.signal,
    ...guard,
  }, handler);
  return {
    port: addr.port,
    guarded,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await server.finished;
    },
  };
}

/** Reads until the server closes the connection, or gives up (and closes it) after `ms`. */
async function readToEnd(conn: Deno.Conn, ms: number): Promise<{ text: string; closed: boolean }> {
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), ms);
  });
  const buffer = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buffer), expired]);
      if (n === "expired") return { text, closed: false };
      if (n === null) return { text, closed: true };
      text += decoder.decode(buffer.subarray(0, n));
    }
  } catch {
    return { text, closed: true };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Reads `Content-Length` answers off a keep-alive connection, one per call. */
function answerReader(conn: Deno.Conn): () => Promise<{ status: number; body: string }> {
  let text = "";
  const buffer = new Uint8Array(4096);
  return async () => {
    for (;;) {
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
        if (text.length >= end + 4 + length) {
          const answer = {
            status: Number(text.slice(9, 12)),
            body: text.slice(end + 4, end + 4 + length),
          };
          text = text.slice(end + 4 + length);
          return answer;
        }
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`connection closed after ${JSON.stringify(text)}`);
      text += decoder.decode(buffer.subarray(0, n));
    }
  };
}

/** Reads one answer off `conn`. */
function readAnswer(conn: Deno.Conn): Promise<{ status: number; body: string }> {
  return answerReader(conn)();
}

/** Writes `chunks` one every `everyMs` (repeating the last one for ever) until writing fails. */
function trickle(conn: Deno.Conn, chunks: string[], everyMs: number): Promise<void> {
  return (async () => {
    for (let i = 0;; i++) {
      try {
        await conn.write(encoder.encode(chunks[Math.min(i, chunks.length - 1)]!));
      } catch {
        return;
      }
      await delay(everyMs);
    }
  })();
}

Deno.test("a client sending one header byte every 200 ms is answered 408 and cut", async () => {
  await using served = await serve(() => new Response("ok"));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  const header = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(1000);
  const writing = trickle(conn, [...header], 200);
  const { text, closed } = await readToEnd(conn, CUT_WITHIN_MS);
  await writing;
  assert(closed, "the slow client was still connected after 10 s");
  assertMatch(text, /^HTTP\/1\.1 408 /);
  assertMatch(text, /"code":"request_timeout"/);
  assertMatch(text, /connection: close/i);
});

Deno.test("a chunked body that never ends is cut while the handler waits for it", async () => {
  let handlerSaw = "";
  await using served = await serve(async (request) => {
    try {
      await request.text();
      handlerSaw = "the whole body";
    } catch {
      handlerSaw = "a cut body";
    }
    return new Response("read");
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  const writing = trickle(conn, [
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    "1\r\na\r\n",
  ], 100);
  const { text, closed } = await readToEnd(conn, CUT_WITHIN_MS);
  await writing;
  assert(closed, "the endless body was still being read after 10 s");
  assertMatch(text, /^HTTP\/1\.1 408 /);
  assert(handlerSaw !== "the whole body");
});

Deno.test("a keep-alive client making requests with bodies and pauses is served on one connection", async () => {
  const seen: string[] = [];
  await using served = await serve(async (request, info) => {
    const body = await request.text();
    seen.push(`${request.method} ${body} ${info.remoteAddr.port}`);
    return new Response(`${request.method}:${body.length}`);
  });
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  const port = (conn.localAddr as Deno.NetAddr).port;
  const readAnswer = answerReader(conn);
  const requests = [
    "GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "GET /d HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n",
  ];
  const answers: string[] = [];
  for (const request of requests) {
    await conn.write(encoder.encode(request));
    answers.push((await readAnswer()).body);
    if (request.includes("/d ")) answers.push((await readAnswer()).body);
    await delay(400);
  }
  assertEquals(answers, ["GET:0", "POST:5", "POST:5", "GET:0", "GET:0"]);
  assertEquals(seen, [
    `GET  ${port}`,
    `POST hello ${port}`,
    `POST abcde ${port}`,
    `GET  ${port}`,
    `GET  ${port}`,
  ]);
});

Deno.test("an idle keep-alive connection is closed after the timeout", async () => {
  await using served = await serve(() => new Response("ok"));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  assertEquals((await readAnswer(conn)).status, 200);
  const { text, closed } = await readToEnd(conn, CUT_WITHIN_MS);
  assert(closed, "the idle connection was still open after 10 s");
  assertEquals(text, "");
});

Deno.test("a slow answer and a silent event stream outlive the timeout", async () => {
  await using served = await serve((request) => {
    if (new URL(request.url).pathname === "/slow") {
      return delay(2500).then(() => new Response("late"));
    }
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("event: first\ndata: 1\n\n"));
        await delay(2500);
        controller.enqueue(encoder.encode("event: second\ndata: 2\n\n"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const slow = await fetch(`http://127.0.0.1:${served.port}/slow`);
  assertEquals(await slow.text(), "late");
  const stream = await fetch(`http://127.0.0.1:${served.port}/stream`);
  assertEquals(await stream.text(), "event: first\ndata: 1\n\nevent: second\ndata: 2\n\n");
});

Deno.test("a WebSocket idle for longer than the timeout stays open", async () => {
  await using served = await serve((request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(`echo ${event.data}`);
    return response;
  });
  const socket = new WebSocket(`ws://127.0.0.1:${served.port}/ws`);
  const messages: string[] = [];
  const got = Promise.withResolvers<void>();
  socket.onmessage = (event) => {
    messages.push(event.data as string);
    got.resolve();
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  await delay(2500);
  socket.send("hi");
  await got.promise;
  assertEquals(messages, ["echo hi"]);
  const closed = new Promise((resolve) => socket.onclose = resolve);
  socket.close();
  await closed;
});

Deno.test("the per-address limit refuses the connection past it with 503, and accepts again after one closes", async () => {
  const controller = new AbortController();
  const server = await serveGuarded({
    listener: Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    readTimeoutMs: 60_000,
    maxPerAddress: 2,
    limitLoopback: true,
    signal: controller.signal,
  }, () => new Response("ok"));
  const open = async (connection = "keep-alive") => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(
      encoder.encode(`GET / HTTP/1.1\r\nHost: x\r\nConnection: ${connection}\r\n\r\n`),
    );
    return conn;
  };
  try {
    const first = await open();
    const second = await open();
    assertEquals((await readAnswer(first)).status, 200);
    assertEquals((await readAnswer(second)).status, 200);
    const third = await readToEnd(await open(), CUT_WITHIN_MS);
    assert(third.closed);
    assertMatch(third.text, /^HTTP\/1\.1 503 /);
    assertMatch(third.text, /"code":"too_many_connections"/);
    first.close();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await delay(50);
      const { text } = await readToEnd(await open("close"), CUT_WITHIN_MS);
      status = Number(text.slice(9, 12));
    }
    assertEquals(status, 200);
    second.close();
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("listen() does not count loopback clients against the per-address limit", async () => {
  await using served = await serve(() => new Response("ok"), { maxConnectionsPerAddress: 1 });
  const conns = await Promise.all(
    [1, 2, 3].map(() => Deno.connect({ hostname: "127.0.0.1", port: served.port })),
  );
  for (const conn of conns) {
    await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertEquals((await readAnswer(conn)).status, 200);
  }
  for (const conn of conns) conn.close();
});

Deno.test("the handler sees the client's own address and port", async () => {
  await using served = await serve((_request, info) =>
    new Response(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`)
  );
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const local = conn.localAddr as Deno.NetAddr;
  assertEquals((await readAnswer(conn)).body, `127.0.0.1:${local.port}`);
});

Deno.test("a direct connection to the internal loopback port is refused with 403", async () => {
  const controller = new AbortController();
  let called = false;
  const server = await serveGuarded({
    listener: Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    readTimeoutMs: 1000,
    maxPerAddress: 4,
    signal: controller.signal,
  }, () => {
    called = true;
    return new Response("secret");
  });
  try {
    const direct = await fetch(`http://127.0.0.1:${server.internalAddr.port}/`);
    assertEquals(direct.status, 403);
    assertMatch(await direct.text(), /"code":"forbidden"/);
    assertEquals(called, false);
    const guarded = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assertEquals(await guarded.text(), "secret");
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("with both settings 0 listen() serves straight from Deno.serve", async () => {
  await using served = await serve((_request, info) => new Response(String(info.remoteAddr.port)), {
    readTimeoutSeconds: 0,
    maxConnectionsPerAddress: 0,
  });
  assertEquals(served.guarded, false);
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: served.port });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const local = conn.localAddr as Deno.NetAddr;
  assertEquals((await readAnswer(conn)).body, String(local.port));
});

Deno.test("listen() puts the guard in front on a non-loopback bind only", async (t) => {
  for (const [hostname, guarded] of [["0.0.0.0", true], ["127.0.0.1", false]] as const) {
    await t.step(hostname, async () => {
      const controller = new AbortController();
      const listening = await listen(
        { hostname, port: 0, portSetting: "port", signal: controller.signal },
        () => new Response("ok"),
      );
      assertEquals(listening.guarded, guarded);
      controller.abort();
      await listening.server.finished;
    });
  }
});
