/**
 * MCP over HTTP on the SDK v2 (`@modelcontextprotocol/server`), both protocol eras on one `/mcp`:
 * - 2026-07-28: per request, no session. A POST carrying the `_meta` envelope claim goes to the
 *   SDK's `createMcpHandler` (strict, `legacy: 'reject'`), which answers `server/discover`,
 *   checks the `Mcp-Method`/`Mcp-Name` headers against the body, fills the caching hints, and
 *   answers JSON unless the handler streams (`responseMode: 'auto'`).
 * - 2025 era (2025-11-25, 2025-06-18, 2025-03-26): sessions with `Last-Event-ID` resumability
 *   on the SDK's `WebStandardStreamableHTTPServerTransport`, routed with the SDK's own
 *   `isLegacyRequest`; and the older HTTP+SSE transport at `/sse` + `/messages`.
 *
 * Every route runs mcpcomm's guards first, in this order: rate limit, Host/Origin, bearer token,
 * Accept/Content-Type, body limit; then, for the 2025 era, protocol version, batches, the session
 * cap and idle expiry. What stays hand-written, and why:
 * - Host/Origin (`../guards.ts`): the SDK's `validateHostHeader`/`validateOriginHeader` take a
 *   fixed allowlist; mcpcomm's rule depends on the bind address (loopback binds accept only
 *   loopback names, other binds accept IP literals) and accepts same-origin requests.
 * - Bearer (`../../auth.ts` `authenticatorFor`): the static shared token and/or OAuth access tokens
 *   (`../../oauth/resource.ts` says why not the SDK's `verifyBearerToken`); with OAuth on, the RFC
 *   9728 metadata document is served for paths outside MCP.
 * - Sessions (`../sessions.ts`, `../event_store.ts`): the SDK's sessionful wiring is left to the
 *   caller; the cap shared with `/ws`, idle expiry and the bounded event store are mcpcomm's.
 *   With `shared` (`MCPCOMM_REDIS`), 2025-era sessions, their events and the rate limit live in
 *   Redis (`../shared_sessions.ts`) so any replica serves any session: see `adopt` below.
 * - Errors are mcpcomm's JSON bodies (`{ error: { code, message } }`) up to the point where a
 *   request reaches the SDK; the SDK's JSON-RPC error answers after that.
 * @module
 */
