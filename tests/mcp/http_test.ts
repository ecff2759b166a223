/**
 * The SDK v2 MCP HTTP handler on raw requests: which era answers, mcpcomm's guards in front of
 * both eras, caching hints, the session cap that only 2025-era sessions use, and shutdown.
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  McpServer,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { createLogger } from "../../src/core/log.ts";
import { createMcpHttpHandler, type McpEra } from "../../src/mcp/http.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  assertBearerChallenge,
  eventually,
  readSse,
  startTestServerB,
  testConfig,
} from "../_helpers.ts";
import {
  captureLogs,
  initializeBody,
  openSession,
  postMcp,
  rawHttp,
  startMcpHttp,
} from "./_harness.ts";

const URL_MCP = "http://127.0.0.1:8000/mcp";
const ACCEPT = "application/json, text/event-stream";
const echoShape = { text: z.string() };

function handler(env: Record<string, string> = {}, listChanged = false) {
  const eras: McpEra[] = [];
  const mcp = createMcpHttpHandler({
    createServer: (era) => {
      eras.push(era);
      const server = new McpServer({ name: "v2-test", version: "1.0.0" }, {
        capabilities: { tools: { listChanged } },
        cacheHints: { "tools/list": { ttlMs: 60_000, cacheScope: "public" } },
      });
      defineTool(
        server,
        "echo",
        { description: "Echo", inputSchema: echoShape },
        ({ text }) => jsonResult({ text }, text),
      );
      return server;
    },
    config: testConfig(env),
    bindHost: "127.0.0.1",
    log: createLogger("mcp-v2-test"),
  });
  return Object.assign(mcp, { eras, [Symbol.asyncDispose]: () => mcp.close() });
}

/** A 2026-07-28 request: the `_meta` envelope plus the `Mcp-Method` and version headers. */
function modern(
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Request {
  return new Request(URL_MCP, {
    method: "POST",
    headers: {
      accept: ACCEPT,
      "content-type": "application/json",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
          [CLIENT_INFO_META_KEY]: { name: "raw", version: "1.0.0" },
          [CLIENT_CAPABILITIES_META_KEY]: {},
        },
      },
    }),
  });
}

function initialize(headers: Record<string, string> = {}): Request {
  return new Request(URL_MCP, {
    method: "POST",
    headers: { accept: ACCEPT, "content-type": "application/json", ...headers },
    body: JSON.stringify(initializeBody()),
  });
}

async function errorCode(response: Response): Promise<string> {
  const body = await response.json() as { error?: { code?: string } };
  return body.error?.code ?? JSON.stringify(body);
}

Deno.test("v2 /mcp answers a 2026-07-28 tools/list as JSON with its caching hint, no session", async () => {
  await using mcp = handler();
  const response = (await mcp.handle(modern("tools/list")))!;
  assertEquals(response.status, 200);
  assertMatch(response.headers.get("content-type") ?? "", /application\/json/);
  assertEquals(response.headers.get("mcp-session-id"), null);
  const body = await response.json() as {
    result: { tools: { name: string }[]; ttlMs: number; cacheScope: string };
  };
  assertEquals(body.result.tools.map((t) => t.name), ["echo"]);
  assertEquals([body.result.ttlMs, body.result.cacheScope], [60_000, "public"]);
  assertEquals(mcp.eras, ["modern"]);
  assertEquals(mcp.sessionCount, 0);
});

Deno.test("v2 /mcp answers a 2026-07-28 tools/call and server/discover", async () => {
  await using mcp = handler();
  const call = await (await mcp.handle(
    modern("tools/call", { name: "echo", arguments: { text: "hi" } }),
  ))!.json() as { result: { content: { text: string }[] } };
  assertEquals(call.result.content[0]?.text, "hi");
  const discover = await (await mcp.handle(modern("server/discover")))!.json() as {
    result: { supportedVersions: string[] };
  };
  assert(discover.result.supportedVersions.includes("2026-07-28"), JSON.stringify(discover));
});

Deno.test("v2 /mcp lets the SDK refuse an Mcp-Method header that disagrees with the body", async () => {
  await using mcp = handler();
  const response = (await mcp.handle(modern("tools/list", {}, { "mcp-method": "tools/call" })))!;
  assertEquals(response.status, 400);
  const body = await response.json() as { error: { code: number } };
  assertEquals(typeof body.error.code, "number");
});

