/**
 * Direct answers to 2025-era `tools/call` POSTs on the SDK v2. A call of a quiet tool
 * (`quiet` in `defineTool`'s spec) without a progress token can say nothing but its result, so
 * it is answered as one `application/json` response instead of through the SDK transport's
 * per-request SSE stream and event store. The transport's own `enableJsonResponse` is per session
 * and all-or-nothing: it would drop the progress notifications of calls that do carry a token
 * (Server A's `send_message_to_ai` streams the answer that way). This re-implements the SDK's
 * `tools/call` dispatch for those calls on public API only (`RegisteredTool`'s handler and
 * Standard Schema `validate`, through `callDefinedTool`); everything else goes through the SDK.
 * @module
 */
import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type RequestId,
} from "@modelcontextprotocol/server";
import { watchClient } from "../http/mod.ts";
import { callDefinedTool, type DefinedTool, definedTools, type ToolContext } from "./tools.ts";

/** A `tools/call` request that may be answered directly. */
export interface DirectCall {
  jsonrpc: "2.0";
  id: RequestId;
  method: "tools/call";
  params: { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> };
}

/** A JSON-RPC answer: a result or an error. */
export type DirectAnswer =
  | { jsonrpc: "2.0"; id: RequestId; result: unknown }
  | { jsonrpc: "2.0"; id: RequestId; error: { code: number; message: string } };

/** What the call runs with besides the request. */
export interface DirectCallContext {
  /** Aborted when the call is cancelled or its HTTP request goes away. */
  signal: AbortSignal;
  /**
   * The 2025-era session, whose standalone stream carries any notification the tool sends
   * anyway; none for a 2026-07-28 call, whose stray notifications are dropped.
   */
  sessionId: string | undefined;
  /**
   * Whether notifications the tool sends anyway reach the client; default when `sessionId` is
   * set. A stdio connection carries them without a session.
   */
  notifies?: boolean;
  /** The HTTP request of the call; none over stdio. */
  request?: Request;
}

/** JSON-RPC code of a call cut by cancellation or a closed connection (the SDK's v1 value). */
const CONNECTION_CLOSED = -32000;

const RELATED_TASK = "io.modelcontextprotocol/related-task";

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The quiet tool `message` calls, when `message` is a `tools/call` request that `mcp` may answer
 * directly: a quiet, enabled tool, no progress token, not task-augmented. Anything else
 * (including malformed calls, which the SDK answers with its own errors) returns `undefined`.
 * @example
 * ```ts
 * const direct = directCallOf(mcp, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_ai_usage_stats" } });
 * ```
 */
export function directCallOf(
  mcp: McpServer,
  message: unknown,
): { call: DirectCall; tool: DefinedTool } | undefined {
  if (!isRecord(message) || message.method !== "tools/call" || message.jsonrpc !== "2.0") {
    return undefined;
  }
  const id = message.id;
  if (typeof id !== "string" && !(typeof id === "number" && Number.isInteger(id))) {
    return undefined;
  }
  const params = message.params;
  if (!isRecord(params) || typeof params.name !== "string" || params.task !== undefined) {
    return undefined;
  }
  if (params.arguments !== undefined && !isRecord(params.arguments)) return undefined;
  const meta = params._meta;
  if (meta !== undefined) {
    if (!isRecord(meta) || meta.progressToken !== undefined || meta[RELATED_TASK] !== undefined) {
      return undefined;
    }
  }
  const tool = definedTools(mcp).get(params.name);
  if (!tool?.quiet || !tool.tool.enabled) return undefined;
  return { call: message as unknown as DirectCall, tool };
}

function refuse(what: string): Promise<never> {
  return Promise.reject(
    new ProtocolError(ProtocolErrorCode.InternalError, `A quiet tool cannot ${what}`),
  );
}

/**
 * Runs `call` with a context like the SDK's (signal, session, request ID, `_meta`, the HTTP
 * request). Notifications a handler sends anyway go to the session's standalone stream (dropped
 * without a session); requests to the client are refused. A call whose signal aborts answers "Request was cancelled".
 * @example
 * ```ts
 * const answer = await runDirectCall(mcp, direct, { signal, sessionId, request });
 * ```
 */
export async function runDirectCall(
  mcp: McpServer,
  direct: { call: DirectCall; tool: DefinedTool },
  context: DirectCallContext,
): Promise<DirectAnswer> {
  const { call, tool } = direct;
  const { signal } = context;
  const notifies = context.notifies ?? context.sessionId !== undefined;
  const notify = async (notification: Parameters<ToolContext["mcpReq"]["notify"]>[0]) => {
    if (!signal.aborted && notifies) {
      await mcp.server.notification(notification);
    }
  };
  const ctx = {
    sessionId: context.sessionId,
    mcpReq: {
      id: call.id,
      method: "tools/call",
      _meta: call.params._meta,
      signal,
      requestState: () => undefined,
      send: () => refuse("send requests to the client"),
      notify,
      log: (level: string, data: unknown, logger?: string) =>
        notify({ method: "notifications/message", params: { level, data, logger } }),
      elicitInput: () => refuse("ask the user"),
      requestSampling: () => refuse("request sampling"),
    },
    ...(context.request ? { http: { req: context.request } } : {}),
  } as unknown as ToolContext;
  const result = await callDefinedTool(call.params.name, tool.tool, call.params.arguments, ctx);
  if (signal.aborted) {
    return {
      jsonrpc: "2.0",
      id: call.id,
      error: { code: CONNECTION_CLOSED, message: "Request was cancelled" },
    };
  }
  return { jsonrpc: "2.0", id: call.id, result };
}

/**
 * The controller of one direct call, aborted ("client disconnected") when the HTTP client goes
 * away: watched with `watchClient`, which spares a short request Deno's `request.signal`.
 */
export function callController(request: Request): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const client = watchClient(request);
  client.signal.addEventListener(
    "abort",
    () => controller.abort(new Error("client disconnected")),
    { once: true },
  );
  return { controller, release: client.done };
}

/**
 * Answers `direct` as one `application/json` response of session `sessionId`, registered in
 * `calls` (by request ID) while it runs so that `notifications/cancelled` and the end of the
 * session abort it, as does the end of the HTTP request.
 */
export async function answerDirectly(
  mcp: McpServer,
  calls: Map<RequestId, AbortController>,
  direct: { call: DirectCall; tool: DefinedTool },
  request: Request,
  sessionId: string,
): Promise<Response> {
  const id = direct.call.id;
  const { controller, release } = callController(request);
  calls.set(id, controller);
  try {
    const answer = await runDirectCall(mcp, direct, {
      signal: controller.signal,
      sessionId,
      request,
    });
    return new Response(JSON.stringify(answer), {
      headers: { "content-type": "application/json", "mcp-session-id": sessionId },
    });
  } finally {
    release();
    if (calls.get(id) === controller) calls.delete(id);
  }
}

/** The `requestId` of a `notifications/cancelled` message, else `undefined`. */
export function cancelledRequestId(message: unknown): RequestId | undefined {
  if (!isRecord(message) || message.method !== "notifications/cancelled") return undefined;
  const id = isRecord(message.params) ? message.params.requestId : undefined;
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}
