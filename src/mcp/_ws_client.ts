/**
 * The client side of MCP over WebSocket for SDK v2, which ships no WebSocket transport:
 * subprotocol `mcp`, one JSON-RPC message per text frame, handshake headers (a Deno extension).
 * @module
 */
import {
  type JSONRPCMessage,
  parseJSONRPCMessage,
  type Transport,
} from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";

/** The WebSocket subprotocol MCP uses. */
export const MCP_SUBPROTOCOL = "mcp";

/**
 * Close code for a frame larger than the limit: RFC 6455's 1009 in the application range, as a
 * browser-style `WebSocket` may close only with 1000 or 3000-4999.
 */
const TOO_BIG = 4009;

/** Options of {@linkcode WebSocketClientTransport}. */
export interface WebSocketClientOptions {
  /** Extra handshake headers, e.g. `authorization`. */
  headers?: Record<string, string>;
  /** Largest accepted frame (default 16 MiB); a larger one closes the socket with 1009. */
  maxMessageBytes?: number;
}

/**
 * Connects to `ws(s)://.../ws` with subprotocol `mcp`, refusing a server that does not accept it.
 * @example
 * ```ts
 * await client.connect(new WebSocketClientTransport(new URL("ws://127.0.0.1:8080/ws")));
 * ```
 */
export class WebSocketClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport["onmessage"];
  readonly #url: URL;
  readonly #options: WebSocketClientOptions;
  #socket?: WebSocket;
  #closed = false;

  constructor(url: URL, options: WebSocketClientOptions = {}) {
    this.#url = url;
    this.#options = options;
  }

  start(): Promise<void> {
    if (this.#socket) throw new Error("WebSocketClientTransport already started");
    const socket = new WebSocket(this.#url, {
      protocols: [MCP_SUBPROTOCOL],
      headers: this.#options.headers ?? {},
    });
    this.#socket = socket;
    const maxBytes = this.#options.maxMessageBytes ?? 16 * 1024 * 1024;
    socket.onmessage = (event) => this.#receive(socket, event.data, maxBytes);
    return new Promise((resolve, reject) => {
      let opened = false;
      socket.onopen = () => {
        opened = true;
        if (socket.protocol !== MCP_SUBPROTOCOL) {
          socket.close(1000, "subprotocol mcp required");
          reject(new Error(`${this.#url.href} did not accept the WebSocket subprotocol "mcp"`));
          return;
        }
        resolve();
      };
      socket.onerror = (event) => {
        const error = new Error(
          `WebSocket to ${this.#url.href} failed: ${(event as ErrorEvent).message ?? "error"}`,
        );
        if (!opened) reject(error);
        else this.onerror?.(error);
      };
      socket.onclose = () => {
        if (!opened) {
          reject(new Error(`WebSocket to ${this.#url.href} closed during the handshake`));
        }
        this.#finish();
      };
    });
  }

  #receive(socket: WebSocket, data: unknown, maxBytes: number): void {
    if (typeof data !== "string") {
      this.onerror?.(new Error("Binary WebSocket frames are not MCP messages"));
      return;
    }
    if (data.length > maxBytes) {
      this.onerror?.(new Error(`WebSocket message larger than ${maxBytes} bytes`));
      socket.close(TOO_BIG, "message too big");
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(JSON.parse(data));
    } catch (error) {
      this.onerror?.(new Error(`Invalid MCP message: ${describeError(error)}`));
      return;
    }
    this.onmessage?.(message);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#socket?.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("Not connected"));
    }
    this.#socket.send(JSON.stringify(message));
    return Promise.resolve();
  }

  close(): Promise<void> {
    const socket = this.#socket;
    if (
      socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)
    ) {
      socket.close(1000, "closed");
    }
    this.#finish();
    return Promise.resolve();
  }
}