Deno.test("v2 /mcp runs mcpcomm's guards before either era", async (t) => {
  await t.step("Host (403) on a 2026-07-28 request", async () => {
    await using mcp = handler();
    const response = (await mcp.handle(modern("tools/list", {}, { host: "evil.example" })))!;
    assertEquals([response.status, await errorCode(response)], [403, "forbidden"]);
  });
  await t.step("Origin (403) on an initialize", async () => {
    await using mcp = handler();
    const response = (await mcp.handle(initialize({ origin: "http://evil.example" })))!;
    assertEquals([response.status, await errorCode(response)], [403, "forbidden"]);
  });
  await t.step("bearer token (401) on a 2026-07-28 request", async () => {
    await using mcp = handler({ MCPCOMM_AUTH_TOKEN: "s3cret-token-for-tests" });
    const response = (await mcp.handle(modern("tools/list")))!;
    assertEquals([response.status, await errorCode(response)], [401, "unauthorized"]);
    const ok = (await mcp.handle(
      modern("tools/list", {}, { authorization: "Bearer s3cret-token-for-tests" }),
    ))!;
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  });
  await t.step("Content-Type (415) and body limit (413)", async () => {
    await using mcp = handler({ MAX_BODY_BYTES: "1024" });
    const plain = (await mcp.handle(modern("tools/list", {}, { "content-type": "text/plain" })))!;
    assertEquals([plain.status, await errorCode(plain)], [415, "unsupported_media_type"]);
    const big = (await mcp.handle(
      modern("tools/call", { name: "echo", arguments: { text: "x".repeat(2000) } }),
    ))!;
    assertEquals([big.status, await errorCode(big)], [413, "payload_too_large"]);
    assertEquals(mcp.eras, []);
  });
});

Deno.test("v2 /mcp keeps 2025-era sessions under MCP_MAX_SESSIONS; 2026-07-28 requests take none", async () => {
  await using mcp = handler({ MCP_MAX_SESSIONS: "1" });
  const first = (await mcp.handle(initialize()))!;
  assertEquals(first.status, 200);
  assertMatch(first.headers.get("mcp-session-id") ?? "", /^[0-9a-f]{40}$/);
  await first.body?.cancel();
  assertEquals(mcp.sessionCount, 1);
  const second = (await mcp.handle(initialize()))!;
  assertEquals([second.status, await errorCode(second)], [503, "unavailable"]);
  assert(second.headers.get("retry-after"));
  const stateless = (await mcp.handle(modern("tools/list")))!;
  assertEquals(stateless.status, 200);
  await stateless.body?.cancel();
  assertEquals(mcp.eras, ["legacy", "modern"]);
});

Deno.test("v2 /mcp caps open 2026-07-28 subscriptions/listen streams at MCP_MAX_SESSIONS", async () => {
  await using mcp = handler({ MCP_MAX_SESSIONS: "2" }, true);
  const listen = () =>
    mcp.handle(modern("subscriptions/listen", {
      notifications: { toolsListChanged: true },
    }));
  const open = [(await listen())!, (await listen())!];
  for (const stream of open) {
    assertEquals(stream.status, 200);
    assertMatch(stream.headers.get("content-type") ?? "", /text\/event-stream/);
  }
  const refused = (await listen())!;
  const streams = (refused.headers.get("content-type") ?? "").includes("text/event-stream");
  if (streams) await refused.body?.cancel();
  assert(!streams, "a third listen stream was opened");
  assertMatch(await refused.text(), /Subscription limit reached/);
  await open[0]!.body?.cancel();
  const again = (await listen())!;
  assertMatch(again.headers.get("content-type") ?? "", /text\/event-stream/);
  for (const stream of [open[1]!, again]) await stream.body?.cancel();
});

