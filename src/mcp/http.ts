/**
 * MCP over HTTP on the SDK v2 (`@modelcontextprotocol/server`), both protocol eras on one `/mcp`:
 * the door that runs mcpcomm's guards and routes each request to its era.
 * - 2026-07-28: per request, no session (`./_modern.ts`): a POST carrying the `_meta` envelope
 *   claim goes to the SDK's `createMcpHandler`, which answers `server/discover`, checks the
 *   `Mcp-Method`/`Mcp-Name` headers against the body, fills the caching hints, answers JSON
 *   unless the handler streams, and serves `subscriptions/listen` (capped at MCP_MAX_SESSIONS).
 *   With `directCalls`, a quiet tool's call is answered before it (`./_direct_modern.ts`).
 * - 2025 era (2025-11-25, 2025-06-18, 2025-03-26): sessions with `Last-Event-ID` resumability
 *   on the SDK's `WebStandardStreamableHTTPServerTransport`, and the older HTTP+SSE transport at
 *   `/sse` + `/messages` (`./_legacy_sessions.ts`; shared between replicas through Redis with
 *   `shared`, `./_shared_adoption.ts`). The era is decided by the SDK's own `isLegacyRequest`
 *   (plain 2025-era messages recognised before it, `./_era.ts`).
 *
 * Every route runs mcpcomm's guards first, in this order: rate limit, Host/Origin, bearer token,
 * Accept/Content-Type, body limit; then, for the 2025 era, protocol version, batches, the session
 * cap and idle expiry. What stays hand-written, and why:
 * - Host/Origin (`./guards.ts`): the SDK's `validateHostHeader`/`validateOriginHeader` take a
 *   fixed allowlist; mcpcomm's rule depends on the bind address (loopback binds accept only
 *   loopback names, other binds accept IP literals) and accepts same-origin requests.
 * - Bearer (`../http/auth.ts` `authenticatorFor`): the static shared token and/or OAuth access
 *   tokens (`../oauth/resource.ts` says why not the SDK's `verifyBearerToken`); with OAuth on,
 *   the RFC 9728 metadata document is served for paths outside MCP.
 * - Sessions (`./sessions.ts`, `./event_store.ts`): the SDK's sessionful wiring is left to the
 *   caller; the cap shared with `/ws`, idle expiry and the bounded event store are mcpcomm's.
 *   With `shared` (`MCPCOMM_REDIS`), 2025-era sessions, their events and the rate limit live in
 *   Redis (`./shared_sessions.ts`) so any replica serves any session.
 * - Errors are mcpcomm's JSON bodies (`{ error: { code, message } }`) up to the point where a
 *   request reaches the SDK; the SDK's JSON-RPC error answers after that.
 * @module
 */
import type { McpServer, ServerNotifier } from "@modelcontextprotocol/server";
import {
  authenticatorFor,
  type AuthenticatorOptions,
  clientAddress,
  createRateLimiter,
  createSharedRateLimiter,
  errorResponse,
  methodNotAllowed,
  type RateLimiter,
} from "../http/mod.ts";
import { HttpError, type Logger } from "../core/mod.ts";
import type { SharedRedis } from "../shared/mod.ts";
import {
  checkHostAndOrigin,
  type HostPolicy,
  jsonRpcMessageOf,
  parseJsonRpcBody,
  readBodyText,
  requireAccept,
  requireJsonContentType,
} from "./guards.ts";
import type { SessionLimit } from "./sessions.ts";
import { createLegacySessions } from "./_legacy_sessions.ts";
import { createModernHandler } from "./_modern.ts";
import { createModernDirect } from "./_direct_modern.ts";
import { isLegacyPost } from "./_era.ts";

/** The paths this handler answers. */
export const MCP_HTTP_PATHS: readonly string[] = ["/mcp", "/sse", "/messages"];

/**
 * Which protocol era a server instance will serve: `modern` (2026-07-28, one instance per
 * request) or `legacy` (2025 era, one instance per session or stdio connection).
 */
