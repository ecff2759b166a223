/**
 * The test MCP server on the SDK v1, which speaks nothing newer than 2025-11-25: a
 * `server/discover` probe is refused and a client falls back to `initialize`.
 * @module
 */
import { McpServer as V1McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

function textResult(value: Record<string, unknown>, text: string) {
  return { content: [{ type: "text" as const, text }], structuredContent: value };
}

/** An SDK v1 server with the harness's `echo` tool. */
export function createLegacyTestMcp(): V1McpServer {
  const mcp = new V1McpServer({ name: "test-mcp", version: "1.0.0" }, {
    capabilities: { logging: {} },
  });
  mcp.registerTool(
    "echo",
    { description: "Echo the text", inputSchema: { text: z.string() } as never },
    (({ text }: { text: string }) => textResult({ text }, text)) as never,
  );
  return mcp;
}
