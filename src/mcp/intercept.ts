/**
 * Wrapping a request handler an `McpServer` installed (tools/list, tools/call): the SDK offers
 * no public hook for adding to or answering before its own handlers, so the installed handler
 * is read from the server's handler table. Pinned SDK version; tests cover the behaviour.
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";

/** A request handler as the SDK's protocol layer stores it. */
export type RawHandler = (
  request: { method: string; params?: unknown },
  extra: unknown,
) => Promise<unknown>;

/** Returns the handler the server has for `method`, or `undefined`. */
export function installedHandler(mcp: McpServer, method: string): RawHandler | undefined {
  const table = (mcp.server as unknown as { _requestHandlers?: Map<string, RawHandler> })
    ._requestHandlers;
  if (!(table instanceof Map)) {
    throw new Error("This MCP SDK version keeps no request handler table");
  }
  return table.get(method);
}

/**
 * Replaces the handler of `method` with `wrap(request, extra, next)`, where `next` runs the one
 * installed before (or answers "method not found" when there was none). The request is
 * validated by the SDK schema given.
 * @example
 * ```ts
 * intercept(mcp, CallToolRequestSchema, (request, extra, next) =>
 *   request.params.name === "off" ? Promise.resolve(errorResult("off")) : next(request, extra));
 * ```
 */
export function intercept<Req extends { method: string }, Res>(
  mcp: McpServer,
  schema: { shape: { method: { value: string } } } | unknown,
  wrap: (
    request: Req,
    extra: Parameters<RawHandler>[1],
    next: (request: Req, extra: Parameters<RawHandler>[1]) => Promise<Res>,
  ) => Promise<Res>,
): void {
  const method = (schema as { shape: { method: { value: string } } }).shape.method.value;
  const original = installedHandler(mcp, method);
  const next = (request: Req, extra: unknown): Promise<Res> => {
    if (!original) {
      return Promise.reject(new McpError(ErrorCode.MethodNotFound, `Method not found: ${method}`));
    }
    return original(request, extra) as Promise<Res>;
  };
  mcp.server.setRequestHandler(
    schema as never,
    ((request: Req, extra: unknown) => wrap(request, extra, next)) as never,
  );
}
