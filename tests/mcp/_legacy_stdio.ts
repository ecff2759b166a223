/**
 * The test MCP server (`_harness.ts` `createTestMcp`) on the SDK v1 over stdio: a server that
 * speaks nothing newer than 2025-11-25, for `legacyOnlyStdioTarget()`.
 * @module
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createTestMcp } from "./_harness.ts";

if (import.meta.main) {
  const mcp = createTestMcp(() => Promise.resolve());
  const transport = new StdioServerTransport();
  transport.onclose = () => Deno.exit(0);
  await mcp.connect(transport);
}
