/**
 * The 2025-era side of the MCP HTTP routes: sessions on the SDK's
 * `WebStandardStreamableHTTPServerTransport` at `/mcp` (with `Last-Event-ID` resumability) and
 * the older HTTP+SSE transport at `/sse` + `/messages`, in mcpcomm's session table (cap shared
 * with `/ws`, idle expiry, bounded event store); the SDK's sessionful wiring is left to the
 * caller. With `shared` (`MCPCOMM_REDIS`) sessions and their events live in Redis
 * (`./_shared_adoption.ts`) so that any replica serves any session.
 * @module
 */
import {
  type EventStore,
  type McpServer,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { describeError, HttpError, type Logger } from "../core/mod.ts";
import type { SharedRedis } from "../shared/mod.ts";
import { methodNotAllowed } from "../http/mod.ts";
import { BoundedEventStore } from "./_event_store.ts";
import {
  checkProtocolVersion,
  parseJsonRpcBody,
  readBodyText,
  requireJsonContentType,
} from "./guards.ts";
import { type SessionRecord, SharedSessions } from "./_shared_sessions.ts";
import {
  newSessionId,
  type SessionEntry,
  type SessionLimit,
  SessionTable,
  trackStream,
  unknownSession,
} from "./sessions.ts";
import { answerDirectly, cancelledRequestId, directCallOf } from "./_direct_call.ts";
import { LegacySseTransport } from "./_legacy_sse.ts";
import { createSharedAdoption } from "./_shared_adoption.ts";

/** A live 2025-era session: Streamable HTTP or legacy HTTP+SSE. */
export type Live =
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

/** A connected Streamable HTTP session; `added()` is its table entry once initialized. */
export interface OpenedSession {
  live: Live;
  transport: WebStandardStreamableHTTPServerTransport;
  added: () => SessionEntry<Live> | undefined;
}

/** What {@linkcode createLegacySessions} needs. */
export interface LegacySessionsOptions {
  /** Creates the McpServer of one session. */
  createServer: () => McpServer;
  MCP_SESSION_IDLE_MINUTES: number;
  MCP_MAX_SESSIONS: number;
  MAX_BODY_BYTES: number;
  log: Logger;
  /** The MCP_MAX_SESSIONS cap shared with the server's other transports (WebSocket). */
  sessionLimit?: SessionLimit | undefined;
  /** Answer every POST as one JSON response (the transport's `enableJsonResponse`). */
  jsonResponses?: boolean | undefined;
  /** Answer quiet `tools/call`s without a progress token directly (`./direct_call.ts`). */
  directCalls?: boolean | undefined;
  /** Redis shared with the other replicas: session records and events. */
  shared?: SharedRedis | undefined;
}

/** The 2025-era routes. */
export interface LegacySessions {
  /** A `/mcp` request of the 2025 era: a session's POST, GET or DELETE, or an initialize. */
  request(request: Request, body?: Record<string, unknown>): Promise<Response>;
  /** `GET /sse`: opens a legacy HTTP+SSE session. */
  openSse(request: Request): Promise<Response>;
  /** `POST /messages?sessionId=…`: a message to a legacy HTTP+SSE session. */
  postSse(request: Request): Promise<Response>;
  /** Sessions alive now. */
  readonly size: number;
  /** Closes every session. */
  closeAll(): Promise<void>;
}

/** Aborts the calls of `live` being answered directly: its session ended. */
function endCalls(live: Live): void {
  if (live.kind !== "streamable") return;
  for (const call of live.calls.values()) call.abort(new Error("the MCP session ended"));
}

/** How long a client waits before reconnecting a cut stream (sent as the SSE `retry` field). */
const RETRY_INTERVAL_MS = 1000;

/** Creates the session table and the 2025-era routes over it. */
export function createLegacySessions(options: LegacySessionsOptions): LegacySessions {
  const { log } = options;
  const maxBody = options.MAX_BODY_BYTES;
  const idleMs = options.MCP_SESSION_IDLE_MINUTES * 60_000;
  const shared = options.shared ? new SharedSessions(options.shared, idleMs) : undefined;
  const sessions = new SessionTable<Live>({
    idleMs,
    maxSessions: options.MCP_MAX_SESSIONS,
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

  /** A connected Streamable HTTP session `id` (not yet initialized). */
  const openStreamable = async (
    id: string,
    eventStore: EventStore,
    record?: SessionRecord,
  ): Promise<OpenedSession> => {
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
      server: options.createServer(),
      transport,
      calls: new Map(),
      ...(record ? { record } : {}),
    };
    await connect(live, id);
    return { live, transport, added: () => entry };
  };

  const adoption = shared
    ? createSharedAdoption({ store: shared, sessions, openStreamable, log })
    : undefined;

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

  return {
    async request(request, body) {
      checkProtocolVersion(request);
      const sessionId = request.headers.get("mcp-session-id");
      if (sessionId === null) {
        if (!body) throw new HttpError(400, "invalid_request", "Mcp-Session-Id header is required");
        return await startSession(request, body);
      }
      if (adoption && request.method === "DELETE") return await adoption.end(request, sessionId);
      const entry = adoption ? await adoption.entry(request, sessionId) : sessions.get(sessionId);
      if (!entry || entry.value.kind !== "streamable") throw unknownSession();
      const live = entry.value;
      const done = sessions.openStream(entry);
      try {
        if (body && options.directCalls) {
          const direct = directCallOf(live.server, body);
          if (direct) {
            try {
              return await answerDirectly(live.server, live.calls, direct, request, sessionId);
            } finally {
              done();
            }
          }
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
    },
    async openSse(request) {
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
    },
    async postSse(request) {
      if (request.method !== "POST") throw methodNotAllowed(["POST"]);
      requireJsonContentType(request);
      checkProtocolVersion(request);
      const id = new URL(request.url).searchParams.get("sessionId");
      if (!id) {
        throw new HttpError(400, "invalid_request", "The sessionId query parameter is required");
      }
      const entry = sessions.get(id);
      if (!entry || entry.value.kind !== "sse") throw unknownSession();
      const body = parseJsonRpcBody(await readBodyText(request, maxBody));
      entry.value.transport.receive(body, request);
      return new Response(null, { status: 202 });
    },
    get size() {
      return sessions.size;
    },
    closeAll: () => sessions.closeAll(),
  };
}
