/**
 * The SDK v2 MCP HTTP handler on raw requests: which era answers, mcpcomm's guards in front of
 * both eras, caching hints, the session cap that only 2025-era sessions use, and shutdown.
 * @module
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  McpServer,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { createLogger } from "../../../src/log.ts";
import { createMcpHttpHandler, type McpEra } from "../../../src/mcp/v2/http.ts";
import { defineTool, jsonResult } from "../../../src/mcp/v2/tools.ts";
import { assert, assertEquals, assertMatch } from "../../_assert.ts";
import { testConfig } from "../../_helpers.ts";

const URL_MCP = "http://127.0.0.1:8000/mcp";
const ACCEPT = "application/json, text/event-stream";
const echoShape = { text: z.string() };

function handler(env: Record<string, string> = {}) {
  const eras: McpEra[] = [];
  const mcp = createMcpHttpHandler({
    createServer: (era) => {
      eras.push(era);
      const server = new McpServer({ name: "v2-test", version: "1.0.0" }, {
        capabilities: { tools: { listChanged: false } },
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
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "raw", version: "1.0.0" },
      },
    }),
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
