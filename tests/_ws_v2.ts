/**
 * Test helper: a minimal SDK v2 client transport over mcpcomm's WebSocket (subprotocol `mcp`, one
 * JSON-RPC message per text frame), to drive `/ws` with a v2 `Client` in either era.
 * @module
 */
import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/client";
import { MCP_SUBPROTOCOL } from "../src/mcp/websocket.ts";

/** An SDK v2 `Transport` over `new WebSocket(url, "mcp")`. */
export class TestWebSocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  #socket?: WebSocket;

  constructor(readonly url: string) {}

  async start(): Promise<void> {
    const socket = this.#socket = new WebSocket(this.url, MCP_SUBPROTOCOL);
    socket.onmessage = (event) => this.onmessage?.(JSON.parse(event.data as string));
    socket.onclose = () => this.onclose?.();
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`WebSocket to ${this.url} failed`));
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    this.#socket!.send(JSON.stringify(message));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#socket?.close();
    return Promise.resolve();
  }
}
