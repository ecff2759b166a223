import { sseEvent } from "../../src/http/sse.ts";
import { createLogger, setLogLevel, setLogSink } from "../../src/core/log.ts";
import { MetricsRegistry } from "../../src/metrics/registry.ts";
import {
  createHttpObserver,
  type Handler,
  type HttpObserver,
  type HttpObserverOptions,
} from "../../src/http/observe.ts";
import { currentRequest, outgoingTraceparent } from "../../src/core/request_context.ts";
import { parseTraceparent } from "../../src/core/trace.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { readSse } from "../_helpers.ts";
import { parsePrometheusText, sampleValue } from "../_prometheus.ts";
import { listen } from "../../src/http/serve.ts";

interface Observed extends Disposable {
  observer: HttpObserver;
  metrics: MetricsRegistry;
  lines: Record<string, unknown>[];
  started: (path: string) => Promise<void>;
  /** The wrapped handler, as the server calls it. */
  wrapped: (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;
}

interface Harness extends Observed, AsyncDisposable {
  url: string;
  server: Deno.HttpServer;
}

/** The remote a loopback client has, for calls without a socket. */
const LOOPBACK_INFO: Deno.ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40_000 },
  completed: Promise.resolve(),
};

/** `handler` wrapped by an observer, its log lines captured; no server. */
function observe(
  handler: Handler,
  routes: string[] = ["/a"],
  options: Partial<HttpObserverOptions> = {},
): Observed {
  const lines: Record<string, unknown>[] = [];
  const waiting: { path: string; resolve: () => void }[] = [];
  setLogLevel("debug");
  const restore = setLogSink((line) => {
    const entry = JSON.parse(line);
    lines.push(entry);
    if (entry.msg === "request started") {
      for (const w of waiting.filter((w) => w.path === entry.path)) w.resolve();
    }
  });
  const metrics = new MetricsRegistry();
  const observer = createHttpObserver({ metrics, log: createLogger("test"), routes, ...options });
  return {
    observer,
    metrics,
    lines,
    wrapped: observer.wrap(handler),
    started: (path) => {
      if (lines.some((l) => l.msg === "request started" && l.path === path)) {
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push({ path, resolve }));
    },
    [Symbol.dispose]() {
      restore();
      setLogLevel("info");
    },
  };
}

/** {@linkcode observe}, served on a free loopback port. */
async function serve(
  handler: Handler,
  routes: string[] = ["/a"],
  options: Partial<HttpObserverOptions> = {},
): Promise<Harness> {
  const observed = observe(handler, routes, options);
  const { server, addr } = await listen({
    hostname: "127.0.0.1",
    port: 0,
    portSetting: "port",
  }, observed.wrapped);
  return {
    ...observed,
    url: `http://127.0.0.1:${addr.port}`,
    server,
    async [Symbol.asyncDispose]() {
      await observed.observer.shutdown(server, 0);
      observed[Symbol.dispose]();
    },
  };
}

