/**
 * Server A's MCP through real SDK clients on every way in: a v2 client over 2026-07-28 (pinned
 * and negotiated) and over a 2025-11-25 session, a v1 client over Streamable HTTP and legacy
 * HTTP+SSE, both handshakes over stdio; progress notifications on each HTTP path; direct JSON
 * answers.
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as V1HttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { autoPicksModern, rawSession, stdioSteps, v1Steps } from "../mcp/_eras.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, RUN_ARGS, startTestServerB, testConfig } from "../_helpers.ts";
import { startRecordingMcp } from "../mcp/_harness.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { startHttpServerA } from "./_server_a.ts";

const TOOLS = ["get_ai_usage_stats", "get_conversation_history", "send_message_to_ai"];

interface Progress {
  progress: number;
  message?: string | undefined;
}

interface ToolClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(
    params: { name: string; arguments?: Record<string, unknown> },
    ...rest: never[]
  ): Promise<unknown>;
}

type Answer = { isError?: boolean; content: { type: string; text?: string }[] };

function textOf(result: unknown): string {
  const answer = result as Answer;
  assertEquals(answer.isError, undefined, JSON.stringify(result));
  const first = answer.content[0];
  assert(first?.type === "text" && first.text, JSON.stringify(result));
  return first.text;
}

/** Lists the tools and sends `message` to Server B through send_message_to_ai. */
async function listAndCall(client: ToolClient, message: string): Promise<string> {
  const { tools } = await client.listTools();
  assertEquals(tools.map((t) => t.name).sort(), TOOLS);
  const text = textOf(
    await client.callTool({ name: "send_message_to_ai", arguments: { message } }),
  );
  assert(text.includes(`You said: '${message}'`), text);
  return text;
}

/** Calls send_message_to_ai with a progress callback; the progress messages put together. */
async function callWithProgress(
  call: (onprogress: (p: Progress) => void) => Promise<unknown>,
  message: string,
): Promise<string> {
  const progress: Progress[] = [];
  const text = textOf(await call((p) => progress.push(p)));
  assert(progress.length > 0, "no progress notification arrived");
  assertEquals(progress.map((p) => p.progress), progress.map((_, i) => i + 1));
  // The client may hand over the result before it has run the last notification's callback.
  const streamed = progress.map((p) => p.message).join("");
  assert(streamed.length > 0 && text.startsWith(streamed), `${streamed} / ${text}`);
  assert(text.includes(`You said: '${message}'`), text);
  return text;
}