Deno.test("v2 /mcp: a 2025-era request without a session says how to start one", async () => {
  await using mcp = handler();
  const response = (await mcp.handle(
    new Request(URL_MCP, {
      method: "POST",
      headers: { accept: ACCEPT, "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    }),
  ))!;
  assertEquals(response.status, 400);
  const body = await response.json() as { error: { message: string } };
  assertMatch(body.error.message, /initialize.*2026-07-28/s);
});

Deno.test("v2 /mcp answers 503 once closed", async () => {
  const mcp = handler();
  await mcp.close();
  const response = (await mcp.handle(modern("tools/list")))!;
  assertEquals([response.status, await errorCode(response)], [503, "unavailable"]);
});

const TOKEN = "tok-Zr8Qm2Lx9Vb4Nc7Kd1";

interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text?: string }[];
}

/** Connects a real SDK client over Streamable HTTP. */
async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers } }),
  );
  return client;
}

/** Proves the server still serves: a fresh SDK client calls `echo` and ends its session. */
async function assertServes(url: string, headers: Record<string, string> = {}): Promise<void> {
  const client = await connect(url, headers);
  const text = `still serving ${crypto.randomUUID()}`;
  const answer = (await client.callTool({ name: "echo", arguments: { text } })) as ToolAnswer;
  assertEquals(answer.content[0]?.text, text);
  await (client.transport as StreamableHTTPClientTransport).terminateSession();
  await client.close();
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = await response.json();
  return body.error;
}

