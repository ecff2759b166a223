/**
 * 2025-era sessions shared through a real Redis: two handlers (two replicas) on one Redis serve
 * one session, a DELETE on either ends it on both, a cut stream resumes with `Last-Event-ID` on
 * the other, the rate limit is shared, and a Redis outage answers 503 JSON, then recovers.
 * @module
 */
import { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { createLogger } from "../../src/core/log.ts";
import { createMcpHttpHandler } from "../../src/mcp/http.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { connectRedis } from "../../src/shared/redis.ts";
import { assert, assertEquals } from "../_assert.ts";
import { eventually, readSse, readThenCut, testConfig } from "../_helpers.ts";
import { redisMissing, startRedis, type TestRedis } from "../_redis.ts";
import { initializeBody, POST_HEADERS } from "./_harness.ts";

const URL_MCP = "http://127.0.0.1:8001/mcp";
const ignore = redisMissing !== undefined;
const skipped = redisMissing ? ` (skipped: ${redisMissing})` : "";

/** Resolves the `slow` tool's pending calls. */
const gates: (() => void)[] = [];

function createServer(): McpServer {
  const server = new McpServer({ name: "shared-test", version: "1.0.0" }, {
    capabilities: { tools: { listChanged: false } },
  });
  defineTool(
    server,
    "echo",
    { description: "Echo", inputSchema: { text: z.string() } },
    ({ text }) => jsonResult({ text }, text),
  );
  defineTool(
    server,
    "slow",
    { description: "Reports progress, then waits for the test", inputSchema: {} },
    async (_args, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken, progress: 1, total: 2 },
        });
      }
      await new Promise<void>((resolve) => gates.push(resolve));
      return jsonResult({ done: true }, "done");
    },
  );
  return server;
}

async function replica(redis: TestRedis, env: Record<string, string> = {}) {
  const log = createLogger("shared-test");
  const shared = await connectRedis({ url: redis.url, role: "test", log });
  const mcp = createMcpHttpHandler({
    createServer,
    config: testConfig(env),
    bindHost: "127.0.0.1",
    log,
    shared,
  });
  return Object.assign(mcp, { shared, [Symbol.asyncDispose]: () => mcp.close() });
}

type Replica = Awaited<ReturnType<typeof replica>>;

