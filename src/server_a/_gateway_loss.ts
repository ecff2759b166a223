/**
 * How the gateway tells what an upstream connection lost: a request that never reached the
 * upstream's session (so it may be sent again), and whether a connection keeps state at all.
 * @module
 */
import {
  type Client,
  SdkHttpError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { isConnectionRefused } from "../mcp/mod.ts";

/**
 * Why a request failed without reaching the upstream's session, so that it can be sent again on
 * a new one: the server no longer knows the session (404, or a 400 about the session ID, as
 * some servers answer) or refused the connection. `undefined` when the request may have been
 * processed.
 */
export function unsentLoss(error: unknown): string | undefined {
  if (error instanceof SdkHttpError && error.status === 404) {
    return "the upstream no longer knows the session (HTTP 404)";
  }
  if (error instanceof SdkHttpError && error.status === 400 && /session/i.test(error.message)) {
    return "the upstream no longer knows the session (HTTP 400)";
  }
  if (error instanceof TypeError && isConnectionRefused(error)) return "connection refused";
  return undefined;
}

/**
 * Whether a 2025-era connection keeps state per connection: every transport does but Streamable
 * HTTP without an `Mcp-Session-Id`, whose server answers each request on its own.
 */
export function keepsSessionState(client: Client): boolean {
  const transport = client.transport;
  return !(transport instanceof StreamableHTTPClientTransport) || transport.sessionId !== undefined;
}