Deno.test("createMcpHttpHandler() refuses each bad request with its status while it keeps serving", async (t) => {
  await using server = await startMcpHttp({ MAX_BODY_BYTES: String(64 * 1024) });
  const { url } = server;
  const session = await openSession(url);
  const inSession = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" };
  const ping = { jsonrpc: "2.0", id: 7, method: "ping" };

  await t.step("a foreign Origin gets 403 on /mcp, /sse and /messages", async () => {
    const origin = { origin: "http://evil.example.com" };
    for (
      const response of [
        await postMcp(url, initializeBody(), origin),
        await fetch(`${url}/sse`, { headers: { ...origin, accept: "text/event-stream" } }),
        await fetch(`${url}/messages?sessionId=x`, {
          method: "POST",
          headers: { ...origin, "content-type": "application/json" },
          body: JSON.stringify(ping),
        }),
      ]
    ) {
      assertEquals(response.status, 403);
      const error = await errorOf(response);
      assertEquals(error.code, "forbidden");
      assertMatch(error.message, /Origin "http:\/\/evil\.example\.com" is not allowed/);
    }
    await assertServes(url);
  });

  await t.step(
    "an Origin that only starts like a loopback one gets 403 on /mcp and /sse",
    async () => {
      for (
        const origin of [
          "http://127.evil.com",
          "http://127.0.0.1.evil.com",
          "http://localhost.evil.com",
        ]
      ) {
        for (
          const response of [
            await postMcp(url, initializeBody(), { origin }),
            await fetch(`${url}/sse`, { headers: { origin, accept: "text/event-stream" } }),
          ]
        ) {
          assertEquals(response.status, 403, origin);
          assertEquals((await errorOf(response)).code, "forbidden");
        }
      }
    },
  );

  await t.step("a loopback or same-origin Origin is accepted", async () => {
    const response = await postMcp(url, ping, { ...inSession, origin: "http://localhost:3000" });
    assertEquals(response.status, 200);
    await response.body?.cancel();
    const same = await postMcp(url, ping, { ...inSession, origin: url });
    assertEquals(same.status, 200);
    await same.body?.cancel();
  });

  await t.step("a foreign Host on a loopback bind gets 403 (DNS rebinding)", async () => {
    const port = new URL(url).port;
    for (
      const host of [
        "evil.example.com",
        "evil.example.com:80",
        "10.0.0.5",
        `127.0.0.1.evil.com:${port}`,
        "127.evil.com",
        `localhost.evil.com:${port}`,
        `app.localhost:${port}`,
      ]
    ) {
      const answer = await rawHttp(url, {
        method: "POST",
        path: "/mcp",
        headers: {
          host,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(initializeBody()),
      });
      assertEquals(answer.status, 403, host);
      assertMatch(JSON.parse(answer.body).error.message, /listens on loopback only/);
    }
    const ok = await rawHttp(url, {
      method: "POST",
      path: "/mcp",
      headers: {
        host: `localhost:${new URL(url).port}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify(initializeBody()),
    });
    assertEquals(ok.status, 200);
    await assertServes(url);
  });

  await t.step("a body over MAX_BODY_BYTES gets 413 on /mcp and /messages", async () => {
    const big = JSON.stringify({ ...ping, params: { pad: "x".repeat(80 * 1024) } });
    const response = await postMcp(url, big, inSession);
    assertEquals(response.status, 413);
    assertEquals((await errorOf(response)).code, "payload_too_large");
    const chunked = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...inSession,
      },
      body: ReadableStream.from([new TextEncoder().encode(big)]),
    });
    assertEquals(chunked.status, 413, "a chunked body without Content-Length is cut while read");
    await chunked.body?.cancel();
    await assertServes(url);
  });

  await t.step("a JSON-RPC batch gets 400", async () => {
    const response = await postMcp(url, [ping, { ...ping, id: 8 }], inSession);
    assertEquals(response.status, 400);
    assertMatch((await errorOf(response)).message, /batches are not accepted/);
    await assertServes(url);
  });

  await t.step("bad JSON and a non-message get 400", async () => {
    const response = await postMcp(url, "{not json", inSession);
    assertEquals(response.status, 400);
    assertEquals((await errorOf(response)).code, "invalid_json");
    const other = await postMcp(url, { hello: "world" }, inSession);
    assertEquals(other.status, 400);
    await other.body?.cancel();
  });

  await t.step("a wrong Accept gets 406", async () => {
    const post = await postMcp(url, ping, { ...inSession, accept: "application/json" });
    assertEquals(post.status, 406);
    assertEquals((await errorOf(post)).code, "not_acceptable");
    const get = await fetch(`${url}/mcp`, { headers: { ...inSession, accept: "text/html" } });
    assertEquals(get.status, 406);
    await get.body?.cancel();
    const sse = await fetch(`${url}/sse`, { headers: { accept: "application/json" } });
    assertEquals(sse.status, 406);
    await sse.body?.cancel();
    await assertServes(url);
  });

  await t.step("a wrong Content-Type gets 415 on /mcp and /messages", async () => {
    const post = await postMcp(url, ping, { ...inSession, "content-type": "text/plain" });
    assertEquals(post.status, 415);
    assertEquals((await errorOf(post)).code, "unsupported_media_type");
    const legacy = await fetch(`${url}/messages?sessionId=x`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=b",
    });
    assertEquals(legacy.status, 415);
    await legacy.body?.cancel();
    await assertServes(url);
  });

  await t.step(
    "an unsupported MCP-Protocol-Version gets 400; the three current ones pass",
    async () => {
      for (const version of ["1999-01-01", "2099-12-31", "latest"]) {
        const response = await postMcp(url, ping, {
          ...inSession,
          "mcp-protocol-version": version,
        });
        assertEquals(response.status, 400, version);
        assertMatch((await errorOf(response)).message, /MCP-Protocol-Version/);
      }
      for (const version of ["2025-03-26", "2025-06-18", "2025-11-25"]) {
        const response = await postMcp(url, ping, {
          ...inSession,
          "mcp-protocol-version": version,
        });
        assertEquals(response.status, 200, version);
        const events = await readSse(response);
        assertEquals(JSON.parse(events.at(-1)!.data).id, 7);
      }
      await assertServes(url);
    },
  );

  await t.step("other methods get 405 with Allow", async () => {
    const response = await fetch(`${url}/mcp`, { method: "PUT", body: "{}" });
    assertEquals(response.status, 405);
    assertEquals(response.headers.get("allow"), "GET, POST, DELETE");
    await response.body?.cancel();
  });

  await t.step("a request without a session that is not initialize gets 400", async () => {
    const response = await postMcp(url, ping);
    assertEquals(response.status, 400);
    assertMatch((await errorOf(response)).message, /Mcp-Session-Id header is required/);
  });

  await t.step("an unknown session gets 404 on POST, GET, DELETE and /messages", async () => {
    const unknown = { "mcp-session-id": "0".repeat(40) };
    const responses = [
      await postMcp(url, ping, unknown),
      await fetch(`${url}/mcp`, { headers: { ...unknown, accept: "text/event-stream" } }),
      await fetch(`${url}/mcp`, { method: "DELETE", headers: unknown }),
      await fetch(`${url}/messages?sessionId=${"0".repeat(40)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(ping),
      }),
    ];
    for (const response of responses) {
      assertEquals(response.status, 404);
      assertMatch((await errorOf(response)).message, /Unknown or ended MCP session/);
    }
  });

  await t.step("a session ended with DELETE answers 404 afterwards", async () => {
    const id = await openSession(url);
    const count = server.mcp.sessionCount;
    const deleted = await fetch(`${url}/mcp`, {
      method: "DELETE",
      headers: { "mcp-session-id": id },
    });
    assertEquals(deleted.status, 200);
    await deleted.body?.cancel();
    assertEquals(server.mcp.sessionCount, count - 1);
    const after = await postMcp(url, ping, { "mcp-session-id": id });
    assertEquals(after.status, 404);
    await after.body?.cancel();
  });

  await t.step("session IDs are 160-bit random hex, all different", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) ids.add(await openSession(url));
    assertEquals(ids.size, 5);
    for (const id of ids) assertMatch(id, /^[0-9a-f]{40}$/);
  });

  await assertServes(url);
});

