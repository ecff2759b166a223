import { Client } from "@modelcontextprotocol/client";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  McpServer,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import type { McpEra } from "../../src/mcp/http.ts";
import { SessionLimit } from "../../src/mcp/sessions.ts";
import { createWebSocketEndpoint, MCP_SUBPROTOCOL } from "../../src/mcp/websocket.ts";
import { serveOnLoopback } from "../_serve.ts";
import { TestWebSocketTransport } from "../_ws_v2.ts";
import { eventually } from "../_helpers.ts";

async function serve() {
  const eras: McpEra[] = [];
  const createServer = (era: McpEra) => {
    eras.push(era);
    const mcp = new McpServer({ name: "ws-test", version: "1" }, {
      capabilities: { tools: { listChanged: false } },
    });
    defineTool(mcp, "ping_tool", { description: "pong" }, () => jsonResult({ pong: true }));
    return mcp;
  };
  const endpoint = createWebSocketEndpoint({
    createServer,
    bindHost: "127.0.0.1",
    maxMessageBytes: 4096,
    sessionLimit: new SessionLimit(100),
  });
  const served = await serveOnLoopback((request) => endpoint.handle(request));
  return {
    endpoint,
    eras,
    url: `ws://127.0.0.1:${served.port}/ws`,
    async [Symbol.asyncDispose]() {
      await endpoint.closeAll();
      await served.stop();
    },
  };
}

/** A raw socket that queues every text frame it receives. */
async function rawSocket(url: string) {
  const socket = new WebSocket(url, MCP_SUBPROTOCOL);
  const frames: string[] = [];
  const waiters: (() => void)[] = [];
  socket.onmessage = (event) => {
    frames.push(event.data as string);
    waiters.splice(0).forEach((w) => w());
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return {
    socket,
    async next(): Promise<Record<string, unknown>> {
      while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
      return JSON.parse(frames.shift()!);
    },
  };
}

Deno.test("createWebSocketEndpoint() speaks JSON-RPC per text frame and survives bad frames", async () => {
  await using server = await serve();
  const { socket, next } = await rawSocket(server.url);
  assertEquals(socket.protocol, "mcp");
  socket.send("this is not json");
  socket.send(new Uint8Array([1, 2, 3]));
  socket.send(JSON.stringify({ jsonrpc: "2.0", method: "nonsense" }));
  socket.send(JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "raw", version: "0" },
    },
  }));
  const init = await next();
  assertEquals(init.id, 1);
  assertEquals((init.result as { serverInfo: { name: string } }).serverInfo.name, "ws-test");
  socket.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  socket.send(JSON.stringify({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "ping_tool", arguments: {} },
  }));
  const call = await next();
  assertEquals(call.id, 2);
  assertEquals((call.result as { structuredContent: unknown }).structuredContent, { pong: true });
  const closed = new Promise<CloseEvent>((resolve) => socket.onclose = resolve);
  socket.send("x".repeat(5000));
  const event = await closed;
  assertEquals(event.code, 1009);
  assertMatch(event.reason, /too big/);
  await eventually(() => server.endpoint.connectionCount === 0);
});

/** The 2026-07-28 per-request envelope. */
const ENVELOPE = {
  [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  [CLIENT_INFO_META_KEY]: { name: "raw", version: "0" },
  [CLIENT_CAPABILITIES_META_KEY]: {},
};

Deno.test("createWebSocketEndpoint() serves a 2026-07-28 opening (server/discover) without initialize", async () => {
  await using server = await serve();
  const { socket, next } = await rawSocket(server.url);
  socket.send(JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "server/discover",
    params: { _meta: ENVELOPE },
  }));
  const discover = await next();
  const result = discover.result as { supportedVersions: string[] };
  assert(result.supportedVersions.includes("2026-07-28"), JSON.stringify(discover));
  assertMatch(JSON.stringify(result), /"name":"ws-test"/);
  socket.send(JSON.stringify({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "ping_tool", arguments: {}, _meta: ENVELOPE },
  }));
  const call = await next();
  assertEquals((call.result as { structuredContent: unknown }).structuredContent, { pong: true });
  assertEquals(server.eras, ["modern"]);
  socket.close();
  await eventually(() => server.endpoint.connectionCount === 0);
});

Deno.test("createWebSocketEndpoint() serves SDK v2 clients in both eras, one server per connection", async (t) => {
  await using server = await serve();
  for (
    const [mode, era, version] of [
      [{ pin: "2026-07-28" }, "modern", "2026-07-28"],
      ["auto", "modern", "2026-07-28"],
      ["legacy", "legacy", "2025-11-25"],
    ] as const
  ) {
    await t.step(`versionNegotiation ${JSON.stringify(mode)}`, async () => {
      server.eras.length = 0;
      const client = new Client({ name: "v2", version: "0" }, { versionNegotiation: { mode } });
      await client.connect(new TestWebSocketTransport(server.url));
      try {
        assertEquals(client.getProtocolEra(), era);
        assertEquals(client.getNegotiatedProtocolVersion(), version);
        assertEquals((await client.listTools()).tools.map((tool) => tool.name), ["ping_tool"]);
        const result = await client.callTool({ name: "ping_tool", arguments: {} });
        assertEquals(result.structuredContent, { pong: true });
        assertEquals(server.eras, [era]);
      } finally {
        await client.close();
      }
      await eventually(() => server.endpoint.connectionCount === 0);
    });
  }
});