import {
  createMcpHandler,
  type EventStore,
  isLegacyRequest,
  type McpServer,
  readRequestBody,
  type ServerNotifier,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { authenticatorFor } from "../http/auth.ts";
import type { Config } from "../core/config.ts";
import { describeError, HttpError } from "../core/errors.ts";
import { errorResponse, methodNotAllowed } from "../http/util.ts";
import type { Logger } from "../core/log.ts";
import {
  clientAddress,
  createRateLimiter,
  createSharedRateLimiter,
  type RateLimiter,
} from "../http/rate_limit.ts";
import type { SharedRedis } from "../core/redis.ts";
import { BoundedEventStore } from "./event_store.ts";
import {
  checkHostAndOrigin,
  checkProtocolVersion,
  type HostPolicy,
  jsonRpcMessageOf,
  parseJsonRpcBody,
  requireAccept,
  requireJsonContentType,
} from "./guards.ts";
import { type SessionRecord, SharedSessions } from "./shared_sessions.ts";
import {
  newSessionId,
  type SessionEntry,
  type SessionLimit,
  SessionTable,
  trackStream,
} from "./sessions.ts";
import { cancelledRequestId, type DirectCall, directCallOf, runDirectCall } from "./direct_call.ts";
import { LegacySseTransport } from "./legacy_sse.ts";

/** The paths this handler answers. */
export const MCP_HTTP_PATHS: readonly string[] = ["/mcp", "/sse", "/messages"];

/**
 * Which protocol era a server instance will serve: `modern` (2026-07-28, one instance per
 * request) or `legacy` (2025 era, one instance per session or stdio connection).
 */
export type McpEra = "legacy" | "modern";

/** What {@linkcode createMcpHttpHandler} needs. */
export interface McpHttpOptions {
  /**
   * Creates a fresh McpServer: per 2026-07-28 request, per 2025-era session, per legacy SSE
   * connection. Build schemas once at module level: this runs on every modern request.
   */
  createServer: (era: McpEra) => McpServer;
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
  /**
   * Answer each 2025-era POST as one `application/json` response (the SDK transport's
   * `enableJsonResponse`) instead of an SSE stream. Only for servers whose handlers never send a
   * message before their result: anything they did send would be lost. Such answers are not
   * resumable with `Last-Event-ID`.
   */
  jsonResponses?: boolean;
  /**
   * Answer a 2025-era session's `tools/call` of a quiet tool without a progress token as one
   * JSON response (`./direct_call.ts`), every other message through the SDK transport: for
   * servers with tools that stream progress, where `jsonResponses` would lose it.
   */
  directCalls?: boolean;
  /**
   * Redis shared with the other replicas (`MCPCOMM_REDIS`): 2025-era sessions (record, events)
   * and, unless `rateLimiter` is given, the rate limit. `MCP_MAX_SESSIONS` stays per replica.
   * `close()` closes it.
   */
  shared?: SharedRedis | undefined;
}

/** MCP over HTTP as a request handler. */
export interface McpHttpHandler {
  /**
   * Answers the MCP routes /mcp, /sse, /messages, and, with a token set, the OAuth discovery and
   * registration paths with a 404 saying to send the bearer token; undefined for any other path.
   */
  handle(request: Request, info?: Deno.ServeHandlerInfo): Promise<Response | undefined>;
  /** 2025-era sessions alive now (Streamable HTTP and legacy SSE). */
  readonly sessionCount: number;
  /** Publishes list changes to open 2026-07-28 `subscriptions/listen` streams. */
  readonly notify: ServerNotifier;
  /** Closes every session and stream; later requests are answered 503. */
  close(): Promise<void>;
}

type Live =
  | {
    kind: "streamable";
    server: McpServer;
    transport: WebStandardStreamableHTTPServerTransport;
    /** Calls being answered directly, by request ID (for `notifications/cancelled`). */
    calls: Map<string | number, AbortController>;
    /** What Redis keeps of the session (with `shared`). */
    record?: SessionRecord;
  }
  | { kind: "sse"; server: McpServer; transport: LegacySseTransport };

/** Aborts the calls of `live` being answered directly: its session ended. */
function endCalls(live: Live): void {
  if (live.kind !== "streamable") return;
  for (const call of live.calls.values()) call.abort(new Error("the MCP session ended"));
}

/** How long a client waits before reconnecting a cut stream (sent as the SSE `retry` field). */
const RETRY_INTERVAL_MS = 1000;

const SHUTTING_DOWN = new HttpError(503, "unavailable", "The server is shutting down");

function unknownSession(): HttpError {
  return new HttpError(
    404,
    "not_found",
    "Unknown or ended MCP session; start a new one with an initialize request",
  );
}

function idleMs(config: Config): number {
  return config.MCP_SESSION_IDLE_MINUTES * 60_000;
}

/**
 * Creates the MCP HTTP handler for both eras. Pass its `handle` as a server's fallback route and
 * call `close()` on shutdown.
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
  const shared = options.shared ? new SharedSessions(options.shared, idleMs(config)) : undefined;
  const limiter = options.rateLimiter ??
    (options.shared
      ? createSharedRateLimiter(config.RATE_LIMIT_PER_MINUTE, options.shared)
      : createRateLimiter(config.RATE_LIMIT_PER_MINUTE));
  const maxBody = config.MAX_BODY_BYTES;
  let closed = false;
  const modern = createMcpHandler(({ era }) => options.createServer(era), {
    legacy: "reject",
    responseMode: "auto",
    maxRequestBodySize: maxBody,
    maxSubscriptions: config.MCP_MAX_SESSIONS,
    onerror: (error) => log.debug("MCP request refused", { error: describeError(error) }),
  });
  const sessions = new SessionTable<Live>({
    idleMs: idleMs(config),
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

  /**
   * A connected Streamable HTTP session `id` (not yet initialized); `added()` is its table entry
   * once its initialize has been answered.
   */
  const openStreamable = async (id: string, eventStore: EventStore, record?: SessionRecord) => {
    let entry: SessionEntry<Live> | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      eventStore,
      retryInterval: RETRY_INTERVAL_MS,
      maxRequestBodySize: maxBody,
      enableJsonResponse: options.jsonResponses ?? false,
      onsessioninitialized: () => {
        entry = sessions.add(id, live);
      },
    });
    const live: Live = {
      kind: "streamable",
      server: options.createServer("legacy"),
      transport,
      calls: new Map(),
      ...(record ? { record } : {}),
    };
    await connect(live, id);
    return { live, transport, added: () => entry };
  };

  /** The POST body as text within MAX_BODY_BYTES (the SDK's reader, mcpcomm's 413 body). */
  const readText = async (request: Request): Promise<string> => {
    const body = await readRequestBody(request, maxBody);
    if (body.tooLarge) {
      throw new HttpError(413, "payload_too_large", `Request body is larger than ${maxBody} bytes`);
    }
    return body.text;
  };

  const startSession = async (
    request: Request,
    body: Record<string, unknown>,
  ): Promise<Response> => {
    if (body.method !== "initialize") {
      throw new HttpError(
        400,
        "invalid_request",
        "Mcp-Session-Id header is required; only an initialize request starts a session " +
          "(2026-07-28 clients send the _meta envelope on every request instead)",
      );
    }
    const release = sessions.reserve();
    try {
      const id = newSessionId();
      const record: SessionRecord = { initialize: body, created: Date.now() };
      await shared?.save(id, record);
      const { live, transport, added } = await openStreamable(
        id,
        shared?.eventStore(id) ?? new BoundedEventStore(),
        shared ? record : undefined,
      );
      const response = await transport.handleRequest(request, { parsedBody: body });
      const entry = added();
      if (!entry) {
        await live.server.close();
        await shared?.remove(id).catch(() => {});
        return response;
      }
      log.debug("MCP session started", { session: id.slice(0, 8), transport: "streamable" });
      return trackStream(response, sessions.openStream(entry));
    } finally {
      release();
    }
  };

  /** A 2025-era request: a session's POST, GET (its stream) or DELETE, or an initialize. */
  const legacy = async (request: Request, body?: Record<string, unknown>): Promise<Response> => {
    checkProtocolVersion(request);
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) {
      if (!body) throw new HttpError(400, "invalid_request", "Mcp-Session-Id header is required");
      return await startSession(request, body);
    }
    if (shared && request.method === "DELETE") return await endShared(request, sessionId);
    const entry = shared ? await sharedEntry(request, sessionId) : sessions.get(sessionId);
    if (!entry || entry.value.kind !== "streamable") throw unknownSession();
    const live = entry.value;
    const done = sessions.openStream(entry);
    try {
      if (body && options.directCalls) {
        const direct = directCallOf(live.server, body);
        if (direct) return await answerDirectly(live, direct, request, sessionId, done);
        const cancelled = cancelledRequestId(body);
        if (cancelled !== undefined) {
          live.calls.get(cancelled)?.abort(new Error("cancelled by the client"));
        }
      }
      const response = await live.transport.handleRequest(
        request,
        body ? { parsedBody: body } : undefined,
      );
      return trackStream(response, done);
    } catch (error) {
      done();
      throw error;
    }
  };

  /**
   * The local entry of a shared session, checked against Redis (a `DELETE` elsewhere ends it
   * here), or the session rebuilt from its Redis record when this replica does not hold it.
   */
  const sharedEntry = async (
    request: Request,
    id: string,
  ): Promise<SessionEntry<Live> | undefined> => {
    const store = shared!;
    const local = sessions.get(id);
    if (!local) return await adopt(request, id);
    const record = local.value.kind === "streamable" ? local.value.record : undefined;
    if (!record) return local;
    let goesOn = true;
    try {
      goesOn = await store.touch(id, record);
    } catch {
      // Redis is down: the session this replica holds goes on (the outage is logged once).
    }
    if (goesOn) return local;
    await local.value.server.close();
    return undefined;
  };

  /**
   * A `DELETE` of a shared session: the record goes first (no replica adopts it afterwards, and
   * the ones holding it end it at their next request), then this replica's copy if it has one.
   */
  const endShared = async (request: Request, id: string): Promise<Response> => {
    const existed = await shared!.remove(id);
    const local = sessions.get(id);
    if (local?.value.kind === "streamable") {
      return await local.value.transport.handleRequest(request);
    }
    if (!existed) throw unknownSession();
    return new Response(null, { status: 200 });
  };

  const adopting = new Map<string, Promise<SessionEntry<Live> | undefined>>();
  const adopt = (request: Request, id: string): Promise<SessionEntry<Live> | undefined> => {
    let pending = adopting.get(id);
    if (!pending) {
      pending = rebuild(request, id).finally(() => adopting.delete(id));
      adopting.set(id, pending);
    }
    return pending;
  };

  /**
   * Builds a session this replica does not hold from its Redis record, through PUBLIC SDK API
   * only: SDK 2.4.0 has no option to create a transport that is already initialized with a given
   * session ID (`_initialized` is private), so the client's stored `initialize` request and its
   * `notifications/initialized` are replayed into a fresh transport + McpServer with
   * `handleRequest` (the generator returns the stored ID). That gives the server the client's
   * protocol version, capabilities and info exactly as on the first replica; the answers to the
   * replay are discarded and not stored as events (`muted`).
   */
  const rebuild = async (request: Request, id: string): Promise<SessionEntry<Live> | undefined> => {
    const store = shared!;
    const record = await store.load(id);
    if (!record) return undefined;
    const release = sessions.reserve();
    try {
      const events = store.eventStore(id);
      events.muted = true;
      const { live, transport, added } = await openStreamable(id, events, record);
      const replay = (headers: Record<string, string>, parsedBody: unknown) =>
        transport.handleRequest(
          new Request(request.url, {
            method: "POST",
            headers: {
              accept: "application/json, text/event-stream",
              "content-type": "application/json",
              ...headers,
            },
          }),
          { parsedBody },
        );
      await (await replay({}, record.initialize)).text();
      const entry = added();
      if (!entry) {
        await live.server.close();
        return undefined;
      }
      await (await replay({ "mcp-session-id": id }, {
        jsonrpc: "2.0",
        method: "notifications/initialized",
      })).text();
      events.muted = false;
      log.debug("MCP session adopted", { session: id.slice(0, 8) });
      return entry;
    } finally {
      release();
    }
  };

  const answerDirectly = async (
    live: Extract<Live, { kind: "streamable" }>,
    direct: NonNullable<ReturnType<typeof directCallOf>>,
    request: Request,
    sessionId: string,
    done: () => void,
  ): Promise<Response> => {
    const id: DirectCall["id"] = direct.call.id;
    const controller = new AbortController();
    const gone = () => controller.abort(new Error("client disconnected"));
    request.signal.addEventListener("abort", gone, { once: true });
    live.calls.set(id, controller);
    try {
      const answer = await runDirectCall(live.server, direct, {
        signal: controller.signal,
        sessionId,
        request,
      });
      return new Response(JSON.stringify(answer), {
        headers: { "content-type": "application/json", "mcp-session-id": sessionId },
      });
    } finally {
      request.signal.removeEventListener("abort", gone);
      if (live.calls.get(id) === controller) live.calls.delete(id);
      done();
    }
  };

  const streamable = async (request: Request): Promise<Response> => {
    const method = request.method;
    if (method === "GET") {
      requireAccept(request, ["text/event-stream"]);
      return await legacy(request);
    }
    if (method === "DELETE") return await legacy(request);
    if (method !== "POST") throw methodNotAllowed(["GET", "POST", "DELETE"]);
    requireAccept(request, ["application/json", "text/event-stream"]);
    requireJsonContentType(request);
    const text = await readText(request);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return await legacy(request, parseJsonRpcBody(text));
    }
    if (!(await isLegacyRequest(request, parsed, { maxRequestBodySize: maxBody }))) {
      return await modern.fetch(request, { parsedBody: parsed });
    }
    return await legacy(request, jsonRpcMessageOf(parsed));
  };

  const openLegacySse = async (request: Request): Promise<Response> => {
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
        server: options.createServer("legacy"),
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

  const postLegacySse = async (request: Request): Promise<Response> => {
    if (request.method !== "POST") throw methodNotAllowed(["POST"]);
    requireJsonContentType(request);
    checkProtocolVersion(request);
    const id = new URL(request.url).searchParams.get("sessionId");
    if (!id) {
      throw new HttpError(400, "invalid_request", "The sessionId query parameter is required");
    }
    const entry = sessions.get(id);
    if (!entry || entry.value.kind !== "sse") throw unknownSession();
    const body = parseJsonRpcBody(await readText(request));
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
        if (closed) throw SHUTTING_DOWN;
        if (path === "/mcp") return await streamable(request);
        if (path === "/sse") return await openLegacySse(request);
        return await postLegacySse(request);
      } catch (error) {
        return errorResponse(error, log);
      }
    },
    get sessionCount() {
      return sessions.size;
    },
    notify: modern.notify,
    async close() {
      closed = true;
      await Promise.all([modern.close(), sessions.closeAll()]);
      await options.shared?.close();
    },
  };
}
