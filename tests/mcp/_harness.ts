/**
 * A real `Deno.serve` on a free loopback port answering only through `createMcpHttpHandler` (v2),
 * around a small MCP server whose tools the tests control (an echo, and a call that waits for
 * the test to release it), plus raw Streamable HTTP helpers.
 * @module
 */
import { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { HttpError } from "../../src/core/errors.ts";
import { errorResponse } from "../../src/http/respond.ts";
import { createLogger, setLogSink } from "../../src/core/log.ts";
import { SessionLimit } from "../../src/mcp/sessions.ts";
import { createMcpHttpHandler, type McpHttpHandler } from "../../src/mcp/http.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import {
  createWebSocketEndpoint,
  offersMcpSubprotocol,
  WebSocketServerTransport,
} from "../../src/mcp/websocket.ts";
import { testConfig } from "../_helpers.ts";
import { serveOnLoopback } from "../_serve.ts";
import { createLegacyTestMcp } from "./_legacy_mcp.ts";

/** A running MCP-over-HTTP test server. */
export interface McpHttpTestServer extends AsyncDisposable {
  url: string;
  mcp: McpHttpHandler;
  /** Answers `request` as the server does, without a socket (404 off the MCP routes). */
  handle(request: Request): Promise<Response>;
  /** Every MCP server created (one per 2025-era session or 2026-07-28 request), in order. */
  servers: McpServer[];
  /** Resolves the pending `wait` tool calls. */
  release(): void;
  close(): Promise<void>;
}

/** The small MCP server the tests talk to. */
export function createTestMcp(gate: () => Promise<void>): McpServer {
  const mcp = new McpServer({ name: "test-mcp", version: "1.0.0" }, {
    capabilities: { logging: {} },
  });
  defineTool(mcp, "echo", {
    description: "Echo the text",
    inputSchema: { text: z.string() },
  }, ({ text }) => jsonResult({ text }, text));
  defineTool(mcp, "wait", {
    description: "Answer once the test releases the gate",
    inputSchema: { text: z.string() },
  }, async ({ text }) => {
    await gate();
    return jsonResult({ text }, `released ${text}`);
  });
  return mcp;
}

/**
 * Starts the test server with settings `env` (on top of the test defaults), bound to `bindHost`
 * (default 127.0.0.1); `tools` adds tools to each session's server.
 */
