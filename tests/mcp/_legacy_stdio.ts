/**
 * The SDK v1 test MCP server over stdio: a server that speaks nothing newer than 2025-11-25, for
 * `legacyOnlyStdioTarget()`.
 * @module
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createLegacyTestMcp } from "./_legacy_mcp.ts";

if (import.meta.main) {
  const mcp = createLegacyTestMcp();
  const transport = new StdioServerTransport();
  transport.onclose = () => Deno.exit(0);
  await mcp.connect(transport);
}