async function startPair() {
  const b = await startTestServerB();
  const a = await startHttpServerA({ SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" });
  return {
    a,
    b,
    async [Symbol.asyncDispose]() {
      await a[Symbol.asyncDispose]();
      await b[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a v2 client pinned to 2026-07-28 lists and calls Server A's tools without a session, with progress", async () => {
  await using pair = await startPair();
  const transport = new StreamableHTTPClientTransport(pair.a.mcpUrl);
  const client = new Client({ name: "v2-modern", version: "1.0.0" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(transport);
  try {
    assertEquals(client.getProtocolEra(), "modern");
    assertEquals(client.getNegotiatedProtocolVersion(), "2026-07-28");
    assertEquals(client.getServerVersion()?.name, "messenger-server");
    await listAndCall(client, "Hello modern");
    await callWithProgress(
      (onprogress) =>
        client.callTool({ name: "send_message_to_ai", arguments: { message: "Streamed modern" } }, {
          onprogress,
        }),
      "Streamed modern",
    );
    assertEquals(transport.sessionId, undefined);
    assertEquals((await pair.a.ledger.stats()).totalRequests, 2);
  } finally {
    await client.close();
  }
});

Deno.test("a v2 client negotiating ('auto') picks 2026-07-28 on Server A", async () => {
  await using pair = await startPair();
  await autoPicksModern(pair.a.mcpUrl, (client, label) => listAndCall(client, `Hello ${label}`));
});

Deno.test("a v2 client in 2025 mode gets a 2025-11-25 session with progress it can end", async () => {
  await using pair = await startPair();
  const transport = new StreamableHTTPClientTransport(pair.a.mcpUrl);
  const client = new Client({ name: "v2-legacy", version: "1.0.0" });
  await client.connect(transport);
  try {
    assertEquals(client.getNegotiatedProtocolVersion(), "2025-11-25");
    assert(transport.sessionId && /^[0-9a-f]{40}$/.test(transport.sessionId));
    await listAndCall(client, "Hello 2025");
    await callWithProgress(
      (onprogress) =>
        client.callTool({ name: "send_message_to_ai", arguments: { message: "Streamed 2025" } }, {
          onprogress,
        }),
      "Streamed 2025",
    );
    await transport.terminateSession();
  } finally {
    await client.close();
  }
});

Deno.test("a v1 SDK client lists and calls Server A's tools over Streamable HTTP and /sse, with progress", async (t) => {
  await using pair = await startPair();
  await v1Steps(
    t,
    { mcpUrl: pair.a.mcpUrl, sseUrl: new URL(`${pair.a.url}/sse`) },
    "messenger-server",
    async (client, label) => {
      await listAndCall(client, `Hello ${label}`);
      await callWithProgress(
        (onprogress) =>
          client.callTool(
            { name: "send_message_to_ai", arguments: { message: `Streamed ${label}` } },
            undefined,
            { onprogress },
          ),
        `Streamed ${label}`,
      );
    },
  );
});

Deno.test("mcpcomm server-a over stdio serves a 2026-07-28 client and a 2025 client", async (t) => {
  await using b = await startTestServerB();
  const params = {
    command: Deno.execPath(),
    args: [...RUN_ARGS, "server-a"],
    env: { ...baseEnv(), SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" },
    stderr: "ignore" as const,
  };
  await stdioSteps(
    t,
    params,
    "messenger-server",
    (client, label) => listAndCall(client, `Hello ${label}`),
  );
});

Deno.test("Server A answers a quiet 2025-era tools/call as JSON, a call with a progress token or MCP_DIRECT_CALLS=false as SSE", async (t) => {
  const cases = [
    { direct: "true", meta: undefined, type: "application/json" },
    { direct: "true", meta: { progressToken: 7 }, type: "text/event-stream" },
    { direct: "false", meta: undefined, type: "text/event-stream" },
  ];
  await using b = await startTestServerB();
  for (const { direct, meta, type } of cases) {
    await t.step(
      `MCP_DIRECT_CALLS=${direct}, progress token ${meta ? "set" : "unset"}`,
      async () => {
        await using a = await startHttpServerA({
          SERVER_B_URL: b.url,
          MCPCOMM_DB: ":memory:",
          MCP_DIRECT_CALLS: direct,
        });
        const callTool = await rawSession(a.mcpUrl);
        const call = await callTool({
          name: "send_message_to_ai",
          arguments: { message: "raw" },
          ...(meta ? { _meta: meta } : {}),
        });
        assertEquals(call.status, 200);
        assertMatch(call.headers.get("content-type") ?? "", new RegExp(type));
        const body = await call.text();
        assert(body.includes("You said: 'raw'"), body);
        if (meta) assert(body.includes("notifications/progress"), body);
      },
    );
  }
  await t.step("bad arguments on the direct path answer isError like the SDK", async () => {
    await using a = await startHttpServerA({ SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" });
    const client = new V1Client({ name: "v1-bad", version: "1.0.0" });
    await client.connect(new V1HttpTransport(a.mcpUrl));
    try {
      const result = await client.callTool({
        name: "send_message_to_ai",
        arguments: { message: "" },
      }) as Answer;
      assertEquals(result.isError, true);
      assertMatch(result.content[0]?.text ?? "", /Invalid arguments for tool send_message_to_ai/);
      assertEquals((await a.ledger.stats()).totalRequests, 0);
    } finally {
      await client.close();
    }
  });
});

/** A raw 2026-07-28 `tools/call` of `name` on `mcpUrl`: status, content type and body text. */
async function modernCall(mcpUrl: URL, name: string, args: Record<string, unknown>) {
  const response = await fetch(mcpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
  });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  };
}

Deno.test("Server A answers a quiet 2026-07-28 tools/call directly, byte for byte as with MCP_DIRECT_CALLS=false", async () => {
  await using b = await startTestServerB();
  const env = { SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" };
  await using direct = await startHttpServerA(env);
  await using viaSdk = await startHttpServerA({ ...env, MCP_DIRECT_CALLS: "false" });
  const calls: [string, Record<string, unknown>][] = [
    ["get_ai_usage_stats", {}],
    ["get_conversation_history", { limit: 5 }],
    ["send_message_to_ai", { message: "" }],
  ];
  for (const [name, args] of calls) {
    const answer = await modernCall(direct.mcpUrl, name, args);
    assertEquals(answer.status, 200);
    assertEquals(answer, await modernCall(viaSdk.mcpUrl, name, args));
  }
  const sent = await modernCall(direct.mcpUrl, "send_message_to_ai", { message: "direct" });
  assertEquals(sent.type, "application/json");
  const { result } = JSON.parse(sent.body);
  assert(result.content[0].text.includes("You said: 'direct'"), sent.body);
  assertEquals(result.resultType, "complete");
  assertEquals(result._meta["io.modelcontextprotocol/serverInfo"].name, "messenger-server");
  assertEquals((await direct.ledger.stats()).totalRequests, 1);
});

Deno.test("with an upstream, a 2026-07-28 client and a 2025 session both see the gateway's merged tools and call one", async () => {
  await using b = await startTestServerB();
  await using upstream = await startRecordingMcp();
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", SERVER_B_URL: b.url }),
    { transport: "http", signal: controller.signal, upstreams: [`h=${upstream.url}/mcp`] },
  );
  try {
    await a.gateway!.settled();
    for (const pin of [true, false]) {
      const client = new Client(
        { name: "v2-gateway", version: "1.0.0" },
        pin ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(`${a.url}/mcp`)));
      try {
        assertEquals(client.getProtocolEra(), pin ? "modern" : "legacy");
        assertEquals(client.getServerCapabilities()?.tools?.listChanged, true);
        const names = (await client.listTools()).tools.map((t) => t.name);
        for (const name of [...TOOLS, "gateway_upstreams", "h_echo"]) {
          assert(names.includes(name), `${name} missing from ${names}`);
        }
        const echoed = await client.callTool({ name: "h_echo", arguments: { text: "up" } });
        assertEquals(textOf(echoed), "up");
        assertEquals(
          textOf(await client.callTool({ name: "get_ai_usage_stats", arguments: {} })).length > 0,
          true,
        );
      } finally {
        await client.close();
      }
    }
  } finally {
    controller.abort();
    await a.finished;
  }
});
