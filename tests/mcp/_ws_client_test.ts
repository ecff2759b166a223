import type { JSONRPCMessage } from "@modelcontextprotocol/client";
import { assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { serveOnLoopback } from "../_serve.ts";
import { WebSocketClientTransport } from "../../src/mcp/_ws_client.ts";

/** A WebSocket server that records each upgrade's headers and runs `onSocket` on the socket. */
async function wsServer(protocol: string | undefined, onSocket: (socket: WebSocket) => void) {
  const seen: Headers[] = [];
  const served = await serveOnLoopback((request) => {
    seen.push(new Headers(request.headers));
    const { socket, response } = Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    socket.onopen = () => onSocket(socket);
    return response;
  });
  return { url: new URL(`ws://127.0.0.1:${served.port}/ws`), seen, stop: () => served.stop() };
}

Deno.test("WebSocketClientTransport refuses a server that does not speak the mcp subprotocol", async () => {
  const server = await wsServer(undefined, () => {});
  try {
    const transport = new WebSocketClientTransport(server.url);
    await assertRejects(
      () => transport.start(),
      Error,
      'did not accept the WebSocket subprotocol "mcp"',
    );
    await transport.close();
  } finally {
    await server.stop();
  }
});

Deno.test("WebSocketClientTransport sends its headers and one JSON-RPC message per text frame", async () => {
  const received: string[] = [];
  const closed = Promise.withResolvers<number>();
  const server = await wsServer("mcp", (socket) => {
    socket.onmessage = (event) => {
      received.push(event.data);
      socket.send(new Uint8Array([1, 2]));
      socket.send("not json");
      socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, result: {} }));
      socket.send("x".repeat(200));
    };
    socket.onclose = (event) => closed.resolve(event.code);
  });
  try {
    const transport = new WebSocketClientTransport(server.url, {
      headers: { authorization: "Bearer t0ken" },
      maxMessageBytes: 100,
    });
    const messages: JSONRPCMessage[] = [];
    const errors: string[] = [];
    transport.onmessage = (message) => messages.push(message);
    transport.onerror = (error) => errors.push(error.message);
    await transport.start();
    assertEquals(server.seen[0]!.get("authorization"), "Bearer t0ken");
    assertEquals(server.seen[0]!.get("sec-websocket-protocol"), "mcp");
    await transport.send({ jsonrpc: "2.0", id: 1, method: "ping" });
    assertEquals(await closed.promise, 4009);
    assertEquals(received, ['{"jsonrpc":"2.0","id":1,"method":"ping"}']);
    assertEquals(messages, [{ jsonrpc: "2.0", id: 1, result: {} }]);
    assertEquals(errors.length, 3);
    assertMatch(errors[0]!, /Binary WebSocket frames/);
    assertMatch(errors[1]!, /Invalid MCP message/);
    assertMatch(errors[2]!, /larger than 100 bytes/);
    await transport.close();
  } finally {
    await server.stop();
  }
});
