/**
 * MCP over HTTP for both servers, as one request handler beside each server's other routes:
 * Streamable HTTP at `/mcp` (POST, GET, DELETE; sessions; `Last-Event-ID` resumability) and the
 * older HTTP+SSE transport at `/sse` + `/messages`. Every route runs the guards first: rate
 * limit, Host/Origin, bearer token, Accept/Content-Type, protocol version, body limit, batches.
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { authenticatorFor } from "../auth.ts";
import type { Config } from "../config.ts";
import { describeError, HttpError } from "../errors.ts";
import { errorResponse, methodNotAllowed, readBody } from "../http.ts";
import type { Logger } from "../log.ts";
import { clientAddress, createRateLimiter, type RateLimiter } from "../rate_limit.ts";
import {
  cancelledRequestId,
  type DirectCall,
  directCallOf,
  type RequestId,
  runDirectCall,
} from "./direct_call.ts";
import { BoundedEventStore } from "./event_store.ts";
import {
  checkHostAndOrigin,
  checkProtocolVersion,
  type HostPolicy,
  parseJsonRpcBody,
  requireAccept,
  requireJsonContentType,
} from "./guards.ts";
import { LegacySseTransport } from "./legacy_sse.ts";
import {
  newSessionId,
  type SessionEntry,
  type SessionLimit,
  SessionTable,
  trackStream,
} from "./sessions.ts";

/** The paths this handler answers. */
export const MCP_HTTP_PATHS: readonly string[] = ["/mcp", "/sse", "/messages"];

/** What {@linkcode createMcpHttpHandler} needs. */
export interface McpHttpOptions {
  /** Creates a fresh McpServer per session / legacy SSE connection. */
  createServer: () => McpServer;
  /**
   * MCP_ALLOWED_HOSTS, MCP_ALLOWED_ORIGINS, MCP_SESSION_IDLE_MINUTES, MCP_MAX_SESSIONS,
   * MAX_BODY_BYTES, MCPCOMM_AUTH_TOKEN, RATE_LIMIT_PER_MINUTE.
   */
  config: Config;
  /** The hostname the server bound, for the loopback-only Host rule. */
  bindHost: string;
  log: Logger;
  /** The MCP_MAX_SESSIONS cap shared with the server's other transports (WebSocket). */
  sessionLimit?: SessionLimit | undefined;
  /** A limiter shared with the server's other routes; by default one of its own. */
  rateLimiter?: RateLimiter | undefined;
}

