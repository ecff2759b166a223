/**
 * The toolbox's MCP server (SDK v2): demo tools that can be switched on one by one, and the
 * `server://info` resource naming the server and its enabled tools; the same definition for
 * 2026-07-28 requests and 2025-era sessions and connections.
 * @module
 */
import {
  type CacheHint,
  type CallToolResult,
  McpServer,
  type Tool,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import { UsageError } from "../core/mod.ts";
import { defineTool, errorResult, jsonResult, sharedJsonSchemaValidator } from "../mcp/mod.ts";
import { runCommand } from "./_command.ts";
import { listFiles } from "./_files.ts";
import { evaluate, formatNumber } from "./_math.ts";

/** Every tool the toolbox knows, in listing order. */
export const TOOLBOX_TOOLS = [
  "echo",
  "get_time",
  "list_files",
  "math_calc",
  "run_command",
] as const;
/** One of {@linkcode TOOLBOX_TOOLS}. */
export type ToolboxTool = typeof TOOLBOX_TOOLS[number];

/** The toolbox's settings. */
export interface ToolboxOptions {
  /** Server name, shown in `server://info` and in "not enabled on NAME" errors. */
  name: string;
  version: string;
  /** Enabled tools. */
  tools: readonly ToolboxTool[];
  /** The directory `list_files` may show and `run_command` runs in. */
  root: string;
  /** Timeout of one `run_command` run. */
  commandTimeoutMs?: number;
}

/**
 * Validates a `--tools` list and the `--allow-run-command` switch; without a list every tool but
 * `run_command` is enabled. Throws {@linkcode UsageError} naming an unknown tool.
 * @example
 * ```ts
 * selectTools("math_calc,echo", false); // ["echo", "math_calc"]
 * ```
 */
export function selectTools(list: string | undefined, allowRunCommand: boolean): ToolboxTool[] {
  if (list === undefined) return TOOLBOX_TOOLS.filter((t) => t !== "run_command");
  const wanted = list.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean);
  if (wanted.length === 0) throw new UsageError("--tools lists no tools");
  for (const name of wanted) {
    if (!(TOOLBOX_TOOLS as readonly string[]).includes(name)) {
      throw new UsageError(
        `Unknown tool "${name}" in --tools; expected some of ${TOOLBOX_TOOLS.join(", ")}`,
      );
    }
  }
  if (wanted.includes("run_command") && !allowRunCommand) {
    throw new UsageError("run_command runs programs on this machine: add --allow-run-command");
  }
  return TOOLBOX_TOOLS.filter((t) => wanted.includes(t));
}

/** The JSON of the `server://info` resource. */
export function serverInfo(options: ToolboxOptions): Record<string, unknown> {
  return {
    name: options.name,
    version: options.version,
    enabledTools: TOOLBOX_TOOLS.filter((t) => options.tools.includes(t)),
    availableTools: [...TOOLBOX_TOOLS],
    root: options.root,
  };
}

/** The answer to a call of a tool that is not enabled. */
function refusal(tool: string, server: string): CallToolResult {
  return errorResult(`Tool ${tool} is not enabled on ${server}`);
}

/**
 * The 2026-07-28 caching hint of the toolbox's lists, `server/discover` and `server://info`: all
 * are fixed for the life of the process and the same for every caller.
 */
const STATIC: CacheHint = { ttlMs: 300_000, cacheScope: "public" };

const echoShape = { message: z.string().describe("The message to echo") };
const timeShape = {
  timezone: z.string().min(1).optional().describe("IANA time zone, e.g. Europe/Paris"),
};
const filesShape = {
  path: z.string().default(".").describe("Directory, relative to the toolbox root"),
};
const mathShape = {
  expression: z.string().min(1).describe('The expression, e.g. "2 + 2 * 3"'),
};
const commandShape = {
  command: z.string().min(1).describe("The program to run"),
  args: z.array(z.string()).max(256).default([]).describe("Its arguments"),
  timeout_ms: z.number().int().min(1).max(300000).optional().describe("Timeout in ms"),
};

/**
 * Creates a fresh toolbox MCP server: one per 2026-07-28 request, per 2025-era session or per
 * stdio/WebSocket connection. A disabled tool is absent from `tools/list`, and calling it answers
 * the tool error "Tool NAME is not enabled on SERVER" (`isError: true`), as `mcpcomm test`
 * checks; an unknown name gets the SDK's JSON-RPC error -32602.
 * @example
 * ```ts
 * const mcp = createToolboxMcp({ name: "calc", version: "0.1.0", tools: ["math_calc"], root: "." });
 * ```
 */