Deno.test("createMcpHttpHandler() with MCPCOMM_AUTH_TOKEN answers 401 without echoing a token", async (t) => {
  await using server = await startMcpHttp({ MCPCOMM_AUTH_TOKEN: TOKEN });
  const { url } = server;
  const wrong = `${TOKEN}-wrong-guess`;

  for (
    const [name, headers] of [
      ["no token", {}],
      ["a wrong token", { authorization: `Bearer ${wrong}` }],
      ["a Basic header", { authorization: `Basic ${btoa(`u:${TOKEN}`)}` }],
    ] as const
  ) {
    await t.step(`${name} gets 401 on /mcp, /sse and /messages`, async () => {
      const responses = [
        await postMcp(url, initializeBody(), headers),
        await fetch(`${url}/sse`, { headers: { ...headers, accept: "text/event-stream" } }),
        await fetch(`${url}/messages?sessionId=x`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: "{}",
        }),
      ];
      for (const response of responses) {
        assertBearerChallenge(response, name === "a wrong token" ? "invalid" : "missing");
        const text = await response.text();
        assertEquals(JSON.parse(text).error.code, "unauthorized");
        assert(!text.includes(TOKEN.slice(4, 12)), "the expected token is never echoed");
        assert(!text.includes("wrong-guess"), "the given token is never echoed");
      }
    });
  }

  await t.step("OAuth discovery and registration get 404 saying to send the token", async () => {
    for (
      const [method, path] of [
        ["GET", "/.well-known/oauth-protected-resource/mcp"],
        ["GET", "/.well-known/oauth-protected-resource"],
        ["GET", "/.well-known/oauth-authorization-server"],
        ["POST", "/register"],
      ] as const
    ) {
      const response = await fetch(`${url}${path}`, {
        method,
        ...(method === "POST"
          ? { headers: { "content-type": "application/json" }, body: "{}" }
          : {}),
      });
      assertEquals(response.status, 404, path);
      const text = await response.text();
      assertMatch(JSON.parse(text).error.message, /no OAuth.*Authorization: Bearer <token>/, path);
      assert(!text.includes(TOKEN.slice(4, 12)));
    }
  });

  await t.step("the right token is served, over a real SDK client", async () => {
    await assertServes(url, { authorization: `Bearer ${TOKEN}` });
  });
});

Deno.test("createMcpHttpHandler() without a token leaves OAuth paths to the server's own 404", async () => {
  await using server = await startMcpHttp();
  const response = await fetch(`${server.url}/register`, { method: "POST", body: "{}" });
  assertEquals(response.status, 404);
  assertEquals((await errorOf(response)).message, "No route");
});

Deno.test("createMcpHttpHandler() caps sessions with 503 and Retry-After, then accepts again", async () => {
  await using server = await startMcpHttp({ MCP_MAX_SESSIONS: "2" });
  const { url } = server;
  const first = await openSession(url);
  await openSession(url);
  assertEquals(server.mcp.sessionCount, 2);

  const refused = await postMcp(url, initializeBody());
  assertEquals(refused.status, 503);
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert(retryAfter >= 1 && retryAfter <= 1800, `Retry-After ${retryAfter}`);
  assertMatch((await errorOf(refused)).message, /Too many MCP sessions \(the limit is 2\)/);
  const legacy = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream" } });
  assertEquals(legacy.status, 503, "a legacy SSE connection counts against the cap too");
  await legacy.body?.cancel();

  const stillServed = await postMcp(url, { jsonrpc: "2.0", id: 1, method: "ping" }, {
    "mcp-session-id": first,
  });
  assertEquals(stillServed.status, 200, "existing sessions keep being served");
  await stillServed.body?.cancel();

  const deleted = await fetch(`${url}/mcp`, {
    method: "DELETE",
    headers: { "mcp-session-id": first },
  });
  await deleted.body?.cancel();
  await assertServes(url);
});

