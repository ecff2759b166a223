/**
 * MCP over WebSocket (subprotocol `mcp`, one JSON-RPC message per text frame): the server-side
 * transport (SDK v2 `Transport`) for a socket from `Deno.upgradeWebSocket`, served through the
 * SDK's `serveStdio` entry so that one connection opens with either handshake (2026-07-28
 * `server/discover`, or 2025 `initialize`), and the `/ws` endpoint. The client side is in
 * `ws_client.ts`.
 * @module
 */
import {
  type JSONRPCMessage as ServerMessage,
  type McpServer,
  parseJSONRPCMessage,
  type Transport as ServerTransport,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { authenticate, type Authenticator } from "../http/mod.ts";
import { describeError, HttpError } from "../core/mod.ts";
import { checkHostAndOrigin } from "./guards.ts";
import { MCP_SUBPROTOCOL } from "./_ws_client.ts";
import type { SessionLimit } from "./sessions.ts";
import type { McpEra } from "./http.ts";

export { MCP_SUBPROTOCOL } from "./_ws_client.ts";

/** Close code for a frame larger than the limit (RFC 6455 "message too big"). */
const TOO_BIG = 1009;

function attach<M>(
  transport: { onmessage?: (message: M) => void; onerror?: (error: Error) => void },
  socket: WebSocket,
  maxMessageBytes: number,
  parse: (value: unknown) => M,
): void {
  socket.onmessage = (event) => {
    if (typeof event.data !== "string") {
      transport.onerror?.(new Error("Binary WebSocket frames are not MCP messages"));
      return;
    }
    if (event.data.length > maxMessageBytes) {
      transport.onerror?.(new Error(`WebSocket message larger than ${maxMessageBytes} bytes`));
      socket.close(TOO_BIG, "message too big");
      return;
    }
    let message: M;
    try {
      message = parse(JSON.parse(event.data));
    } catch (error) {
      transport.onerror?.(new Error(`Invalid MCP message: ${describeError(error)}`));
      return;
    }
    transport.onmessage?.(message);
  };
}

/**
 * The server side of one WebSocket connection, on the SDK v2 `Transport` interface. `closed`
 * settles when the socket has closed, whoever owns `onclose`.
 * @example
 * ```ts
 * const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "mcp" });
 * serveStdio(() => createServer(), { transport: new WebSocketServerTransport(socket) });
 * return response;
 * ```
 */
export class WebSocketServerTransport implements ServerTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: ServerMessage) => void;
  readonly sessionId: string = crypto.randomUUID();
  #socket: WebSocket;
  #maxMessageBytes: number;
  #closed = Promise.withResolvers<void>();
  #finished = false;

  constructor(socket: WebSocket, options: { maxMessageBytes?: number } = {}) {
    this.#socket = socket;
    this.#maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  }

  /** Settles once the connection has closed. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  start(): Promise<void> {
    attach(this, this.#socket, this.#maxMessageBytes, parseJSONRPCMessage);
    this.#socket.onclose = () => this.#finish();
    this.#socket.onerror = (event) => {
      this.onerror?.(new Error(`WebSocket error: ${(event as ErrorEvent).message ?? "unknown"}`));
    };
    return Promise.resolve();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.onclose?.();
    this.#closed.resolve();
  }

  async send(message: ServerMessage): Promise<void> {
    if (this.#socket.readyState === WebSocket.CONNECTING) {
      await new Promise<void>((resolve, reject) => {
        this.#socket.addEventListener("open", () => resolve(), { once: true });
        this.#socket.addEventListener("close", () => reject(new Error("WebSocket closed")), {
          once: true,
        });
      });
    }
    if (this.#socket.readyState !== WebSocket.OPEN) throw new Error("WebSocket is not open");
    this.#socket.send(JSON.stringify(message));
  }

  close(): Promise<void> {
    if (
      this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING
    ) {
      this.#socket.close(1000, "closed");
    }
    this.#finish();
    return Promise.resolve();
  }
}

/** Whether a request asks to upgrade to a WebSocket. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** Whether the client offered the `mcp` subprotocol. */
export function offersMcpSubprotocol(request: Request): boolean {
  return (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim())
    .includes(MCP_SUBPROTOCOL);
}

/** Options of {@linkcode createWebSocketEndpoint}. */
export interface WebSocketEndpointOptions {
  /**
   * A fresh MCP server for each connection, of the era its opening asks for (plus one for a
   * `server/discover` probe that a client may drop to fall back to `initialize`).
   */
  createServer: (era: McpEra) => McpServer;
  /** The bound address, for the Host check. */
  bindHost: string;
  allowedHosts?: readonly string[] | undefined;
  allowedOrigins?: readonly string[] | undefined;
  /** Checks `Authorization: Bearer` (a bare string: the static token; unset: no check). */
  auth?: Authenticator | string | undefined;
  /** Largest accepted message; a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /** The MCP_MAX_SESSIONS cap, shared with the server's HTTP transports; past it, 503. */
  sessionLimit: SessionLimit;
  /** Out-of-band errors of a connection (bad frames, refused openings), for a debug log. */
  onerror?: (error: Error) => void;
}

/** MCP over WebSocket as a request handler. */
export interface WebSocketEndpoint {
  /** Upgrades `request` (after the guards) and serves MCP on the socket. */
  handle(request: Request): Promise<Response>;
  /** Open connections. */
  readonly connectionCount: number;
  /** Closes every connection. */
  closeAll(): Promise<void>;
}

/**
 * Creates the WebSocket endpoint: the same Host/Origin and token guards and session cap as the
 * HTTP routes, the `mcp` subprotocol required, one MCP server per connection (its era chosen by
 * the opening message, as on stdio), closed with its socket.
 * @example
 * ```ts
 * const ws = createWebSocketEndpoint({
 *   createServer,
 *   bindHost: "127.0.0.1",
 *   maxMessageBytes: 1 << 20,
 *   sessionLimit: new SessionLimit(100),
 * });
 * Deno.serve((request) => new URL(request.url).pathname === "/ws" ? ws.handle(request) : notFound());
 * ```
 */
export function createWebSocketEndpoint(options: WebSocketEndpointOptions): WebSocketEndpoint {
  const open = new Set<WebSocketServerTransport>();
  options.sessionLimit.track(() => open.size);
  return {
    async handle(request) {
      if (request.method !== "GET" || !isWebSocketUpgrade(request)) {
        throw new HttpError(
          426,
          "invalid_request",
          'Use a WebSocket upgrade with subprotocol "mcp" here',
          { upgrade: "websocket" },
        );
      }
      if (!offersMcpSubprotocol(request)) {
        throw new HttpError(400, "invalid_request", 'WebSocket subprotocol "mcp" is required');
      }
      checkHostAndOrigin(request, options);
      await authenticate(request, options.auth);
      options.sessionLimit.check();
      const { socket, response } = Deno.upgradeWebSocket(request, { protocol: MCP_SUBPROTOCOL });
      const transport = new WebSocketServerTransport(socket, {
        maxMessageBytes: options.maxMessageBytes,
      });
      open.add(transport);
      void transport.closed.then(() => open.delete(transport));
      serveStdio(({ era }) => options.createServer(era), {
        transport,
        ...(options.onerror ? { onerror: options.onerror } : {}),
      });
      return response;
    },
    get connectionCount() {
      return open.size;
    },
    async closeAll() {
      await Promise.all([...open].map((t) => t.close().catch(() => {})));
    },
  };
}
