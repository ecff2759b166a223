import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { assertEquals, assertMatch } from "../_assert.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { SessionLimit } from "../../src/mcp/sessions.ts";
import { createWebSocketEndpoint, MCP_SUBPROTOCOL } from "../../src/mcp/websocket.ts";
import { serveOnLoopback } from "../_serve.ts";

async function serve() {
  const createServer = () => {
    const mcp = new McpServer({ name: "ws-test", version: "1" }, { capabilities: { tools: {} } });
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
  while (server.endpoint.connectionCount > 0) await new Promise((r) => setTimeout(r, 10));
});