Deno.test("createMcpHttpHandler() closes idle sessions and their MCP servers (MCP_SESSION_IDLE_MINUTES)", async () => {
  // 0.01 minutes = 600 ms of idleness.
  await using server = await startMcpHttp({ MCP_SESSION_IDLE_MINUTES: "0.01" });
  const { url } = server;
  const ids = await Promise.all([openSession(url), openSession(url), openSession(url)]);
  const created = [...server.servers];
  assert(created.every((s) => s.isConnected()));
  await eventually(() => server.mcp.sessionCount === 0, { what: "the idle sessions to expire" });
  assert(created.every((s) => !s.isConnected()), "each expired session's MCP server is closed");
  for (const id of ids) {
    const response = await postMcp(url, { jsonrpc: "2.0", id: 1, method: "ping" }, {
      "mcp-session-id": id,
    });
    assertEquals(response.status, 404, "an expired session is unknown: the client starts anew");
    await response.body?.cancel();
  }

  // A session with an open stream (here a call in flight) is not idle, however quiet it is.
  const client = await connect(url);
  const call = client.callTool({ name: "wait", arguments: { text: "slow" } });
  await openSession(url);
  assertEquals(server.mcp.sessionCount, 2);
  await eventually(() => server.mcp.sessionCount === 1, { what: "the idle session to expire" });
  server.release();
  const answer = (await call) as ToolAnswer;
  assertEquals(answer.content[0]?.text, "released slow", "the busy session outlived the idle one");
  await client.close();
});

Deno.test("Server B over /mcp: 50 concurrent SDK clients each get their own answers", async () => {
  await using b = await startTestServerB();
  const clients: Client[] = await Promise.all(
    Array.from({ length: 50 }, () => connect(b.url)),
  );
  const ids = new Set(clients.map((c) => (c.transport as StreamableHTTPClientTransport).sessionId));
  assertEquals(ids.size, 50, "every client has its own session");
  const answers: string[] = await Promise.all(clients.map(async (client: Client, i: number) => {
    const answer = (await client.callTool({
      name: "process_message",
      arguments: { message: `client ${i} says ${i * 7919}` },
    })) as ToolAnswer;
    return answer.content[0]?.text ?? "";
  }));
  answers.forEach((text, i) => {
    assertMatch(text, new RegExp(`You said: 'client ${i} says ${i * 7919}'`), `client ${i}`);
  });
  assertEquals(new Set(answers).size, 50);
  await Promise.all(clients.map(async (client) => {
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
  }));
});

Deno.test("Server B over /mcp declares logging and honours logging/setLevel", async () => {
  await using server = await startMcpHttp();
  await using b = await startTestServerB();
  const bClient = await connect(b.url);
  assert(bClient.getServerCapabilities()?.logging, "Server B declares the logging capability");
  assertEquals(await bClient.setLoggingLevel("warning"), {});
  await bClient.close();

  // The level filters what a session receives (the same SDK server class, driven directly).
  const client = await connect(server.url);
  const received: string[] = [];
  const onLog = (n: { params: { level: string; data?: unknown } }) => {
    received.push(`${n.params.level}:${n.params.data}`);
  };
  client.setNotificationHandler(LoggingMessageNotificationSchema, onLog as never);
  const mcp = server.servers.at(-1)!;
  const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId;
  assertEquals(await client.setLoggingLevel("warning"), {});
  await mcp.sendLoggingMessage({ level: "info", data: "quiet" }, sessionId);
  await mcp.sendLoggingMessage({ level: "error", data: "loud" }, sessionId);
  await eventually(() => received.length >= 1, { what: "the error log notification" });
  await client.setLoggingLevel("debug");
  await mcp.sendLoggingMessage({ level: "info", data: "now heard" }, sessionId);
  await eventually(() => received.length >= 2, { what: "the info log notification" });
  assertEquals(received, ["error:loud", "info:now heard"]);
  await client.close();
});

