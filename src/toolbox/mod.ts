/**
 * `mcpcomm toolbox`: the demo MCP server (SDK v2), over Streamable HTTP (`/mcp`: 2026-07-28 per
 * request and 2025-era sessions), legacy SSE (`/sse`), WebSocket (`/ws`, subprotocol `mcp`) on one
 * port, or over stdio; stdio and `/ws` accept either handshake (`server/discover` or `initialize`).
 * @module
 */
import process from "node:process";
import {
  authenticatorFor,
  errorResponse,
  guardOf,
  listen,
  refuseOpenBind,
  warnIfExposed,
} from "../http/mod.ts";
import { type Config, createLogger, HttpError } from "../core/mod.ts";
import { sharedRedisOf } from "../shared/mod.ts";
import {
  createMcpHttpHandler,
  createWebSocketEndpoint,
  serveMcpStdio,
  SessionLimit,
} from "../mcp/mod.ts";
import { createToolboxMcp, type ToolboxOptions } from "./tools.ts";

/** Options of {@linkcode startToolbox}. */
export interface ToolboxServerOptions extends ToolboxOptions {
  /** `http` (default: `/mcp`, `/sse`, `/ws` on one port) or `stdio`. */
  transport?: "http" | "stdio";
  host?: string;
  port?: number;
  signal?: AbortSignal;
}

/** A running toolbox. */
export interface RunningToolbox {
  /** Base URL over HTTP, e.g. `http://127.0.0.1:8080`; endpoints `/mcp`, `/sse`, `/ws`. */
  url?: string;
  /** Open WebSocket connections. */
  readonly webSocketCount: number;
  /** Live MCP sessions over all transports (WebSocket connections included). */
  readonly sessionCount: number;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/**
 * Starts the toolbox and resolves once it serves. Throws `ConfigError` when `run_command`
 * would be served over HTTP on a non-loopback address without a token (see `refuseOpenBind`).
 * @example
 * ```ts
 * const box = await startToolbox(config, {
 *   name: "calc", version: "0.1.0", tools: ["math_calc", "echo"], root: ".", port: 0,
 * });
 * // connect to `${box.url}/mcp`, `${box.url}/sse` or `${box.url}/ws`
 * ```
 */
export async function startToolbox(
  config: Config,
  options: ToolboxServerOptions,
): Promise<RunningToolbox> {
  const log = createLogger("toolbox");
  const createServer = () => createToolboxMcp(options);
  const onerror = (error: Error) => log.debug("MCP error", { error: String(error) });

  if (options.transport === "stdio") {
    const stdio = serveMcpStdio(createServer, { directCalls: config.MCP_DIRECT_CALLS, onerror });
    const closed = Promise.withResolvers<void>();
    const stop = () => void stdio.close().finally(() => closed.resolve());
    // The client closing stdin ends the stdio session (MCP lifecycle): the toolbox stops too.
    process.stdin.once("end", stop);
    options.signal?.addEventListener("abort", stop, { once: true });
    log.info("toolbox serving MCP over stdio", { name: options.name, tools: options.tools });
    return { webSocketCount: 0, sessionCount: 1, finished: closed.promise };
  }

  const bindHost = options.host ?? "127.0.0.1";
  if (options.tools.includes("run_command")) {
    refuseOpenBind({
      serving: "run_command",
      bindHost,
      hostSetting: "--host",
      token: guardOf(config),
      insecure: config.MCPCOMM_INSECURE_NO_AUTH,
    });
  }
  const sessionLimit = new SessionLimit(config.MCP_MAX_SESSIONS);
  const webSocket = createWebSocketEndpoint({
    createServer,
    bindHost,
    allowedHosts: config.MCP_ALLOWED_HOSTS,
    allowedOrigins: config.MCP_ALLOWED_ORIGINS,
    auth: authenticatorFor(config),
    maxMessageBytes: config.MAX_BODY_BYTES,
    sessionLimit,
    onerror,
  });

  const shared = await sharedRedisOf(config.MCPCOMM_REDIS, `toolbox:${options.name}`, log);
  const mcpHttp = createMcpHttpHandler({
    createServer,
    config,
    bindHost,
    log,
    sessionLimit,
    shared,
  });

  const handle = async (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (pathname === "/ws") return await webSocket.handle(request);
    const answer = await mcpHttp.handle(request, info);
    if (answer) return answer;
    if (pathname === "/health" && request.method === "GET") {
      return Response.json({ status: "ok", name: options.name, tools: options.tools });
    }
    throw new HttpError(404, "not_found", `No route for ${request.method} ${pathname}`);
  };

  const { server, url } = await listen({
    hostname: bindHost,
    port: options.port ?? 8080,
    portSetting: "--port",
    hostSetting: "--host",
    signal: options.signal,
    readTimeoutSeconds: config.READ_TIMEOUT_SECONDS,
    maxConnectionsPerAddress: config.MAX_CONNECTIONS_PER_ADDRESS,
    log,
  }, async (request, info) => {
    try {
      return await handle(request, info);
    } catch (error) {
      return errorResponse(error, log);
    }
  });
  options.signal?.addEventListener("abort", () => {
    void webSocket.closeAll();
    void mcpHttp.close();
  }, { once: true });
  log.info("toolbox listening", {
    name: options.name,
    url,
    endpoints: ["/mcp", "/sse", "/ws"],
    tools: options.tools,
  });
  warnIfExposed(log, {
    server: `Toolbox ${options.name}`,
    bindHost,
    port: server.addr.port,
    token: guardOf(config),
    exposed: [`MCP at /mcp, /sse, /ws (${options.tools.join(", ")})`],
  });
  return {
    url,
    get webSocketCount() {
      return webSocket.connectionCount;
    },
    get sessionCount() {
      return webSocket.connectionCount + mcpHttp.sessionCount;
    },
    finished: server.finished,
  };
}

export * from "./tools.ts";
