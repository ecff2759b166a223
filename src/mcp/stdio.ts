/**
 * MCP over stdio for every role: the SDK's `serveStdio` (either handshake on one connection) and,
 * with `directCalls`, a 2025-era connection's quiet `tools/call`s without a progress token answered
 * directly (`./_direct_call.ts`), as on HTTP, instead of through the SDK's per-request dispatch:
 * Server A over stdio went from 0.72-0.78x stop 11's code to 1.13-1.17x in the same run
 * (`deno task bench:against 55bbd73`). Everything else, and every 2026-07-28 connection, goes
 * through the SDK.
 * @module
 */
import type { JSONRPCMessage, McpServer, RequestId, Transport } from "@modelcontextprotocol/server";
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { cancelledRequestId, directCallOf, runDirectCall } from "./_direct_call.ts";
import type { McpEra } from "./http.ts";

/** Options of {@linkcode serveMcpStdio}. */
export interface McpStdioOptions {
  /** Answer quiet `tools/call`s directly (MCP_DIRECT_CALLS); default false. */
  directCalls?: boolean;
  /** The wire; default the process's stdin and stdout. */
  transport?: Transport;
  onerror?: (error: Error) => void;
}

/**
 * Serves `createServer`'s MCP server over stdio until stdin ends or `close()` is called.
 * @example
 * ```ts
 * const stdio = serveMcpStdio((era) => createServerAMcp(deps), { directCalls: true });
 * await stdio.close();
 * ```
 */
export function serveMcpStdio(
  createServer: (era: McpEra) => McpServer | Promise<McpServer>,
  options: McpStdioOptions = {},
): { close(): Promise<void> } {
  const wire = options.transport ?? new StdioServerTransport();
  const onerror = options.onerror ? { onerror: options.onerror } : {};
  if (!options.directCalls) {
    return serveStdio(({ era }) => createServer(era), { transport: wire, ...onerror });
  }
  const direct = new DirectTransport(wire);
  return serveStdio(async ({ era }) => {
    const server = await createServer(era);
    if (era === "legacy") direct.server = server;
    return server;
  }, { transport: direct, ...onerror });
}

/**
 * A {@linkcode Transport} in front of `inner` that answers a quiet `tools/call` itself once the
 * 2025-era server it serves has been initialized, and passes every other message on.
 */
class DirectTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: Transport["onmessage"];
  /** The 2025-era server of this connection, once the SDK's entry has created it. */
  server: McpServer | undefined;
  readonly #inner: Transport;
  readonly #calls = new Map<RequestId, AbortController>();

  constructor(inner: Transport) {
    this.#inner = inner;
    inner.onclose = () => {
      this.#abortAll();
      this.onclose?.();
    };
    inner.onerror = (error) => this.onerror?.(error);
    inner.onmessage = (message, extra) => {
      if (!this.#answer(message)) this.onmessage?.(message, extra);
    };
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  send(message: JSONRPCMessage, options?: Parameters<Transport["send"]>[1]): Promise<void> {
    return this.#inner.send(message, options);
  }

  close(): Promise<void> {
    this.#abortAll();
    return this.#inner.close();
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version);
  }

  setSupportedProtocolVersions(versions: string[]): void {
    this.#inner.setSupportedProtocolVersions?.(versions);
  }

  /** Starts answering `message` directly and says so, or says it is the SDK's. */
  #answer(message: JSONRPCMessage): boolean {
    const server = this.server;
    if (!server || server.server.getClientVersion() === undefined) return false;
    const cancelled = cancelledRequestId(message);
    if (cancelled !== undefined) {
      this.#calls.get(cancelled)?.abort(new Error("cancelled by the client"));
      return false;
    }
    const direct = directCallOf(server, message);
    if (!direct) return false;
    const id = direct.call.id;
    const controller = new AbortController();
    this.#calls.set(id, controller);
    const { signal } = controller;
    void runDirectCall(server, direct, { signal, sessionId: undefined, notifies: true })
      .then((answer) => signal.aborted ? undefined : this.#inner.send(answer as JSONRPCMessage))
      .catch((error) => this.onerror?.(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        if (this.#calls.get(id) === controller) this.#calls.delete(id);
      });
    return true;
  }

  #abortAll(): void {
    for (const controller of this.#calls.values()) {
      controller.abort(new Error("the connection closed"));
    }
    this.#calls.clear();
  }
}
