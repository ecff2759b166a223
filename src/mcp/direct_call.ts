/**
 * Direct answers to `tools/call` over Streamable HTTP. A call of a quiet tool (`quiet` in
 * `defineTool`'s spec) without a progress token can say nothing but its result, so it
 * runs the server's installed `tools/call` handler (the SDK's own, with its argument validation,
 * and any interceptor) and is answered as one `application/json` response, instead of through
 * the SDK transport's per-request SSE stream, event store and second JSON-RPC parse. Everything
 * else goes through the SDK transport.
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { installedHandler } from "./intercept.ts";
import { isQuietTool, type ToolExtra } from "./tools.ts";

/** A JSON-RPC request id. */
export type RequestId = string | number;

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
  | { jsonrpc: "2.0"; id: RequestId; error: { code: number; message: string; data?: unknown } };

/** What the call runs with besides the request. */
export interface DirectCallContext {
  /** Aborted when the call is cancelled or its HTTP request goes away. */
  signal: AbortSignal;
  sessionId: string;
  /** The HTTP request, for handlers that read `extra.requestInfo`. */
  request: Request;
}

const RELATED_TASK = "io.modelcontextprotocol/related-task";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Returns `message` when it is a `tools/call` request `mcp` may answer directly: a quiet tool,
 * no progress token, not task-augmented. Anything else (including malformed calls, which the
 * SDK answers with its own errors) returns `undefined`.
 * @example
 * ```ts
 * const call = directCallOf(mcp, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_ai_stats" } });
 * ```
 */
export function directCallOf(mcp: McpServer, message: unknown): DirectCall | undefined {
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
  return isQuietTool(mcp, params.name) ? message as unknown as DirectCall : undefined;
}

/** The SDK's JSON-RPC error for a failed handler. */
function errorAnswer(id: RequestId, error: unknown): DirectAnswer {
  const e = error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
  return {
    jsonrpc: "2.0",
    id,
    error: {
      code: Number.isSafeInteger(e?.code) ? e!.code as number : ErrorCode.InternalError,
      message: typeof e?.message === "string" ? e.message : "Internal error",
      ...(e?.data !== undefined ? { data: e.data } : {}),
    },
  };
}

/**
 * Runs `call` through the `tools/call` handler installed on `mcp`, with the `extra` the SDK
 * would pass (signal, session, request ID, `_meta`, request info). Notifications a handler
 * sends anyway go to the session's standalone stream; requests are refused. A call whose
 * signal aborts answers "Request was cancelled".
 * @example
 * ```ts
 * const answer = await runDirectCall(mcp, call, { signal, sessionId, request });
 * ```
 */
export async function runDirectCall(
  mcp: McpServer,
  call: DirectCall,
  context: DirectCallContext,
): Promise<DirectAnswer> {
  const handler = installedHandler(mcp, "tools/call");
  if (!handler) {
    return errorAnswer(call.id, new McpError(ErrorCode.MethodNotFound, "Method not found"));
  }
  const { signal, request } = context;
  let requestInfo: ToolExtra["requestInfo"];
  const extra = {
    signal,
    sessionId: context.sessionId,
    requestId: call.id,
    _meta: call.params._meta,
    sendNotification: async (notification: Parameters<ToolExtra["sendNotification"]>[0]) => {
      if (!signal.aborted) await mcp.server.notification(notification);
    },
    sendRequest: () =>
      Promise.reject(
        new McpError(ErrorCode.InternalError, "A quiet tool cannot send requests to the client"),
      ),
    get requestInfo() {
      return requestInfo ??= {
        headers: Object.fromEntries(request.headers),
        url: new URL(request.url),
      };
    },
  } satisfies Partial<ToolExtra>;
  try {
    const result = await handler(call, extra);
    if (signal.aborted) throw new McpError(ErrorCode.ConnectionClosed, "Request was cancelled");
    return { jsonrpc: "2.0", id: call.id, result };
  } catch (error) {
    if (signal.aborted) {
      return errorAnswer(
        call.id,
        new McpError(ErrorCode.ConnectionClosed, "Request was cancelled"),
      );
    }
    return errorAnswer(call.id, error);
  }
}

/** The `requestId` of a `notifications/cancelled` message, else `undefined`. */
export function cancelledRequestId(message: unknown): RequestId | undefined {
  if (!isRecord(message) || message.method !== "notifications/cancelled") return undefined;
  const id = isRecord(message.params) ? message.params.requestId : undefined;
  return typeof id === "string" || typeof id === "number" ? id : undefined;
}
