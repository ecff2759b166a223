import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport, McpServer } from "@modelcontextprotocol/server";
import { createLogger } from "../../src/core/log.ts";
import { type NamedTarget, parseTargetList } from "../../src/mcp/targets.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import type { McpEra } from "../../src/mcp/http.ts";
import { Gateway, type GatewayOptions } from "../../src/server_a/_gateway.ts";

/**
 * A started gateway over `upstreams` (`NAME=TARGET` text or parsed targets), attached to a server
 * with one own tool, which an in-memory SDK v2 client talks to. With `era: "modern"` the server
 * is attached as a 2026-07-28 one, with no downstream session: it uses each upstream's shared
 * connection.
 */
export async function startGateway(
  upstreams: string | NamedTarget[],
  { era = "legacy", ...extra }: Partial<GatewayOptions> & { era?: McpEra } = {},
  ownTool = "own_tool",
) {
  const gateway = new Gateway({
    upstreams: typeof upstreams === "string" ? parseTargetList(upstreams) : upstreams,
    version: "0",
    log: createLogger("gateway-test"),
    timeoutMs: 20_000,
    baseDelayMs: 20,
    maxDelayMs: 200,
    ...extra,
  }).start();
  await gateway.settled();
  const mcp = new McpServer({ name: "messenger-server", version: "0" }, { capabilities: {} });
  defineTool(mcp, ownTool, { description: "Server A's own" }, () => jsonResult({ own: true }));
  gateway.attach(mcp, era);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await mcp.connect(b);
  const client = new Client({ name: "downstream", version: "0" });
  await client.connect(a);
  return {
    gateway,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await gateway.close();
    },
  };
}