function eventStream(
  events: (controller: ReadableStreamDefaultController<Uint8Array>) => void | Promise<void>,
): Response {
  const body = new ReadableStream<Uint8Array>({ start: events });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

Deno.test("createHttpObserver() gives each request an ID and a span under the caller's trace", async () => {
  const seen: { context: ReturnType<typeof currentRequest>; outgoing: string }[] = [];
  using h = observe(async () => {
    await Promise.resolve();
    seen.push({ context: currentRequest(), outgoing: outgoingTraceparent() });
    return Response.json({ ok: true });
  });
  const caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const response = await h.wrapped(
    new Request("http://127.0.0.1/a", { headers: { traceparent: caller } }),
    LOOPBACK_INFO,
  );
  await response.body?.cancel();
  const requestId = response.headers.get("x-request-id");
  assertMatch(requestId ?? "", /^[0-9a-f-]{36}$/);
  const [first] = seen;
  assertEquals(first?.context?.requestId, requestId);
  assertEquals(first?.context?.trace.traceId, "0af7651916cd43dd8448eb211c80319c");
  assertEquals(first?.context?.parentSpanId, "b7ad6b7169203331");
  const outgoing = parseTraceparent(first!.outgoing)!;
  assertEquals(outgoing.traceId, "0af7651916cd43dd8448eb211c80319c");
  assertEquals(outgoing.spanId, first?.context?.trace.spanId);

  const second = await h.wrapped(
    new Request("http://127.0.0.1/a", { headers: { "x-request-id": "abc-123" } }),
    LOOPBACK_INFO,
  );
  await second.body?.cancel();
  assertEquals(second.headers.get("x-request-id"), "abc-123");
  assert(seen[1]?.context?.trace.traceId !== "0af7651916cd43dd8448eb211c80319c");
  assertEquals(seen[1]?.context?.parentSpanId, undefined);
  assertEquals(currentRequest(), undefined);
});

Deno.test("createHttpObserver() writes one JSON line per request and counts it", async () => {
  await using h = await serve((request) => {
    if (new URL(request.url).pathname === "/a") return Promise.resolve(new Response("ok"));
    return Promise.reject(new Error("boom"));
  });
  for (let i = 0; i < 3; i++) await (await fetch(`${h.url}/a`)).text();
  await (await fetch(`${h.url}/nowhere/${crypto.randomUUID()}`, { method: "POST" })).text();
  const done = h.lines.filter((l) => l.msg === "request");
  assertEquals(done.length, 4);
  assertEquals(done.map((l) => l.status), [200, 200, 200, 500]);
  for (const line of done) {
    assertEquals(typeof line.requestId, "string");
    assertEquals(typeof line.traceId, "string");
    assertEquals(typeof line.durationMs, "number");
  }
  const families = parsePrometheusText(h.metrics.render());
  assertEquals(
    sampleValue(families, "mcpcomm_http_requests_total", { route: "/a", status: "200" }),
    3,
  );
  assertEquals(
    sampleValue(families, "mcpcomm_http_requests_total", { route: "other", status: "500" }),
    1,
  );
  assertEquals(
    sampleValue(families, "mcpcomm_http_request_duration_seconds_count", { route: "/a" }),
    3,
  );
  assertEquals(sampleValue(families, "mcpcomm_http_requests_in_flight"), 0);
});

Deno.test("createHttpObserver() logs who asked for what, and at warn level still each 5xx", async () => {
  await using h = await serve((request) => {
    if (new URL(request.url).pathname === "/a") return Promise.resolve(new Response("ok"));
    return Promise.reject(new Error("boom"));
  });
  await (await fetch(`${h.url}/a?x=1`)).text();
  setLogLevel("warn");
  await (await fetch(`${h.url}/a`)).text();
  await (await fetch(`${h.url}/b`, { method: "POST" })).text();
  const done = h.lines.filter((l) => l.msg === "request");
  assertEquals(done.map((l) => [l.method, l.path, l.status]), [["GET", "/a", 200], [
    "POST",
    "/b",
    500,
  ]]);
  for (const line of done) {
    assertEquals(line.remote, "127.0.0.1");
    assertEquals(typeof line.requestId, "string");
    assertEquals(typeof line.spanId, "string");
  }
});

Deno.test("createHttpObserver() without requestContext keeps IDs and logs but no currentRequest()", async () => {
  const seen: unknown[] = [];
  using h = observe(
    async () => {
      await Promise.resolve();
      seen.push(currentRequest());
      return Response.json({ ok: true });
    },
    ["/a"],
    { requestContext: false },
  );
  const response = await h.wrapped(
    new Request("http://127.0.0.1/a", { headers: { "x-request-id": "abc-123" } }),
    LOOPBACK_INFO,
  );
  await response.body?.cancel();
  assertEquals(response.headers.get("x-request-id"), "abc-123");
  assertEquals(seen, [undefined]);
  const [line] = h.lines.filter((l) => l.msg === "request");
  assertEquals([line?.requestId, line?.status], ["abc-123", 200]);
});

Deno.test("HttpObserver.shutdown() lets an in-flight request and stream finish", async () => {
  const release = Promise.withResolvers<void>();
  await using h = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    await release.promise;
    if (path === "/slow") return new Response("finished");
    return eventStream(async (c) => {
      for (let i = 0; i < 3; i++) {
        c.enqueue(sseEvent({ text: `part ${i}` }));
        await new Promise((r) => setTimeout(r, 5));
      }
      c.enqueue(sseEvent({ done: true }, "done"));
      c.close();
    });
  }, ["/slow", "/stream"]);
  const slow = fetch(`${h.url}/slow`).then((r) => r.text());
  const stream = fetch(`${h.url}/stream`, { method: "POST" }).then(readSse);
  await Promise.all([h.started("/slow"), h.started("/stream")]);
  assertEquals(h.observer.active, 2);

  const stopped = h.observer.shutdown(h.server, 30_000);
  assert(h.observer.stopping);
  await assertRejects(() => fetch(`${h.url}/slow`), TypeError);
  release.resolve();
  assertEquals(await slow, "finished");
  const events = await stream;
  assertEquals(events.map((e) => e.event ?? "message"), ["message", "message", "message", "done"]);
  await stopped;
  assertEquals(h.observer.active, 0);
});