export type McpEra = "legacy" | "modern";

/** The settings {@linkcode createMcpHttpHandler} reads, named as in `Config`. */
export interface McpSettings extends AuthenticatorOptions {
  MCP_ALLOWED_HOSTS?: readonly string[] | undefined;
  MCP_ALLOWED_ORIGINS?: readonly string[] | undefined;
  MCP_SESSION_IDLE_MINUTES: number;
  MCP_MAX_SESSIONS: number;
  MAX_BODY_BYTES: number;
  RATE_LIMIT_PER_MINUTE: number;
}

/** What {@linkcode createMcpHttpHandler} needs. */
export interface McpHttpOptions {
  /**
   * Creates a fresh McpServer: per 2026-07-28 request, per 2025-era session, per legacy SSE
   * connection. Build schemas once at module level: this runs on every modern request.
   */
  createServer: (era: McpEra) => McpServer;
  /** The settings of the MCP routes (named as in `Config`). */
  config: McpSettings;
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
   * JSON response (`./_direct_call.ts`), every other message through the SDK transport: for
   * servers with tools that stream progress, where `jsonResponses` would lose it. A 2026-07-28
   * call of a quiet tool is answered without the SDK's per-request server
   * (`./_direct_modern.ts`); `createServer("modern")` is then also called once for its tools.
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

const SHUTTING_DOWN = new HttpError(503, "unavailable", "The server is shutting down");

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
  const limiter = options.rateLimiter ??
    (options.shared
      ? createSharedRateLimiter(config.RATE_LIMIT_PER_MINUTE, options.shared)
      : createRateLimiter(config.RATE_LIMIT_PER_MINUTE));
  const maxBody = config.MAX_BODY_BYTES;
  let closed = false;
  const modern = createModernHandler({
    createServer: () => options.createServer("modern"),
    MAX_BODY_BYTES: maxBody,
    MCP_MAX_SESSIONS: config.MCP_MAX_SESSIONS,
    log,
  });
  const direct = options.directCalls
    ? createModernDirect({ createServer: () => options.createServer("modern"), sdk: modern, log })
    : undefined;
  const legacy = createLegacySessions({
    createServer: () => options.createServer("legacy"),
    MCP_SESSION_IDLE_MINUTES: config.MCP_SESSION_IDLE_MINUTES,
    MCP_MAX_SESSIONS: config.MCP_MAX_SESSIONS,
    MAX_BODY_BYTES: maxBody,
    log,
    sessionLimit: options.sessionLimit,
    jsonResponses: options.jsonResponses,
    directCalls: options.directCalls,
    shared: options.shared,
  });

  /** `/mcp`: the era is decided by `isLegacyPost` (the SDK's `isLegacyRequest`). */
  const streamable = async (request: Request): Promise<Response> => {
    const method = request.method;
    if (method === "GET") {
      requireAccept(request, ["text/event-stream"]);
      return await legacy.request(request);
    }
    if (method === "DELETE") return await legacy.request(request);
    if (method !== "POST") throw methodNotAllowed(["GET", "POST", "DELETE"]);
    requireAccept(request, ["application/json", "text/event-stream"]);
    requireJsonContentType(request);
    const text = await readBodyText(request, maxBody);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return await legacy.request(request, parseJsonRpcBody(text));
    }
    const answered = await direct?.answer(request, parsed);
    if (answered) return answered;
    if (!(await isLegacyPost(request, parsed, maxBody))) {
      return await modern.fetch(request, { parsedBody: parsed });
    }
    return await legacy.request(request, jsonRpcMessageOf(parsed));
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
        if (path === "/sse") return await legacy.openSse(request);
        return await legacy.postSse(request);
      } catch (error) {
        return errorResponse(error, log);
      }
    },
    get sessionCount() {
      return legacy.size;
    },
    notify: modern.notify,
    async close() {
      closed = true;
      direct?.close();
      await Promise.all([modern.close(), legacy.closeAll()]);
      await options.shared?.close();
    },
  };
}