/** MCP over HTTP as a request handler. */
export interface McpHttpHandler {
  /**
   * Answers the MCP routes /mcp, /sse, /messages, and, with a token set, the OAuth discovery and
   * registration paths with a 404 saying to send the bearer token; undefined for any other path.
   */
  handle(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response | undefined>;
  /** Sessions alive now (both transports). */
  readonly sessionCount: number;
  /** Closes every session and stream. */
  close(): Promise<void>;
}

type Live =
  | {
    kind: "streamable";
    server: McpServer;
    transport: WebStandardStreamableHTTPServerTransport;
    /** Calls being answered directly, by request ID (for `notifications/cancelled`). */
    calls: Map<RequestId, AbortController>;
  }
  | { kind: "sse"; server: McpServer; transport: LegacySseTransport };

/** Aborts the calls of `live` being answered directly: its session ended. */
function endCalls(live: Live): void {
  if (live.kind !== "streamable") return;
  for (const call of live.calls.values()) call.abort(new Error("the MCP session ended"));
}

/** How long a client waits before reconnecting a cut stream (sent as the SSE `retry` field). */
const RETRY_INTERVAL_MS = 1000;

function unknownSession(): HttpError {
  return new HttpError(
    404,
    "not_found",
    "Unknown or ended MCP session; start a new one with an initialize request",
  );
}

/**
 * Creates the MCP HTTP handler. Pass its `handle` as a server's fallback route and call `close()`
 * on shutdown.
 * @example
 * ```ts
 * const mcpHttp = createMcpHttpHandler({
 *   createServer: () => createServerBMcp(service, VERSION),
 *   config,
 *   bindHost: config.HTTP_HOST,
 *   log,
 * });
 * Deno.serve(async (req, info) => (await mcpHttp.handle(req, info)) ?? new Response(null, { status: 404 }));
 * ```
 */
export function createMcpHttpHandler(options: McpHttpOptions): McpHttpHandler {
  const { config, log } = options;
  const policy: HostPolicy = {
    bindHost: options.bindHost,
    allowedHosts: config.MCP_ALLOWED_HOSTS,
    allowedOrigins: config.MCP_ALLOWED_ORIGINS,
  };
  const limiter = options.rateLimiter ?? createRateLimiter(config.RATE_LIMIT_PER_MINUTE);
  const maxBody = config.MAX_BODY_BYTES;
  const directCalls = config.MCP_DIRECT_CALLS;
  const sessions = new SessionTable<Live>({
    idleMs: config.MCP_SESSION_IDLE_MINUTES * 60_000,
    maxSessions: config.MCP_MAX_SESSIONS,
    limit: options.sessionLimit,
    close: async (live, id, reason) => {
      log.debug("MCP session closed", { session: id.slice(0, 8), transport: live.kind, reason });
      endCalls(live);
      await live.server.close();
    },
  });

  const connect = async (live: Live, id: string) => {
    live.transport.onclose = () => {
      sessions.remove(id);
      endCalls(live);
    };
    live.transport.onerror = (error: Error) =>
      log.debug("MCP transport error", { session: id.slice(0, 8), error: describeError(error) });
    await live.server.connect(live.transport);
  };

  const startStreamable = async (
    request: Request,
    body: Record<string, unknown>,
  ): Promise<Response> => {
    if (body.method !== "initialize") {
      throw new HttpError(
        400,
        "invalid_request",
        "Mcp-Session-Id header is required; only an initialize request starts a session",
      );
    }
    const release = sessions.reserve();
    try {
      const id = newSessionId();
      let entry: SessionEntry<Live> | undefined;
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => id,
        eventStore: new BoundedEventStore(),
        retryInterval: RETRY_INTERVAL_MS,
        maxRequestBodySize: maxBody,
        onsessioninitialized: () => {
          entry = sessions.add(id, live);
        },
      });
      const live: Live = {
        kind: "streamable",
        server: options.createServer(),
        transport,
        calls: new Map(),
      };
      await connect(live, id);
      const response = await transport.handleRequest(request, { parsedBody: body });
      if (!entry) {
        await live.server.close();
        return response;
      }
      log.debug("MCP session started", { session: id.slice(0, 8), transport: "streamable" });
      return trackStream(response, sessions.openStream(entry));
    } finally {
      release();
    }
  };

  const streamable = async (request: Request): Promise<Response> => {
    const method = request.method;
    if (method === "POST") {
      requireAccept(request, ["application/json", "text/event-stream"]);
      requireJsonContentType(request);
    } else if (method === "GET") {
      requireAccept(request, ["text/event-stream"]);
    } else if (method !== "DELETE") {
      throw methodNotAllowed(["GET", "POST", "DELETE"]);
    }
    checkProtocolVersion(request);
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) {
      if (method !== "POST") {
        throw new HttpError(400, "invalid_request", "Mcp-Session-Id header is required");
      }
      return await startStreamable(request, parseJsonRpcBody(await readBody(request, maxBody)));
    }
    const entry = sessions.get(sessionId);
    if (!entry || entry.value.kind !== "streamable") throw unknownSession();
    const live = entry.value;
    const done = sessions.openStream(entry);
    try {
      const parsedBody = method === "POST"
        ? parseJsonRpcBody(await readBody(request, maxBody))
        : undefined;
      if (parsedBody && directCalls) {
        const call = directCallOf(live.server, parsedBody);
        if (call) return await answerDirectly(live, call, request, sessionId, done);
        const cancelled = cancelledRequestId(parsedBody);
        if (cancelled !== undefined) {
          live.calls.get(cancelled)?.abort(new Error("cancelled by the client"));
        }
      }
      const response = await live.transport.handleRequest(
        request,
        parsedBody ? { parsedBody } : undefined,
      );
      return trackStream(response, done);
    } catch (error) {
      done();
      throw error;
    }
  };

  const answerDirectly = async (
    live: Extract<Live, { kind: "streamable" }>,
    call: DirectCall,
    request: Request,
    sessionId: string,
    done: () => void,
  ): Promise<Response> => {
    const controller = new AbortController();
    const gone = () => controller.abort(new Error("client disconnected"));
    request.signal.addEventListener("abort", gone, { once: true });
    live.calls.set(call.id, controller);
    try {
      const answer = await runDirectCall(live.server, call, {
        signal: controller.signal,
        sessionId,
        request,
      });
      return new Response(JSON.stringify(answer), {
        headers: { "content-type": "application/json", "mcp-session-id": sessionId },
      });
    } finally {
      request.signal.removeEventListener("abort", gone);
      if (live.calls.get(call.id) === controller) live.calls.delete(call.id);
      done();
    }
  };

  const openLegacy = async (request: Request): Promise<Response> => {
    if (request.method !== "GET") throw methodNotAllowed(["GET"]);
    const accept = request.headers.get("accept");
    if (accept !== null && !/text\/event-stream|text\/\*|\*\/\*/i.test(accept)) {
      throw new HttpError(406, "not_acceptable", "Accept must list text/event-stream");
    }
    checkProtocolVersion(request);
    const release = sessions.reserve();
    try {
      const id = newSessionId();
      const live: Live = {
        kind: "sse",
        server: options.createServer(),
        transport: new LegacySseTransport(id, "/messages"),
      };
      await connect(live, id);
      const entry = sessions.add(id, live);
      log.debug("MCP session started", { session: id.slice(0, 8), transport: "sse" });
      return trackStream(live.transport.response(), sessions.openStream(entry));
    } finally {
      release();
    }
  };

  const postLegacy = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") throw methodNotAllowed(["POST"]);
    requireJsonContentType(request);
    checkProtocolVersion(request);
    const id = new URL(request.url).searchParams.get("sessionId");
    if (!id) {
      throw new HttpError(400, "invalid_request", "The sessionId query parameter is required");
    }
    const entry = sessions.get(id);
    if (!entry || entry.value.kind !== "sse") throw unknownSession();
    const body = parseJsonRpcBody(await readBody(request, maxBody));
    entry.value.transport.receive(body, request);
    return new Response(null, { status: 202 });
  };

  return {
    async handle(request, info) {
      const path = new URL(request.url).pathname;
      if (!MCP_HTTP_PATHS.includes(path)) {
        return authenticatorFor(config).wellKnown(request);
      }
      try {
        await limiter?.check(clientAddress(info));
        checkHostAndOrigin(request, policy);
        await authenticatorFor(config).authenticate(request);
        if (path === "/mcp") return await streamable(request);
        if (path === "/sse") return await openLegacy(request);
        return await postLegacy(request);
      } catch (error) {
        return errorResponse(error, log);
      }
    },
    get sessionCount() {
      return sessions.size;
    },
    close() {
      return sessions.closeAll();
    },
  };
}