Deno.test("HttpObserver.shutdown() ends what is left at the deadline with a final event", async () => {
  const never = new Promise<Response>(() => {});
  await using h = await serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/hang") return never;
    return Promise.resolve(eventStream((c) => {
      c.enqueue(sseEvent({ text: "first" }));
    }));
  }, ["/hang", "/stream", "/events"]);
  const hang = fetch(`${h.url}/hang`);
  const post = await fetch(`${h.url}/stream`, { method: "POST" });
  const get = await fetch(`${h.url}/events`);
  await h.started("/hang");

  await h.observer.shutdown(h.server, 50);
  const hung = await hang;
  assertEquals(hung.status, 503);
  assertEquals((await hung.json()).error.code, "unavailable");
  for (const response of [post, get]) {
    const events = await readSse(response);
    assertEquals(events.at(-1)?.event, "error");
    assertEquals(JSON.parse(events.at(-1)!.data).error.code, "unavailable");
    assertEquals(events[0]?.data, JSON.stringify({ text: "first" }));
  }
  const families = parsePrometheusText(h.metrics.render());
  assertEquals(sampleValue(families, "mcpcomm_sse_streams_cut_total"), 2);
  assertEquals(sampleValue(families, "mcpcomm_sse_streams_open"), 0);
});

/** Opens one idle subscription with `init`, shuts down, and checks it ended at once with an error. */
async function assertIdleSubscriptionEndsAtOnce(init?: RequestInit): Promise<void> {
  await using h = await serve(() =>
    Promise.resolve(eventStream((c) => {
      c.enqueue(sseEvent({ hello: true }));
    })), ["/events"]);
  const subscription = await fetch(`${h.url}/events`, init);
  await h.started("/events");
  const started = performance.now();
  await h.observer.shutdown(h.server, 60_000);
  assert(performance.now() - started < 30_000, "did not wait for the deadline");
  const events = await readSse(subscription);
  assertEquals(events.map((e) => e.event ?? "message"), ["message", "error"]);
}

Deno.test("HttpObserver.shutdown() ends idle subscriptions at once when no work is left", () =>
  assertIdleSubscriptionEndsAtOnce());

Deno.test("HttpObserver.shutdown() ends an idle MCP subscriptions/listen stream (a POST) at once too", () =>
  assertIdleSubscriptionEndsAtOnce({
    method: "POST",
    headers: { "mcp-method": "subscriptions/listen" },
  }));
