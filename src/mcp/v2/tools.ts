/**
 * Tool registration and results on the MCP SDK v2 (`@modelcontextprotocol/server`). A tool
 * failure is a result with `isError: true`, never a protocol error. Roles still on SDK v1 use
 * `../tools.ts`.
 * @module
 */
import type {
  CallToolResult,
  McpServer,
  RegisteredTool,
  ServerContext,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import { z } from "zod";
import { describeError } from "../../errors.ts";

/** What a tool handler receives besides its arguments: `ctx.mcpReq.signal`, notifications, ... */
export type ToolContext = ServerContext;

/**
 * A tool's description and input schema (a zod object shape). Keep shapes at module level: the
 * object schema made from a shape is built once and shared by every server instance, and on
 * 2026-07-28 there is one instance per request.
 */
export interface ToolSpec<S extends z.ZodRawShape> {
  title?: string;
  description: string;
  inputSchema?: S;
  annotations?: ToolAnnotations;
}

const NO_ARGUMENTS: z.ZodRawShape = {};
const objectsByShape = new WeakMap<z.ZodRawShape, z.ZodObject>();

/** `z.object(shape)`, built once per shape. */
function objectOf(shape: z.ZodRawShape): z.ZodObject {
  let object = objectsByShape.get(shape);
  if (!object) objectsByShape.set(shape, object = z.object(shape));
  return object;
}

let validator: AjvJsonSchemaValidator | undefined;

/**
 * One JSON Schema validator for every `McpServer` of the process: the SDK otherwise builds an
 * Ajv instance per server, and a 2026-07-28 endpoint builds a server per request.
 * @example
 * ```ts
 * new McpServer(info, { capabilities: {}, jsonSchemaValidator: sharedJsonSchemaValidator() });
 * ```
 */
export function sharedJsonSchemaValidator(): AjvJsonSchemaValidator {
  return validator ??= new AjvJsonSchemaValidator();
}

/**
 * Registers a tool whose arguments are typed from its zod shape.
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
    ctx: ToolContext,
  ) => CallToolResult | Promise<CallToolResult>,
): RegisteredTool {
  return mcp.registerTool(
    name,
    { ...spec, inputSchema: objectOf(spec.inputSchema ?? NO_ARGUMENTS) },
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