Deno.test("Server B with MCPCOMM_AUTH_TOKEN: every route but the /health probes needs the token", async () => {
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: TOKEN });
  const auth = { authorization: `Bearer ${TOKEN}` };
  for (const probe of ["/health", "/health/ready"]) {
    const health = await fetch(`${b.url}${probe}`);
    assertEquals(health.status, 200, `${probe} stays open for probes`);
    await health.body?.cancel();
  }
  for (const path of ["/models", "/config", "/metrics", "/nowhere"]) {
    const refused = await fetch(`${b.url}${path}`);
    assertEquals(refused.status, 401, path);
    const text = await refused.text();
    assertEquals(JSON.parse(text).error.code, "unauthorized");
    assert(!text.includes(TOKEN.slice(4, 12)), `${path} never echoes the token`);
  }
  const process = await fetch(`${b.url}/process`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer nope-nope-nope-nope" },
    body: JSON.stringify({ message: "hi" }),
  });
  assertEquals(process.status, 401);
  await process.body?.cancel();
  const allowed = await fetch(`${b.url}/process`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ message: "hi" }),
  });
  assertEquals(allowed.status, 200);
  await allowed.body?.cancel();
  const models = await fetch(`${b.url}/models`, { headers: auth });
  assertEquals(models.status, 200);
  await models.body?.cancel();

  const refusedMcp = await postMcp(b.url, initializeBody());
  assertEquals(refusedMcp.status, 401);
  await refusedMcp.body?.cancel();
  const client = await connect(b.url, auth);
  const answer = (await client.callTool({
    name: "process_message",
    arguments: { message: "with token" },
  })) as ToolAnswer;
  assertMatch(answer.content[0]?.text ?? "", /You said: 'with token'/);
  await client.close();
});

