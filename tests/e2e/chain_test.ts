/**
 * The chain end to end, every part a real process: Server B (mock provider) on a free port,
 * `mcpcomm test` against it, and Server A driven by the MCP SDK client over stdio (spawned the
 * way Claude Desktop spawns it) and over Streamable HTTP.
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { TestReport } from "../../src/commands/_test.ts";
import { ProcessResponse } from "../../src/wire.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, RUN_ARGS, runCli, tempDirSync } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";

interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

const text = (answer: ToolAnswer) => answer.content.map((c) => c.text ?? "").join("");

/**
 * Records the progress notifications as they come off the transport. (The SDK client hands
 * notifications to `onprogress` a microtask late, so those read in the same chunk as the final
 * response are dropped by the client; what Server A sent is checked here instead.)
 */
function recordProgress(transport: Transport): string[] {
  type Message = { method?: string; params?: { message?: unknown } };
  const wire = transport as unknown as {
    onmessage?: (message: Message, extra?: unknown) => void;
  };
  const seen: string[] = [];
  const deliver = wire.onmessage;
  wire.onmessage = (message, extra) => {
    if (message.method === "notifications/progress") {
      seen.push(String(message.params?.message ?? ""));
    }
    deliver?.(message, extra);
  };
  return seen;
}

/** What an MCP client sees of Server A, whatever the transport. */
async function exerciseMessenger(
  client: Client,
  transport: Transport,
  serverBUrl: string,
): Promise<void> {
  assertEquals(client.getServerVersion()?.name, "messenger-server");
  const { tools } = (await client.listTools()) as { tools: { name: string }[] };
  assertEquals(tools.map((t) => t.name).sort(), [
    "get_ai_usage_stats",
    "get_conversation_history",
    "send_message_to_ai",
  ]);

  const plain = (await client.callTool({
    name: "send_message_to_ai",
    arguments: { message: "What is Python?", max_tokens: 100 },
  })) as ToolAnswer;
  assert(!plain.isError, text(plain));
  const answer = ProcessResponse.parse(plain.structuredContent);
  assertMatch(text(plain), /^\[MOCK RESPONSE #\d+\] You said: 'What is Python\?'/);
  assertEquals(answer.aiResponse, text(plain));

  const progress = recordProgress(transport);
  const streamed = (await client.callTool(
    { name: "send_message_to_ai", arguments: { message: "Tell me a joke" } },
    undefined,
    { onprogress: () => {} },
  )) as ToolAnswer;
  assert(!streamed.isError, text(streamed));
  assert(progress.length > 1, `${progress.length} progress notifications`);
  assertEquals(progress.join(""), text(streamed));

  const bad = (await client.callTool({
    name: "send_message_to_ai",
    arguments: { temperature: 9 },
  })) as ToolAnswer;
  assertEquals(bad.isError, true);

  const history =
    (await client.callTool({ name: "get_conversation_history", arguments: {} })) as ToolAnswer;
  assertEquals(history.structuredContent?.totalMessages, 2);
  assertEquals(history.structuredContent?.totalAIResponses, 2);
  const stats =
    (await client.callTool({ name: "get_ai_usage_stats", arguments: {} })) as ToolAnswer;
  assertEquals(stats.structuredContent?.serverBUrl, serverBUrl);
  assertEquals(stats.structuredContent?.totalRequests, 2);
  assertEquals(stats.structuredContent?.estimatedTotalCost, 0);
}

Deno.test("e2e: Server B process, mcpcomm test, Server A over stdio and HTTP", async (t) => {
  await using serverB = await spawnServer(["server-b", "--host", "127.0.0.1", "--port", "0"], {
    env: { AI_PROVIDER: "mock" },
  });

  await t.step("mcpcomm test proves the chain (report and --json)", async () => {
    const human = await runCli(["test", "--server-b-url", serverB.url]);
    assertEquals(human.code, 0, human.stdout + human.stderr);
    assert(human.stdout.includes("✓ PROOF: Server A communicated with Server B successfully!"));
    const json = await runCli(["test", "--json"], { env: { SERVER_B_URL: serverB.url } });
    assertEquals(json.code, 0, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout) as TestReport;
    assertEquals(report.steps.map((s) => s.ok), [true, true, true, true]);
  });

  await t.step("Server A over stdio, spawned as Claude Desktop does", async () => {
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: [...RUN_ARGS, "server-a"],
      env: { ...baseEnv(), SERVER_B_URL: serverB.url },
      cwd: tempDirSync(),
      stderr: "pipe",
    });
    const stderr: string[] = [];
    transport.stderr?.on(
      "data",
      (chunk: Uint8Array) => stderr.push(new TextDecoder().decode(chunk)),
    );
    const client = new Client({ name: "e2e-stdio", version: "0.0.0" });
    try {
      await client.connect(transport);
      await exerciseMessenger(client, transport, serverB.url);
    } finally {
      await client.close();
    }
    const logs = stderr.join("");
    assertMatch(logs, /"msg":"Server A ready on stdio"/);
    assertMatch(logs, /"msg":"Server A stopped","reason":"stdin closed"/);
  });

  await t.step("Server A over Streamable HTTP", async () => {
    await using serverA = await spawnServer(
      ["server-a", "--transport", "http", "--host", "127.0.0.1", "--port", "0"],
      { env: { SERVER_B_URL: serverB.url } },
    );
    const client = new Client({ name: "e2e-http", version: "0.0.0" });
    try {
      const transport = new StreamableHTTPClientTransport(new URL(`${serverA.url}/mcp`));
      await client.connect(transport);
      await exerciseMessenger(client, transport, serverB.url);
    } finally {
      await client.close();
    }
    const status = await serverA.stop();
    assertEquals(status.code, 0, serverA.lines.join("\n"));
  });

  const status = await serverB.stop();
  assertEquals(status.code, 0, serverB.lines.join("\n"));
});