export function createToolboxMcp(options: ToolboxOptions): McpServer {
  const mcp = new McpServer(
    { name: options.name, version: options.version },
    {
      // The tool list and the resource list never change at run time.
      capabilities: {
        tools: { listChanged: false },
        resources: { listChanged: false },
        logging: {},
      },
      jsonSchemaValidator: sharedJsonSchemaValidator(),
      cacheHints: {
        "tools/list": STATIC,
        "resources/list": STATIC,
        "resources/templates/list": STATIC,
        "resources/read": STATIC,
        "server/discover": STATIC,
      },
    },
  );
  const enabled = new Set<string>(options.tools);
  const listed: Tool[] = [];
  const tool = <S extends z.ZodRawShape>(
    name: ToolboxTool,
    spec: { title: string; description: string; inputSchema: S },
    handler: (
      args: z.output<z.ZodObject<S>>,
      signal: AbortSignal,
    ) => Promise<CallToolResult> | CallToolResult,
  ) => {
    if (!enabled.has(name)) {
      // No schema: the refusal wins over argument validation, and the real handler is never
      // registered (run_command cannot run when it is off).
      mcp.registerTool(name, { description: "Not enabled" }, () => refusal(name, options.name));
      return;
    }
    defineTool(mcp, name, spec, async (args, ctx) => {
      try {
        return await handler(args, ctx.mcpReq.signal);
      } catch (error) {
        return errorResult(error);
      }
    });
    listed.push({
      name,
      title: spec.title,
      description: spec.description,
      inputSchema: mcp.toolInputSchemaJson(name) as Tool["inputSchema"],
    });
  };

  tool("echo", {
    title: "Echo",
    description: "Echo back the provided message.",
    inputSchema: echoShape,
  }, ({ message }) => jsonResult({ message, server: options.name }, `Echo: ${message}`));

  tool("get_time", {
    title: "Current time",
    description: "Get the current server time, optionally in an IANA time zone.",
    inputSchema: timeShape,
  }, ({ timezone }) => {
    const now = new Date();
    let local: string;
    try {
      local = new Intl.DateTimeFormat("en-GB", {
        dateStyle: "full",
        timeStyle: "long",
        ...(timezone ? { timeZone: timezone } : {}),
      }).format(now);
    } catch {
      return errorResult(`Unknown time zone "${timezone}"`);
    }
    return jsonResult(
      { iso: now.toISOString(), unixMs: now.getTime(), local, timezone: timezone ?? "local" },
      `Current time: ${now.toISOString()} (${local})`,
    );
  });

  tool("list_files", {
    title: "List files",
    description: "List files in a directory inside the toolbox root.",
    inputSchema: filesShape,
  }, async ({ path }) => {
    const listing = await listFiles(options.root, path);
    const lines = listing.entries.map((e) => e.type === "directory" ? `${e.name}/` : e.name);
    if (listing.truncated) lines.push(`... ${listing.total - listing.entries.length} more`);
    return jsonResult(
      { ...listing },
      `Files in ${listing.path}:${lines.length ? `\n${lines.join("\n")}` : " (empty)"}`,
    );
  });

  tool("math_calc", {
    title: "Calculate",
    description: "Evaluate an arithmetic expression: + - * / % ^, parentheses, " +
      "sqrt, sin, cos, abs, log, min, max and more; constants pi and e.",
    inputSchema: mathShape,
  }, ({ expression }) => {
    const result = evaluate(expression);
    return jsonResult({ expression, result }, `${expression} = ${formatNumber(result)}`);
  });

  tool("run_command", {
    title: "Run a command",
    description: "Run a program with arguments (no shell) in the toolbox root, with a timeout.",
    inputSchema: commandShape,
  }, async ({ command, args, timeout_ms }, signal) => {
    const timeoutMs = timeout_ms ?? options.commandTimeoutMs ?? 30000;
    const outcome = await runCommand([command, ...args], { cwd: options.root, timeoutMs, signal });
    const parts = [
      outcome.timedOut
        ? `${command} timed out after ${timeoutMs} ms`
        : outcome.exitCode === null
        ? `${command} was killed (${outcome.signal})`
        : `${command} exited with code ${outcome.exitCode}`,
    ];
    if (outcome.stdout) {
      parts.push(outcome.stdout + (outcome.stdoutTruncated ? "\n[truncated]" : ""));
    }
    if (outcome.stderr) {
      parts.push(`stderr:\n${outcome.stderr}${outcome.stderrTruncated ? "\n[truncated]" : ""}`);
    }
    const result = jsonResult({ ...outcome }, parts.join("\n"));
    return outcome.exitCode === 0 ? result : { ...result, isError: true };
  });

  // The SDK lists every enabled registration; the disabled tools' refusals stay unlisted.
  mcp.server.setRequestHandler("tools/list", () => ({ tools: listed }));

  mcp.registerResource("server-info", "server://info", {
    title: "Server info",
    description: "This server's name and enabled tools",
    mimeType: "application/json",
  }, (uri: URL) => ({
    contents: [{
      uri: uri.href,
      mimeType: "application/json",
      text: JSON.stringify(serverInfo(options), null, 2),
    }],
  }));
  return mcp;
}
