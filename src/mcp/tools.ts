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
import { objectFromShape } from "@modelcontextprotocol/sdk/server/zod-compat.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { z } from "zod";
import { describeError } from "../errors.ts";

/** What a tool handler receives besides its arguments: signal, progress token, notifications. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * A tool's description and input schema (a zod object shape). Keep shapes at module level: the
 * object schema made from a shape is built once and shared by every session's server.
 */
export interface ToolSpec<S extends z.ZodRawShape> {
  title?: string;
  description: string;
  inputSchema?: S;
  /**
   * The tool sends no notifications and no requests unless its call carries a progress token,
   * so an HTTP call without one may be answered as one JSON response (see `direct_call.ts`).
   */
  quiet?: boolean;
}

const quietTools = new WeakMap<McpServer, Set<string>>();

const NO_ARGUMENTS: z.ZodRawShape = {};
const objectsByShape = new WeakMap<z.ZodRawShape, unknown>();

/** The SDK's object schema for `shape` (its own `objectFromShape`), built once per shape. */
function objectOf(shape: z.ZodRawShape): unknown {
  let object = objectsByShape.get(shape);
  if (!object) objectsByShape.set(shape, object = objectFromShape(shape as never));
  return object;
}

let validator: AjvJsonSchemaValidator | undefined;

/**
 * One JSON Schema validator for every `McpServer` of the process. The SDK otherwise builds an
 * Ajv instance (about 17 KiB) per server, that is per MCP session, to check elicitation answers.
 * @example
 * ```ts
 * new McpServer(info, { capabilities: {}, jsonSchemaValidator: sharedJsonSchemaValidator() });
 * ```
 */
export function sharedJsonSchemaValidator(): AjvJsonSchemaValidator {
  return validator ??= new AjvJsonSchemaValidator();
}

/** Whether `name` was registered on `mcp` as a {@linkcode ToolSpec.quiet} tool. */
export function isQuietTool(mcp: McpServer, name: string): boolean {
  return quietTools.get(mcp)?.has(name) ?? false;
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
  const { quiet, ...config } = spec;
  const registered = mcp.registerTool(
    name,
    { ...config, inputSchema: objectOf(config.inputSchema ?? NO_ARGUMENTS) } as never,
    handler as never,
  );
  if (quiet) {
    let names = quietTools.get(mcp);
    if (!names) quietTools.set(mcp, names = new Set());
    names.add(name);
  }
  return registered;
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
