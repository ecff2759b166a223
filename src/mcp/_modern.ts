/**
 * The 2026-07-28 side of `/mcp`: the SDK's `createMcpHandler`, one McpServer per request, strict
 * (`legacy: 'reject'`: the 2025 era is routed to mcpcomm's sessions before it gets here), JSON
 * answers unless a handler streams (`responseMode: 'auto'`). Its `subscriptions/listen` streams
 * are capped at `MCP_MAX_SESSIONS`, as the 2025-era sessions are; a listen past the cap is
 * answered by the SDK in-band (`-32603` "Subscription limit reached").
 * @module
 */
import {
  createMcpHandler,
  type McpHttpHandler as SdkMcpHttpHandler,
  type McpServer,
} from "@modelcontextprotocol/server";
import { describeError, type Logger } from "../core/mod.ts";

/** What {@linkcode createModernHandler} needs. */
export interface ModernOptions {
  /** Builds the McpServer that answers one request. */
  createServer: () => McpServer;
  /** Largest POST body read, in bytes. */
  MAX_BODY_BYTES: number;
  /** Most `subscriptions/listen` streams open at once. */
  MCP_MAX_SESSIONS: number;
  log: Logger;
}

/** The SDK's per-request handler for 2026-07-28 requests. */
export function createModernHandler(options: ModernOptions): SdkMcpHttpHandler {
  const { log } = options;
  return createMcpHandler(() => options.createServer(), {
    legacy: "reject",
    responseMode: "auto",
    maxRequestBodySize: options.MAX_BODY_BYTES,
    maxSubscriptions: options.MCP_MAX_SESSIONS,
    onerror: (error) => log.debug("MCP request refused", { error: describeError(error) }),
  });
}
