/**
 * A second reference for `deno task bench`: the MCP SDK's web-standard Streamable HTTP transport on
 * `Deno.serve`, stateful (one transport and server per session), with one echo tool and nothing
 * else. What mcpcomm adds over the SDK on Deno is the difference to Server A.
 * Usage: `deno run --allow-net bench/peers/deno_sdk_echo.ts PORT`.
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";

const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();

function newServer(): McpServer {
  const server = new McpServer({ name: "deno-sdk-echo", version: "1.0.0" });
  const echo = ({ message }: { message: string }) => ({
    content: [{ type: "text" as const, text: `Echo: ${message}` }],
  });
  // The v1 SDK's handler inference does not survive this TypeScript version.
  server.registerTool(
    "echo",
    {
      description: "Echoes the message",
      inputSchema: { message: z.string() },
    } as never,
    echo as never,
  );
  return server;
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
  onListen: () => {},
}, async (request) => {
  const sessionId = request.headers.get("mcp-session-id");
  const known = sessionId ? transports.get(sessionId) : undefined;
  if (known) return await known.handleRequest(request);
  if (sessionId || request.method !== "POST") {
    return Response.json({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Bad session" },
      id: null,
    }, {
      status: 400,
    });
  }
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => crypto.randomUUID(),
    onsessioninitialized: (id: string) => {
      transports.set(id, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) transports.delete(transport.sessionId);
  };
  await newServer().connect(transport);
  return await transport.handleRequest(request);
});
