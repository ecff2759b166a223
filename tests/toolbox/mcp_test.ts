/**
 * The toolbox's MCP through real clients on every way in: an SDK v2 client over 2026-07-28
 * (pinned and negotiated) and over a 2025-11-25 session on `/mcp`, over `/sse` and in both eras
 * over `/ws`; an SDK v1 client over `/mcp` and `/sse`; both handshakes over stdio; and
 * `mcp-remote` (the MCP Inspector CLI is in `inspector_test.ts`).
 * @module
 */
import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { autoPicksModern, stdioSteps, v1Steps } from "../mcp/_eras.ts";
import { assert, assertEquals } from "../_assert.ts";
import { baseEnv, eventually, RUN_ARGS } from "../_helpers.ts";
import { connectViaMcpRemote, MCP_REMOTE, mcpRemoteUnavailable } from "../_mcp_remote.ts";
import { startTestToolbox } from "../_toolbox.ts";
import { TestWebSocketTransport } from "../_ws_v2.ts";

interface ToolClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
}

type Result = { isError?: boolean; content: { type: string; text?: string }[] };

function text(result: unknown): string | undefined {
  return (result as Result).content[0]?.text;
}

/** Lists the tools of a toolbox with math_calc and echo, calls one, and calls a disabled one. */
async function listAndCall(client: ToolClient): Promise<void> {
  const { tools } = await client.listTools();
  assertEquals(tools.map((t) => t.name), ["echo", "math_calc"]);
  const result = await client.callTool({
    name: "math_calc",
    arguments: { expression: "2 + 2 * 3" },
  });
  assertEquals((result as Result).isError, undefined, JSON.stringify(result));
  assertEquals(text(result), "2 + 2 * 3 = 8");
  const refused = await client.callTool({ name: "get_time", arguments: {} });
  assertEquals((refused as Result).isError, true);
  assertEquals(text(refused), "Tool get_time is not enabled on calc");
}

const TOOLS = { tools: ["math_calc" as const, "echo" as const] };

Deno.test("a v2 client pinned to 2026-07-28 uses the toolbox's /mcp without a session, with caching hints", async () => {
  await using box = await startTestToolbox("calc", TOOLS);
  const transport = new StreamableHTTPClientTransport(new URL(`${box.url}/mcp`));
  const client = new Client({ name: "v2-modern", version: "1.0.0" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(transport);
  try {
    assertEquals(client.getProtocolEra(), "modern");
    assertEquals(client.getServerVersion()?.name, "calc");
    await listAndCall(client);
    const listed = await client.listTools();
    assertEquals([listed.ttlMs, listed.cacheScope], [300_000, "public"]);
    const info = await client.readResource({ uri: "server://info" });
    assertEquals(JSON.parse((info.contents[0] as { text: string }).text).enabledTools, [
      "echo",
      "math_calc",
    ]);
    assertEquals(transport.sessionId, undefined);
    assertEquals(box.sessionCount, 0);
  } finally {
    await client.close();
  }
});

Deno.test("a v2 client negotiating ('auto') picks 2026-07-28 on the toolbox's /mcp", async () => {
  await using box = await startTestToolbox("calc", TOOLS);
  await autoPicksModern(new URL(`${box.url}/mcp`), (client) => listAndCall(client));
});

Deno.test("a v2 client in 2025 mode gets a toolbox session on /mcp and /sse", async (t) => {
  await using box = await startTestToolbox("calc", TOOLS);
  await t.step("/mcp, 2025-11-25 session", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${box.url}/mcp`));
    const client = new Client({ name: "v2-legacy", version: "1.0.0" });
    await client.connect(transport);
    try {
      assertEquals(client.getNegotiatedProtocolVersion(), "2025-11-25");
      assert(transport.sessionId);
      assertEquals(box.sessionCount, 1);
      await listAndCall(client);
      await transport.terminateSession();
      assertEquals(box.sessionCount, 0);
    } finally {
      await client.close();
    }
  });
  await t.step("/sse", async () => {
    const client = new Client({ name: "v2-sse", version: "1.0.0" });
    await client.connect(new SSEClientTransport(new URL(`${box.url}/sse`)));
    try {
      await listAndCall(client);
    } finally {
      await client.close();
    }
  });
});

Deno.test("a v1 SDK client lists and calls the toolbox's tools over /mcp and /sse", async (t) => {
  await using box = await startTestToolbox("calc", TOOLS);
  await v1Steps(
    t,
    { mcpUrl: new URL(`${box.url}/mcp`), sseUrl: new URL(`${box.url}/sse`) },
    "calc",
    (client) => listAndCall(client),
  );
});

Deno.test("a v2 client uses the toolbox's /ws in both eras", async (t) => {
  await using box = await startTestToolbox("calc", TOOLS);
  const url = `${box.url.replace(/^http/, "ws")}/ws`;
  for (const [mode, era] of [[{ pin: "2026-07-28" }, "modern"], ["legacy", "legacy"]] as const) {
    await t.step(era, async () => {
      const client = new Client({ name: "v2-ws", version: "1.0.0" }, {
        versionNegotiation: { mode },
      });
      await client.connect(new TestWebSocketTransport(url));
      try {
        assertEquals(client.getProtocolEra(), era);
        assertEquals(box.webSocketCount, 1);
        await listAndCall(client);
      } finally {
        await client.close();
      }
      await eventually(() => box.webSocketCount === 0);
    });
  }
});

Deno.test("mcpcomm toolbox --transport stdio serves a 2026-07-28 client and a 2025 client", async (t) => {
  const params = {
    command: Deno.execPath(),
    args: [
      ...RUN_ARGS,
      "toolbox",
      "--transport",
      "stdio",
      "--name",
      "calc",
      "--tools",
      "math_calc,echo",
    ],
    env: baseEnv(),
    stderr: "ignore" as const,
  };
  await stdioSteps(t, params, "calc", (client) => listAndCall(client));
});

const remoteReason = await mcpRemoteUnavailable();

Deno.test({
  name: `${MCP_REMOTE} proxies the toolbox's /mcp to a v2 client over stdio, with the token${
    remoteReason ? ` (SKIPPED: ${remoteReason})` : ""
  }`,
  ignore: remoteReason !== undefined,
  async fn() {
    const token = "mcp-remote-token-of-length";
    await using box = await startTestToolbox("calc", {
      ...TOOLS,
      env: { MCPCOMM_AUTH_TOKEN: token },
    });
    const client = await connectViaMcpRemote(`${box.url}/mcp`, {
      authorization: `Bearer ${token}`,
    });
    try {
      assertEquals(client.getServerVersion()?.name, "calc");
      await listAndCall(client);
      // mcp-remote speaks 2025 to the server (it may open a probe session first).
      assert(box.sessionCount >= 1);
    } finally {
      await client.close();
    }
  },
});
