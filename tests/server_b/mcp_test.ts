/**
 * Server B's MCP through real SDK clients on every way in: a v2 client over 2026-07-28 (pinned
 * and negotiated) and over a 2025-11-25 session, a v1 client over Streamable HTTP and legacy
 * HTTP+SSE, both handshakes over stdio, and `mcp-remote` (the MCP Inspector CLI is in
 * tests/mcp/inspector_test.ts).
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { autoPicksModern, rawSession, stdioSteps, v1Steps } from "../mcp/_eras.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, RUN_ARGS, startTestServerB } from "../_helpers.ts";
import { connectViaMcpRemote, MCP_REMOTE, mcpRemoteUnavailable } from "../_mcp_remote.ts";

const TOOLS = ["configure_ai_model", "get_ai_stats", "get_received_messages", "process_message"];

interface ToolClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
}

/** Lists the tools and calls process_message; resolves the answer's text. */
async function listAndCall(client: ToolClient, message: string): Promise<string> {
  const { tools } = await client.listTools();
  assertEquals(tools.map((t) => t.name).sort(), TOOLS);
  const result = await client.callTool({ name: "process_message", arguments: { message } }) as {
    isError?: boolean;
    content: { type: string; text?: string }[];
  };
  assertEquals(result.isError, undefined, JSON.stringify(result));
  const first = result.content[0];
  assert(first?.type === "text" && first.text, JSON.stringify(result));
  return first.text;
}

Deno.test("a v2 client pinned to 2026-07-28 lists and calls Server B's tools without a session", async () => {
  await using b = await startTestServerB();
  const transport = new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`));
  const client = new Client({ name: "v2-modern", version: "1.0.0" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(transport);
  try {
    assertEquals(client.getProtocolEra(), "modern");
    assertEquals(client.getNegotiatedProtocolVersion(), "2026-07-28");
    assertEquals(client.getServerVersion()?.name, "ai-responder-server");
    const text = await listAndCall(client, "Hello modern");
    assert(text.includes("You said: 'Hello modern'"), text);
    assertEquals(transport.sessionId, undefined);
    assertEquals((await b.service.ledger.stats()).totalRequests, 1);
  } finally {
    await client.close();
  }
});

Deno.test("a v2 client negotiating ('auto') picks 2026-07-28 on Server B", async () => {
  await using b = await startTestServerB();
  await autoPicksModern(
    new URL(`${b.url}/mcp`),
    (client, label) => listAndCall(client, `Hello ${label}`),
  );
});

Deno.test("a v2 client in 2025 mode gets a 2025-11-25 session it can end", async () => {
  await using b = await startTestServerB();
  const transport = new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`));
  const client = new Client({ name: "v2-legacy", version: "1.0.0" });
  await client.connect(transport);
  try {
    assertEquals(client.getNegotiatedProtocolVersion(), "2025-11-25");
    assert(transport.sessionId && /^[0-9a-f]{40}$/.test(transport.sessionId));
    await listAndCall(client, "Hello 2025");
    await transport.terminateSession();
  } finally {
    await client.close();
  }
});

Deno.test("a v1 SDK client lists and calls Server B's tools over Streamable HTTP and /sse", async (t) => {
  await using b = await startTestServerB();
  await v1Steps(
    t,
    { mcpUrl: new URL(`${b.url}/mcp`), sseUrl: new URL(`${b.url}/sse`) },
    "ai-responder-server",
    (client, label) => listAndCall(client, `Hello ${label}`),
  );
});

Deno.test("mcpcomm server-b --mcp stdio serves a 2026-07-28 client and a 2025 client", async (t) => {
  const params = {
    command: Deno.execPath(),
    args: [...RUN_ARGS, "server-b", "--mcp", "stdio", "--port", "0"],
    env: { ...baseEnv(), HTTP_HOST: "127.0.0.1", MCPCOMM_DB: ":memory:" },
    stderr: "ignore" as const,
  };
  await stdioSteps(
    t,
    params,
    "ai-responder-server",
    (client, label) => listAndCall(client, `Hello ${label}`),
  );
});

Deno.test("Server B answers a 2025-era tools/call as JSON, or as SSE with MCP_DIRECT_CALLS=false", async (t) => {
  for (const [direct, type] of [["true", "application/json"], ["false", "text/event-stream"]]) {
    await t.step(`MCP_DIRECT_CALLS=${direct}`, async () => {
      await using b = await startTestServerB({ MCP_DIRECT_CALLS: direct! });
      const callTool = await rawSession(`${b.url}/mcp`);
      const call = await callTool({ name: "get_ai_stats", arguments: {} });
      assertEquals(call.status, 200);
      assertMatch(call.headers.get("content-type") ?? "", new RegExp(type!));
      assert((await call.text()).includes('"provider'));
    });
  }
});

const remoteReason = await mcpRemoteUnavailable();

Deno.test({
  name: `${MCP_REMOTE} proxies Server B's /mcp to a v2 client over stdio, with the token${
    remoteReason ? ` (SKIPPED: ${remoteReason})` : ""
  }`,
  ignore: remoteReason !== undefined,
  async fn() {
    const token = "mcp-remote-token-of-length";
    await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: token });
    const client = await connectViaMcpRemote(`${b.url}/mcp`, {
      authorization: `Bearer ${token}`,
    });
    try {
      assertEquals(client.getServerVersion()?.name, "ai-responder-server");
      const text = await listAndCall(client, "Hello remote");
      assert(text.includes("You said: 'Hello remote'"), text);
      assertEquals((await b.service.ledger.stats()).totalRequests, 1);
    } finally {
      await client.close();
    }
  },
});
