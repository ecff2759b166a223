/**
 * MCP transports and their guards: both protocol eras on `/mcp`, legacy SSE, WebSocket, sessions,
 * and the client side that connects to upstream MCP servers.
 * @module
 */
export * from "./guards.ts";
export * from "./http.ts";
export * from "./sessions.ts";
export * from "./stdio.ts";
export * from "./target_config.ts";
export * from "./targets.ts";
export * from "./tools.ts";
export * from "./websocket.ts";
