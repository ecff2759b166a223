/**
 * The plain code `src/mcp/_modern_route.ts` replaces, swapped in by the bench's import map: the
 * SDK's classifier asked on every call.
 * @module
 */
import { classifyInboundRequest } from "@modelcontextprotocol/server";

/** Whether the SDK's `classifyInboundRequest` serves `body` in the 2026-07-28 era. */
export function routesModern(
  body: Record<string, unknown>,
  _meta: Record<string, unknown>,
  name: string,
): boolean {
  return classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: "2026-07-28",
    mcpMethodHeader: "tools/call",
    mcpNameHeader: name,
    body,
  }).kind === "modern";
}
