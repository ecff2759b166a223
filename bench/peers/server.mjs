// deno-lint-ignore-file no-console
// The peer of `deno task bench`: the MCP TypeScript SDK's documented stateful Streamable HTTP
// server on Node with express (docs/server.md, examples/server/simpleStreamableHttp.ts), reduced to
// one echo tool and without the per-request console logging of the example.
// Usage: node server.mjs [port]   (0 or nothing picks a free port; prints "listening <port>")
import { randomUUID } from "node:crypto";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

function getServer() {
  const server = new McpServer({ name: "echo-peer", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Echoes the message", inputSchema: { message: z.string() } },
    ({ message }) => ({ content: [{ type: "text", text: `Echo: ${message}` }] }),
  );
  return server;
}

const app = createMcpExpressApp();
const transports = {};

app.post("/mcp", async (req, res) => {
  const sessionId = req.headers["mcp-session-id"];
  let transport;
  if (sessionId && transports[sessionId]) {
    transport = transports[sessionId];
  } else if (!sessionId && isInitializeRequest(req.body)) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        transports[id] = transport;
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) delete transports[transport.sessionId];
    };
    await getServer().connect(transport);
  } else {
    res.status(400).json({
      jsonrpc: "2.0",
      error: { code: -32000, message: "Bad Request: No valid session ID provided" },
      id: null,
    });
    return;
  }
  await transport.handleRequest(req, res, req.body);
});

const handleSessionRequest = async (req, res) => {
  const sessionId = req.headers["mcp-session-id"];
  if (!sessionId || !transports[sessionId]) {
    res.status(400).send("Invalid or missing session ID");
    return;
  }
  await transports[sessionId].handleRequest(req, res);
};
app.get("/mcp", handleSessionRequest);
app.delete("/mcp", handleSessionRequest);

const listener = app.listen(Number(process.argv[2] ?? 0), "127.0.0.1", (error) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  console.log(`listening ${listener.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