Deno.test("Server B with RATE_LIMIT_PER_MINUTE answers 429 with Retry-After and keeps /health", async (t) => {
  await t.step("API and MCP requests share one allowance, each counted once", async () => {
    await using b = await startTestServerB({ RATE_LIMIT_PER_MINUTE: "5" });
    const statuses: number[] = [];
    for (
      const request of [
        () => fetch(`${b.url}/models`),
        () => postMcp(b.url, initializeBody()),
        () => fetch(`${b.url}/config`),
        () => postMcp(b.url, initializeBody()),
        () => fetch(`${b.url}/models`),
      ]
    ) {
      const response = await request();
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assertEquals(statuses, [200, 200, 200, 200, 200]);
    for (
      const response of [await fetch(`${b.url}/models`), await postMcp(b.url, initializeBody())]
    ) {
      assertEquals(response.status, 429);
      const retryAfter = Number(response.headers.get("retry-after"));
      assert(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assertEquals((await errorOf(response)).code, "rate_limited");
    }
    const health = await fetch(`${b.url}/health`);
    assertEquals(health.status, 200, "the limit spares /health");
    await health.body?.cancel();
  });

  await t.step(
    "token guesses are limited too (the limit comes before the token check)",
    async () => {
      await using b = await startTestServerB({
        RATE_LIMIT_PER_MINUTE: "3",
        MCPCOMM_AUTH_TOKEN: TOKEN,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const guess = { authorization: `Bearer guess-${i}-xxxxxxxxxxxx` };
        const response = i % 2
          ? await postMcp(b.url, initializeBody(), guess)
          : await fetch(`${b.url}/config`, { headers: guess });
        statuses.push(response.status);
        await response.body?.cancel();
      }
      assertEquals(statuses, [401, 401, 401, 429]);
    },
  );
});

Deno.test("startServerB() on a non-loopback bind without a token warns once, naming what is exposed", async () => {
  const { lines } = await captureLogs(async () => {
    await using _b = await startTestServerB({ HTTP_HOST: "0.0.0.0", LOG_LEVEL: "warn" });
  });
  const warnings = lines.filter((l) => l.includes("without MCPCOMM_AUTH_TOKEN"));
  assertEquals(warnings.length, 1, lines.join("\n"));
  const msg = JSON.parse(warnings[0]!).msg as string;
  assertMatch(msg, /Server B listens on 0\.0\.0\.0:\d+ without MCPCOMM_AUTH_TOKEN/);
  assertMatch(msg, /POST \/process and \/stream/);
  assertMatch(msg, /MCP at \/mcp, \/sse, \/messages/);

  const quiet = await captureLogs(async () => {
    await using _b = await startTestServerB({ HTTP_HOST: "0.0.0.0", MCPCOMM_AUTH_TOKEN: TOKEN });
  });
  assertEquals(quiet.lines.filter((l) => l.includes("without MCPCOMM_AUTH_TOKEN")).length, 0);
  const loopback = await captureLogs(async () => {
    await using _b = await startTestServerB();
  });
  assertEquals(loopback.lines.filter((l) => l.includes("without MCPCOMM_AUTH_TOKEN")).length, 0);
});

Deno.test("startServerB() stops while MCP sessions and their streams are open", async () => {
  const b = await startTestServerB();
  const client = await connect(b.url);
  const call = client.callTool({ name: "get_ai_stats", arguments: {} });
  const legacy = await fetch(`${b.url}/sse`, { headers: { accept: "text/event-stream" } });
  assertEquals(legacy.status, 200);
  await openSession(b.url);
  await call;
  await b.close();
  const events = await readSse(legacy);
  assertEquals(events[0]?.event, "endpoint", "the legacy stream ended with the server");
  await client.close();
});

Deno.test("startServerA() over HTTP: the token guards its MCP routes; a non-loopback bind warns", async () => {
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: TOKEN });
  const start = async (env: Record<string, string>) => {
    const controller = new AbortController();
    const a = await startServerA(
      testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url, ...env }),
      { transport: "http", signal: controller.signal },
    );
    return {
      url: a.url!,
      async [Symbol.asyncDispose]() {
        controller.abort();
        await a.finished;
      },
    };
  };
  {
    await using a = await start({ MCPCOMM_AUTH_TOKEN: TOKEN });
    for (const path of ["/mcp", "/sse"]) {
      const refused = await fetch(`${a.url}${path}`, {
        method: path === "/mcp" ? "POST" : "GET",
        headers: {
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
        },
        body: path === "/mcp" ? JSON.stringify(initializeBody()) : null,
      });
      assertEquals(refused.status, 401, path);
      const text = await refused.text();
      assert(!text.includes(TOKEN.slice(4, 12)), "the token is never echoed");
    }
    const client = await connect(a.url, { authorization: `Bearer ${TOKEN}` });
    const answer = (await client.callTool({
      name: "send_message_to_ai",
      arguments: { message: "A to B with the token" },
    })) as ToolAnswer;
    assertMatch(answer.content[0]?.text ?? "", /You said: 'A to B with the token'/);
    await client.close();
  }
  const { lines } = await captureLogs(async () => {
    await using _a = await start({ SERVER_A_HOST: "0.0.0.0", LOG_LEVEL: "warn" });
  });
  const warnings = lines.filter((l) => l.includes("without MCPCOMM_AUTH_TOKEN"));
  assertEquals(warnings.length, 1, lines.join("\n"));
  assertMatch(JSON.parse(warnings[0]!).msg, /^Server A listens on 0\.0\.0\.0:\d+ without/);
});

Deno.test("createMcpHttpHandler() on a non-loopback bind accepts only MCP_ALLOWED_HOSTS names", async () => {
  await using server = await startMcpHttp({
    MCP_ALLOWED_HOSTS: "mcp.example.com",
    MCP_ALLOWED_ORIGINS: "https://app.example.com",
  }, { bindHost: "0.0.0.0" });
  const post = (headers: Record<string, string>) =>
    rawHttp(server.url, {
      method: "POST",
      path: "/mcp",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(initializeBody()),
    });
  assertEquals((await post({ host: "mcp.example.com:8000" })).status, 200);
  assertEquals(
    (await post({ host: "mcp.example.com", origin: "https://app.example.com" })).status,
    200,
  );
  assertEquals(
    (await post({ host: "mcp.example.com", origin: "https://evil.example" })).status,
    403,
  );
  assertEquals((await post({ host: "rebound.example.net" })).status, 403);
  assertEquals((await post({ host: "192.168.7.7:8000" })).status, 403, "not listed");
  await assertServes(server.url);
});
