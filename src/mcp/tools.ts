/**
 * Tool registration and results on the MCP SDK v2 (`@modelcontextprotocol/server`). A tool
 * failure is a result with `isError: true`, never a protocol error.
 * @module
 */
import type {
  CallToolResult,
  McpServer,
  RegisteredTool,
  ServerContext,
  StandardSchemaWithJSON,
  Tool,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/server/validators/ajv";
import { z } from "zod";
import { describeError } from "../core/mod.ts";

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
  /**
   * The tool sends no notifications and no requests unless its call carries a progress token,
   * so an HTTP call without one may be answered as one JSON response (`_direct_call.ts` for a
   * 2025-era session, `_direct_modern.ts` for 2026-07-28, where anything it sent would be
   * dropped). It reads from its context only the signal, the request ID and `_meta`.
   */
  quiet?: boolean;
}

/** A tool registered through {@linkcode defineTool}, with its spec's `quiet` flag. */
export interface DefinedTool {
  tool: RegisteredTool;
  quiet: boolean;
}

const definedByServer = new WeakMap<McpServer, Map<string, DefinedTool>>();

const NO_ARGUMENTS: z.ZodRawShape = {};
const objectsByShape = new WeakMap<z.ZodRawShape, StandardSchemaWithJSON>();

/**
 * `z.object(shape)` behind a Standard Schema whose JSON Schema is converted once per shape and
 * options. The SDK converts a tool's input schema on every 2026-07-28 `tools/call` (the
 * `Mcp-Param-*` header check, on the McpServer built for that request): with zod's converter
 * that was 17% of Server A's CPU under load (V8 profile, issue 14). Validation stays zod's.
 */
function objectOf(shape: z.ZodRawShape): StandardSchemaWithJSON {
  let object = objectsByShape.get(shape);
  if (!object) objectsByShape.set(shape, object = memoizedJsonSchema(z.object(shape)));
  return object;
}

function memoizedJsonSchema(schema: z.ZodObject): StandardSchemaWithJSON {
  const standard = schema["~standard"];
  const converted = new Map<string, Record<string, unknown>>();
  type Options = Parameters<typeof standard.jsonSchema.input>[0];
  const convert = (io: "input" | "output", options: Options) => {
    const key = `${io} ${JSON.stringify(options)}`;
    let json = converted.get(key);
    if (!json) converted.set(key, json = standard.jsonSchema[io](options));
    return json;
  };
  return {
    "~standard": {
      version: 1,
      vendor: standard.vendor,
      validate: (value: unknown) => standard.validate(value),
      jsonSchema: {
        input: (options) => convert("input", options),
        output: (options) => convert("output", options),
      },
    },
  };
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
  const { quiet, ...config } = spec;
  const tool = mcp.registerTool(
    name,
    { ...config, inputSchema: objectOf(config.inputSchema ?? NO_ARGUMENTS) },
    handler as never,
  );
  let defined = definedByServer.get(mcp);
  if (!defined) definedByServer.set(mcp, defined = new Map());
  defined.set(name, { tool, quiet: quiet ?? false });
  return tool;
}

/** The tools registered on `mcp` through {@linkcode defineTool}, by name. */
export function definedTools(mcp: McpServer): ReadonlyMap<string, DefinedTool> {
  return definedByServer.get(mcp) ?? new Map();
}

const listedSchemas = new WeakMap<object, Tool["inputSchema"]>();

/**
 * The `tools/list` entry of a registered tool, from its public fields; the input schema through
 * the Standard JSON Schema interface (`~standard.jsonSchema`), as the SDK converts it.
 */
export function toolDefinition(name: string, tool: RegisteredTool): Tool {
  let inputSchema: Tool["inputSchema"] = { type: "object" };
  const schema = tool.inputSchema;
  if (schema) {
    inputSchema = listedSchemas.get(schema) ?? {
      type: "object",
      ...schema["~standard"].jsonSchema.input({ target: "draft-2020-12" }),
    } as Tool["inputSchema"];
    listedSchemas.set(schema, inputSchema);
  }
  return {
    name,
    ...(tool.title !== undefined ? { title: tool.title } : {}),
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    inputSchema,
    ...(tool.annotations !== undefined ? { annotations: tool.annotations } : {}),
    ...(tool._meta !== undefined ? { _meta: tool._meta } : {}),
  };
}

/**
 * Runs a registered tool as the SDK's `tools/call` handler would for a tool without an output
 * schema: arguments validated by its input schema (Standard Schema `validate`), a failure or a
 * thrown error answered as an `isError` result. Used where mcpcomm answers `tools/call` itself
 * (the gateway's merged tools, direct answers), because v2 offers no public way to run the
 * handler an `McpServer` installed.
 */
export async function callDefinedTool(
  name: string,
  tool: RegisteredTool,
  args: Record<string, unknown> | undefined,
  ctx: ToolContext,
): Promise<CallToolResult> {
  try {
    let input: unknown = args ?? {};
    if (tool.inputSchema) {
      const checked = await tool.inputSchema["~standard"].validate(input);
      if (checked.issues) {
        const issues = checked.issues.map((issue) => {
          const path = (issue.path ?? []).map((p) => typeof p === "object" ? p.key : p).join(".");
          return path ? `${path}: ${issue.message}` : issue.message;
        });
        return errorResult(
          `Input validation error: Invalid arguments for tool ${name}: ${issues.join(", ")}`,
        );
      }
      input = checked.value;
    }
    const handler = tool.handler as (
      args: unknown,
      ctx: ToolContext,
    ) => CallToolResult | Promise<CallToolResult>;
    return await handler(input, ctx);
  } catch (error) {
    return errorResult(error);
  }
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
