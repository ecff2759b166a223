/**
 * The older HTTP+SSE transport (protocol 2024-11-05) on web standards: `GET /sse` opens an event
 * stream whose first event, `endpoint`, names `/messages?sessionId=...`; the client POSTs each
 * JSON-RPC message there, and every server message goes out on the stream as `event: message`.
 * SDK v2 has no server side for this transport at all (v1's `SSEServerTransport` needed Node's
 * `http` objects), so it stays hand-written; roles still on SDK v1 use `../legacy_sse.ts`.
 * @module
 */
import {
  type JSONRPCMessage,
  type MessageExtraInfo,
  parseJSONRPCMessage,
  type Transport,
} from "@modelcontextprotocol/server";
import { HttpError } from "../core/mod.ts";
import { SSE_HEADERS, sseComment, sseEvent, sseText } from "../http/mod.ts";

/** How often a comment line keeps an idle stream (and proxies) alive. */
export const LEGACY_KEEP_ALIVE_MS = 15_000;

/**
 * One legacy SSE connection as an MCP `Transport`. Create it, `connect` an MCP server to it, then
 * answer the GET with {@linkcode LegacySseTransport.response}.
 */
export class LegacySseTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  readonly sessionId: string;
  readonly #endpoint: string;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #stream: ReadableStream<Uint8Array>;

  /** `endpoint` is the path clients POST to, e.g. `/messages`. */
  constructor(sessionId: string, endpoint: string) {
    this.sessionId = sessionId;
    this.#endpoint = `${endpoint}?sessionId=${encodeURIComponent(sessionId)}`;
    this.#stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        controller.enqueue(sseText(this.#endpoint, "endpoint"));
      },
      cancel: () => {
        void this.close();
      },
    });
  }

  /** Whether the stream has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the keep-alive comments (called by `McpServer.connect`). */
  start(): Promise<void> {
    const timer = setInterval(() => this.#write(sseComment("keepalive")), LEGACY_KEEP_ALIVE_MS);
    Deno.unrefTimer(timer);
    this.#keepAlive = timer;
    return Promise.resolve();
  }

  /** The event stream answering `GET /sse`. */
  response(headers: Record<string, string> = {}): Response {
    return new Response(this.#stream, { headers: { ...SSE_HEADERS, ...headers } });
  }

  #write(frame: Uint8Array): boolean {
    if (this.#closed || !this.#controller) return false;
    try {
      this.#controller.enqueue(frame);
      return true;
    } catch {
      void this.close();
      return false;
    }
  }

  /** Writes one server message to the stream as `event: message`. */
  send(message: JSONRPCMessage): Promise<void> {
    if (!this.#write(sseEvent(message, "message"))) {
      return Promise.reject(new Error("The SSE stream of this session has closed"));
    }
    return Promise.resolve();
  }

  /**
   * Delivers one message POSTed to the endpoint; 400 when it is not a JSON-RPC message, 404 when
   * the stream has already ended.
   */
  receive(body: unknown, request: Request): void {
    if (this.#closed) throw new HttpError(404, "not_found", "Unknown or ended MCP session");
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(body);
    } catch {
      throw new HttpError(400, "invalid_request", "Body is not a valid JSON-RPC message");
    }
    this.onmessage?.(message, { request });
  }

  /** Ends the stream and the session. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#keepAlive);
    try {
      this.#controller?.close();
    } catch {
      // already closed or cancelled by the client
    }
    this.onclose?.();
    return Promise.resolve();
  }
}
