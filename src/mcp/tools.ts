/**
 * Tool registration and results. A tool failure is a result with `isError: true`, never a
 * protocol error.
 * @module
 */
import type { McpServer, RegisteredTool } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { describeError } from "../errors.ts";

/** What a tool handler receives besides its arguments: signal, progress token, notifications. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A tool's description and input schema (a zod object shape). */
export interface ToolSpec<S extends z.ZodRawShape> {
  title?: string;
  description: string;
  inputSchema?: S;
}

/**
 * Registers a tool whose arguments are typed from its zod shape. (The SDK's own inference of
 * handler arguments does not survive this TypeScript version, so the shape is inferred here.)
 * @example
 * ```ts
 * defineTool(mcp, "echo", { description: "Echo", inputSchema: { text: z.string() } },
 *   ({ text }) => jsonResult({ text }));
 * ```
 */
export function defineTool<S extends z.ZodRawShape>(
  mcp: McpServer,
  name: string,
  spec: ToolSpec<S>,
  handler: (
    args: z.output<z.ZodObject<S>>,
    extra: ToolExtra,
  ) => CallToolResult | Promise<CallToolResult>,
): RegisteredTool {
  return mcp.registerTool(
    name,
    { ...spec, inputSchema: spec.inputSchema ?? {} } as never,
    handler as never,
  );
}

/** A successful result carrying `data` as JSON text (or `text`) and as structured content. */
export function jsonResult(data: Record<string, unknown>, text?: string): CallToolResult {
  return {
    content: [{ type: "text", text: text ?? JSON.stringify(data, null, 2) }],
    structuredContent: data,
  };
}

/** A failed tool call: `isError: true` with a message saying what happened. */
export function errorResult(error: unknown): CallToolResult {
  return { content: [{ type: "text", text: describeError(error) }], isError: true };
}