function post(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(URL_MCP, {
    method: "POST",
    headers: { ...POST_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
}

async function open(r: Replica, protocolVersion = "2025-11-25"): Promise<string> {
  const response = (await r.handle(post(initializeBody(protocolVersion))))!;
  assertEquals(response.status, 200, await response.clone().text());
  const id = response.headers.get("mcp-session-id")!;
  await response.body?.cancel();
  const initialized = (await r.handle(
    post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": id }),
  ))!;
  assertEquals(initialized.status, 202);
  return id;
}

let nextId = 10;

/** A request in session `id` on replica `r`: its HTTP status and the JSON-RPC answer, if any. */
async function call(
  r: Replica,
  id: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = (await r.handle(
    post({ jsonrpc: "2.0", id: nextId++, method, params }, { "mcp-session-id": id }),
  ))!;
  if (response.headers.get("content-type")?.includes("text/event-stream")) {
    const events = await readSse(response);
    const answer = events.map((e) => e.data).filter((d) => d !== "").at(-1) ?? "{}";
    return { status: response.status, body: JSON.parse(answer) };
  }
  return { status: response.status, body: await response.json() };
}

function sessionRequest(method: string, id: string): Request {
  return new Request(URL_MCP, { method, headers: { "mcp-session-id": id, ...POST_HEADERS } });
}

Deno.test({
  name: `Replicas on one Redis serve one session: initialize on one, calls on the other${skipped}`,
  ignore,
  fn: async () => {
    await using redis = await startRedis();
    await using r1 = await replica(redis);
    await using r2 = await replica(redis);
    const id = await open(r1, "2025-06-18");
    assertEquals(r2.sessionCount, 0);
    const listed = await call(r2, id, "tools/list");
    assertEquals(listed.status, 200);
    const tools = (listed.body.result as { tools: { name: string }[] }).tools.map((t) => t.name);
    assertEquals(tools.sort(), ["echo", "slow"]);
    const echoed = await call(r2, id, "tools/call", { name: "echo", arguments: { text: "hi" } });
    assertEquals((echoed.body.result as { content: { text: string }[] }).content[0]?.text, "hi");
    assertEquals(r2.sessionCount, 1);
    // The adopted session keeps the protocol version the client negotiated on replica 1.
    const versioned = (await r2.handle(post(
      { jsonrpc: "2.0", id: nextId++, method: "ping" },
      { "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" },
    )))!;
    assertEquals(versioned.status, 200);
    await versioned.body?.cancel();
    assertEquals((await call(r1, id, "ping")).status, 200);
    // A second initialize in the adopted session is refused as on the first replica.
    const again = (await r2.handle(post(initializeBody(), { "mcp-session-id": id })))!;
    assertEquals(again.status, 400);
    await again.body?.cancel();
    // An unknown session is still 404 everywhere.
    assertEquals((await call(r2, "0".repeat(40), "ping")).status, 404);
  },
});

Deno.test({
  name: `A DELETE on one replica ends the session on every replica${skipped}`,
  ignore,
  fn: async () => {
    await using redis = await startRedis();
    await using r1 = await replica(redis);
    await using r2 = await replica(redis);
    const id = await open(r1);
    assertEquals((await call(r2, id, "ping")).status, 200);
    assertEquals([r1.sessionCount, r2.sessionCount], [1, 1]);
    const deleted = (await r2.handle(sessionRequest("DELETE", id)))!;
    assertEquals(deleted.status, 200);
    assertEquals(r2.sessionCount, 0);
    const gone = await call(r1, id, "ping");
    assertEquals(gone.status, 404);
    assertEquals(r1.sessionCount, 0);
    assertEquals((await call(r2, id, "ping")).status, 404);
    // A DELETE for a session only in Redis (held by no replica) ends it too.
    const other = await open(r1);
    await r1.close();
    await using r3 = await replica(redis);
    assertEquals((await r3.handle(sessionRequest("DELETE", other)))!.status, 200);
    assertEquals((await call(r3, other, "ping")).status, 404);
    assertEquals((await r3.handle(sessionRequest("DELETE", other)))!.status, 404);
  },
});

Deno.test({
  name: `A cut stream resumes with Last-Event-ID on the other replica${skipped}`,
  ignore,
  fn: async () => {
    await using redis = await startRedis();
    await using r1 = await replica(redis);
    await using r2 = await replica(redis);
    const id = await open(r1);
    const response = (await r1.handle(post({
      jsonrpc: "2.0",
      id: 99,
      method: "tools/call",
      params: { name: "slow", arguments: {}, _meta: { progressToken: "p1" } },
    }, { "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" })))!;
    assertEquals(response.headers.get("content-type"), "text/event-stream");
    // The priming event (empty, with an ID) and the progress notification; then the cut.
    const seen = await readThenCut(response, 2);
    assertEquals(seen.length, 2);
    assertEquals(seen[0]!.data, "");
    assertEquals(JSON.parse(seen[1]!.data).method, "notifications/progress");
    const lastEventId = seen[1]!.id!;
    assert(lastEventId, "the progress event has an ID");
    // The call finishes on replica 1 while no stream is open: its answer goes to Redis.
    await eventually(() => gates.length > 0, { what: "the call to start", timeoutMs: 10_000 });
    gates.shift()!();
    const replayed = await eventually(async () => {
      const resumed = (await r2.handle(
        new Request(URL_MCP, {
          method: "GET",
          headers: {
            accept: "text/event-stream",
            "mcp-session-id": id,
            "last-event-id": lastEventId,
          },
        }),
      ))!;
      assertEquals(resumed.status, 200);
      const events = await readSse(resumed);
      return events.length > 0 && events;
    }, { what: "the answer replayed from Redis", timeoutMs: 10_000, intervalMs: 20 });
    assertEquals(replayed.length, 1, JSON.stringify(replayed));
    const answer = JSON.parse(replayed[0]!.data);
    assertEquals(answer.id, 99);
    assertEquals(answer.result.structuredContent, { done: true });
    // An event ID Redis never gave is refused, not replayed from another session.
    const bogus = (await r2.handle(
      new Request(URL_MCP, {
        method: "GET",
        headers: { accept: "text/event-stream", "mcp-session-id": id, "last-event-id": "1-0" },
      }),
    ))!;
    assertEquals(bogus.status, 400);
    await bogus.body?.cancel();
  },
});

Deno.test({
  name: `The rate limit is shared by the replicas (429 with Retry-After)${skipped}`,
  ignore,
  fn: async () => {
    await using redis = await startRedis();
    await using r1 = await replica(redis, { RATE_LIMIT_PER_MINUTE: "3" });
    await using r2 = await replica(redis, { RATE_LIMIT_PER_MINUTE: "3" });
    const info = {
      remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 1234 },
    } as Deno.ServeHandlerInfo<Deno.NetAddr>;
    const statuses = [];
    for (const r of [r1, r1, r2, r2, r1]) {
      const response = (await r.handle(post(initializeBody()), info))!;
      statuses.push(response.status);
      if (response.status === 429) {
        const retryAfter = Number(response.headers.get("retry-after"));
        assert(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
        const body = await response.json() as { error: { code: string } };
        assertEquals(body.error.code, "rate_limited");
      } else {
        await response.body?.cancel();
      }
    }
    assertEquals(statuses, [200, 200, 200, 429, 429]);
    const elsewhere = (await r2.handle(post(initializeBody())))!;
    assertEquals(elsewhere.status, 200, "another client has its own allowance");
    await elsewhere.body?.cancel();
  },
});

Deno.test({
  name:
    `Redis down: 503 JSON for sessions that need it, held sessions go on, then recovery${skipped}`,
  ignore,
  fn: async () => {
    await using redis = await startRedis();
    await using r1 = await replica(redis);
    await using r2 = await replica(redis);
    const id = await open(r1);
    await redis.stop();
    const needsRedis = (await r2.handle(post({ jsonrpc: "2.0", id: 1, method: "ping" }, {
      "mcp-session-id": id,
    })))!;
    assertEquals(needsRedis.status, 503);
    assertEquals(needsRedis.headers.get("retry-after"), "1");
    const body = await needsRedis.json() as { error: { code: string; message: string } };
    assertEquals(body.error.code, "unavailable");
    assert(body.error.message.includes("Redis"), body.error.message);
    const fresh = (await r2.handle(post(initializeBody())))!;
    assertEquals(fresh.status, 503, "no session is started that other replicas could not find");
    await fresh.body?.cancel();
    assertEquals((await call(r1, id, "ping")).status, 200, "the holder serves its session");
    assertEquals(r2.sessionCount, 0);

    await redis.restart();
    await eventually(() => r1.shared.ready && r2.shared.ready, {
      what: "both replicas reconnected",
      timeoutMs: 10_000,
    });
    // The restarted Redis lost the record (no persistence): the holder writes it again.
    assertEquals((await call(r1, id, "ping")).status, 200);
    assertEquals((await call(r2, id, "ping")).status, 200, "adopted after the recovery");
    const later = await open(r2);
    assertEquals((await call(r1, later, "ping")).status, 200);
  },
});