export async function startMcpHttp(
  env: Record<string, string> = {},
  options: { bindHost?: string; tools?: (mcp: McpServer) => void } = {},
): Promise<McpHttpTestServer> {
  const config = testConfig(env);
  let gate = Promise.withResolvers<void>();
  const servers: McpServer[] = [];
  const mcp = createMcpHttpHandler({
    createServer: () => {
      const server = createTestMcp(() => gate.promise);
      options.tools?.(server);
      servers.push(server);
      return server;
    },
    config,
    directCalls: config.MCP_DIRECT_CALLS,
    bindHost: options.bindHost ?? "127.0.0.1",
    log: createLogger("mcp-test"),
  });
  const handle = async (request: Request, info?: Deno.ServeHandlerInfo) =>
    await mcp.handle(request, info) ?? errorResponse(new HttpError(404, "not_found", "No route"));
  const served = await serveOnLoopback(handle);
  const close = async () => {
    gate.resolve();
    await mcp.close();
    await served.stop();
  };
  return {
    url: served.url,
    mcp,
    handle,
    servers,
    release() {
      gate.resolve();
      gate = Promise.withResolvers<void>();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A running 2025-only test server (see {@linkcode startLegacyOnlyMcp}). */
export interface LegacyOnlyMcpServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`: MCP at `/mcp`, `/sse` and `/ws`. */
  url: string;
  port: number;
  /** Open Streamable HTTP and SSE sessions and WebSocket connections. */
  readonly sessionCount: number;
  close(): Promise<void>;
}

/**
 * Starts a test MCP server that speaks nothing newer than 2025-11-25, as a server on an older SDK
 * does: on `/mcp` a request with a newer `MCP-Protocol-Version` (the 2026-07-28 `server/discover`
 * probe) gets `400`, so a client falls back to `initialize`, which the 2025-era leg answers;
 * `/sse` is the 2024-11-05 transport; `/ws` is an SDK v1 server on the socket. On a free port
 * unless `port` is given (to restart one where the last one was).
 */
export async function startLegacyOnlyMcp(
  options: { port?: number } = {},
): Promise<LegacyOnlyMcpServer> {
  const mcp = createMcpHttpHandler({
    createServer: () => createTestMcp(() => Promise.resolve()),
    config: testConfig(),
    bindHost: "127.0.0.1",
    log: createLogger("legacy-only-mcp"),
  });
  const sockets = new Set<WebSocketServerTransport>();
  const served = await serveOnLoopback(async (request, info) => {
    const path = new URL(request.url).pathname;
    if (path === "/ws") {
      if (!offersMcpSubprotocol(request)) return new Response("subprotocol mcp", { status: 400 });
      const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "mcp" });
      const transport = new WebSocketServerTransport(socket);
      sockets.add(transport);
      void transport.closed.then(() => sockets.delete(transport));
      await createLegacyTestMcp().connect(transport as never);
      return response;
    }
    const version = request.headers.get("mcp-protocol-version");
    if (path === "/mcp" && version !== null && !LEGACY_VERSIONS.includes(version)) {
      return Response.json({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32000, message: `Bad Request: Unsupported protocol version: ${version}` },
      }, { status: 400 });
    }
    const answer = await mcp.handle(request, info);
    return answer ?? errorResponse(new HttpError(404, "not_found", "No route"));
  }, { port: options.port ?? 0 });
  const close = async () => {
    await Promise.all([...sockets].map((t) => t.close()));
    await mcp.close();
    await served.stop();
  };
  return {
    url: served.url,
    port: served.port,
    get sessionCount() {
      return mcp.sessionCount + sockets.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The protocol versions of the 2025 era and before, which the 2025-only server takes. */
const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"];

/** The `stdio:` target of a 2025-only test MCP server (SDK v1) spawned from source. */
export function legacyOnlyStdioTarget(): string {
  return `stdio:${Deno.execPath()} run -A ${
    new URL("./_legacy_stdio.ts", import.meta.url).pathname
  }`;
}

/** An MCP server that records the headers of every request it receives. */
export interface RecordingMcpServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`: MCP at `/mcp`, `/sse` and `/ws`. */
  url: string;
  /** Every request received, in order. */
  requests: { path: string; headers: Headers }[];
  /** The values of header `name` over every request, without repeats. */
  seen(name: string): string[];
  close(): Promise<void>;
}

/**
 * Starts the test MCP server on a free loopback port over Streamable HTTP, legacy SSE and
 * WebSocket, with no token check, recording each request's headers (a stand-in upstream).
 */
export async function startRecordingMcp(): Promise<RecordingMcpServer> {
  const createServer = () => createTestMcp(() => Promise.resolve());
  const mcp = createMcpHttpHandler({
    createServer,
    config: testConfig(),
    bindHost: "127.0.0.1",
    log: createLogger("recording-mcp"),
  });
  const ws = createWebSocketEndpoint({
    createServer,
    bindHost: "127.0.0.1",
    maxMessageBytes: 1 << 20,
    sessionLimit: new SessionLimit(100),
  });
  const requests: { path: string; headers: Headers }[] = [];
  const served = await serveOnLoopback(async (request, info) => {
    const path = new URL(request.url).pathname;
    requests.push({ path, headers: new Headers(request.headers) });
    if (path === "/ws") return await ws.handle(request);
    const answer = await mcp.handle(request, info);
    return answer ?? errorResponse(new HttpError(404, "not_found", "No route"));
  });
  const close = async () => {
    await ws.closeAll();
    await mcp.close();
    await served.stop();
  };
  return {
    url: served.url,
    requests,
    seen: (name) => [
      ...new Set(requests.flatMap((r) => r.headers.has(name) ? [r.headers.get(name)!] : [])),
    ],
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A whole MCP server over stdio in one script for `deno eval`, no imports: its one tool `env`
 * answers the value of the environment variable `name` (or `(unset)`).
 */
export const ENV_SERVER_SCRIPT = `
const out = (m) => Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(m) + "\\n"));
let buffer = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffer += chunk;
  let end;
  while ((end = buffer.indexOf("\\n")) >= 0) {
    const line = buffer.slice(0, end).trim();
    buffer = buffer.slice(end + 1);
    if (!line) continue;
    const m = JSON.parse(line);
    if (m.id === undefined) continue;
    const answer = (result) => out({ jsonrpc: "2.0", id: m.id, result });
    if (m.method === "initialize") {
      answer({ protocolVersion: m.params.protocolVersion, capabilities: { tools: {} },
        serverInfo: { name: "env-server", version: "1" } });
    } else if (m.method === "tools/list") {
      answer({ tools: [{ name: "env", description: "A variable's value",
        inputSchema: { type: "object", properties: { name: { type: "string" } } } }] });
    } else if (m.method === "tools/call") {
      answer({ content: [{ type: "text", text: Deno.env.get(m.params.arguments.name) ?? "(unset)" }] });
    } else {
      out({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
    }
  }
}`;

/** Headers of a Streamable HTTP POST. */
export const POST_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** An initialize request body. */
export function initializeBody(protocolVersion = "2025-11-25", id = 1): Record<string, unknown> {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  };
}

/** Where raw MCP requests go: a base URL (over a socket) or a handler (no socket). */
export type McpTarget = string | { handle(request: Request): Promise<Response> };

/** POSTs one JSON-RPC message (or raw text) to `/mcp` of `target`. */
export function postMcp(
  target: McpTarget,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const request = new Request(`${typeof target === "string" ? target : "http://127.0.0.1"}/mcp`, {
    method: "POST",
    headers: { ...POST_HEADERS, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return typeof target === "string" ? fetch(request) : target.handle(request);
}

/**
 * Opens a session with raw HTTP (initialize, then the initialized notification) and returns its
 * ID; the initialize answer is read to its end.
 */
export async function openSession(
  url: McpTarget,
  headers: Record<string, string> = {},
  protocolVersion = "2025-11-25",
): Promise<string> {
  const response = await postMcp(url, initializeBody(protocolVersion), headers);
  if (response.status !== 200) {
    throw new Error(`initialize answered ${response.status}: ${await response.text()}`);
  }
  const id = response.headers.get("mcp-session-id");
  await response.body?.cancel();
  if (!id) throw new Error("initialize answered without Mcp-Session-Id");
  const initialized = await postMcp(url, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  }, { ...headers, "mcp-session-id": id, "mcp-protocol-version": protocolVersion });
  await initialized.body?.cancel();
  if (initialized.status !== 202) throw new Error(`initialized answered ${initialized.status}`);
  return id;
}

/** Collects log lines while `fn` runs. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    return { result: await fn(), lines };
  } finally {
    restore();
  }
}

/**
 * Sends one HTTP/1.1 request over a raw TCP connection, so that any `Host` header can be sent
 * (`fetch` always sends the URL's own); answers the status, headers and the body text (for a
 * streamed answer, only what arrived with the headers). No `Content-Length` without a body (an
 * upgrade request with one is refused as malformed).
 */
export async function rawHttp(
  url: string,
  request: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Headers; body: string }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    const body = request.body ?? "";
    const lines = [
      `${request.method} ${request.path} HTTP/1.1`,
      ...Object.entries({
        connection: "close",
        ...(request.body === undefined
          ? {}
          : { "content-length": String(new TextEncoder().encode(body).byteLength) }),
        ...request.headers,
      }).map(([k, v]) => `${k}: ${v}`),
      "",
      body,
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n")));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      const text = new TextDecoder().decode(concat(chunks));
      const head = text.indexOf("\r\n\r\n");
      if (head >= 0) {
        const length = text.slice(0, head).match(/content-length: *(\d+)/i);
        if (!length || text.length >= head + 4 + Number(length[1])) break;
      }
    }
    const text = new TextDecoder().decode(concat(chunks));
    const head = text.indexOf("\r\n\r\n");
    const [statusLine, ...headerLines] = text.slice(0, head).split("\r\n");
    const headers = new Headers();
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { status: Number(statusLine!.split(" ")[1]), headers, body: text.slice(head + 4) };
  } finally {
    conn.close();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
