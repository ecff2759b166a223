/**
 * Which protocol era a parsed `POST /mcp` belongs to. The SDK's `isLegacyRequest` decides; in
 * front of it, a plain 2025-era message (no envelope claim, no 2026 version header, not a
 * response) is recognised from public SDK checks alone: the SDK's classifier first tries the body
 * as a JSON-RPC result and as an error response, two failed zod parses. End to end it pays: Server
 * A spends 6.8%, 10.6% and 14.1% less CPU per 2025-era `tools/call` than with its plain twin,
 * `bench/plain/era.ts`, which asks the SDK every time (three runs of the ablation rows,
 * `deno task bench --ablations`).
 * @module
 */
import {
  isJSONRPCNotification,
  isJSONRPCRequest,
  isLegacyRequest,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";

const FIRST_MODERN_VERSION = "2026-07-28";

/**
 * True when the SDK's classifier is certain to call `body` 2025-era: a JSON-RPC request or
 * notification object without the `_meta` protocol-version claim, sent without a 2026-07-28 (or
 * later) `MCP-Protocol-Version` header. False means "ask the SDK", not "modern".
 */
export function isPlainLegacyMessage(request: Request, body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const message = body as Record<string, unknown>;
  if ("result" in message || "error" in message) return false;
  const version = request.headers.get("mcp-protocol-version");
  if (version !== null && version >= FIRST_MODERN_VERSION) return false;
  const params = message.params;
  const meta = typeof params === "object" && params !== null && !Array.isArray(params)
    ? (params as Record<string, unknown>)._meta
    : undefined;
  if (
    typeof meta === "object" && meta !== null && !Array.isArray(meta) &&
    PROTOCOL_VERSION_META_KEY in meta
  ) {
    return false;
  }
  return isJSONRPCRequest(message) || isJSONRPCNotification(message);
}

/** Whether the parsed body of a `POST` is served by the 2025-era wiring. */
export async function isLegacyPost(
  request: Request,
  parsed: unknown,
  maxRequestBodySize: number,
): Promise<boolean> {
  return isPlainLegacyMessage(request, parsed) ||
    await isLegacyRequest(request, parsed, { maxRequestBodySize });
}
