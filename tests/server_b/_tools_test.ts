import { type CallToolResult, Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { createServerBMcp, SERVER_B_MCP_NAME } from "../../src/server_b/_tools.ts";
import { ProcessResponse } from "../../src/wire.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { postJson, startTestServerB, type TestServerB } from "../_helpers.ts";

async function connect(b: TestServerB): Promise<Client & AsyncDisposable> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const mcp = createServerBMcp(b.service, "0.0.0-test");
  await mcp.connect(serverSide);
  const client = new Client({ name: "tools-test", version: "1.0.0" });
  await client.connect(clientSide);
  return Object.assign(client, {
    [Symbol.asyncDispose]: async () => {
      await client.close();
      await mcp.close();
    },
  });
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return await client.callTool({ name, arguments: args }) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  assert(first?.type === "text", "expected a text content");
  return first.text;
}

Deno.test("createServerBMcp() lists the four tools of ai-responder-server", async () => {
  await using b = await startTestServerB();
  await using client = await connect(b);
  assertEquals(client.getServerVersion()?.name, SERVER_B_MCP_NAME);
  const { tools } = await client.listTools();
  assertEquals(tools.map((t: { name: string }) => t.name).sort(), [
    "configure_ai_model",
    "get_ai_stats",
    "get_received_messages",
    "process_message",
  ]);
  for (const tool of tools) assert(tool.description, `${tool.name} has no description`);
});

Deno.test("process_message answers like POST /process and shares the ledger", async (t) => {
  await using b = await startTestServerB();
  await using client = await connect(b);

  await t.step("answers with the mock", async () => {
    const result = await call(client, "process_message", { message: "Hello", max_tokens: 50 });
    assertEquals(result.isError, undefined);
    const answer = ProcessResponse.parse(result.structuredContent);
    assertEquals(
      textOf(result),
      "[MOCK RESPONSE #1] You said: 'Hello'. This is a test response without calling any external API.",
    );
    assertEquals(answer.aiResponse, textOf(result));
    assertEquals(answer.model, "mock-model");
  });

  await t.step("a bad argument is a tool error, not a protocol error", async () => {
    for (
      const args of [{}, { message: "" }, { message: 5 }, { message: "x", temperature: 3 }, {
        message: "x",
        max_tokens: 0,
      }]
    ) {
      const result = await call(client, "process_message", args);
      assertEquals(result.isError, true, JSON.stringify(args));
      assertMatch(textOf(result), /Invalid arguments|validation/i);
    }
  });

  await t.step("counts in /health like HTTP requests", async () => {
    await (await postJson(`${b.url}/process`, { message: "over HTTP" })).body?.cancel();
    const health = await (await fetch(`${b.url}/health`)).json();
    assertEquals(health.messagesProcessed, 2);
  });
});

Deno.test("get_received_messages keeps MAX_STORED_MESSAGES and get_ai_stats stays exact", async () => {
  await using b = await startTestServerB({ MAX_STORED_MESSAGES: "3" });
  await using client = await connect(b);
  const answers: ProcessResponse[] = [];
  for (let i = 1; i <= 5; i++) {
    const response = await postJson(`${b.url}/process`, {
      message: `message number ${i} ${"x".repeat(i * 10)}`,
      ...(i % 2 ? { model: "gpt-4o-mini" } : {}),
    });
    answers.push(ProcessResponse.parse(await response.json()));
  }

  const all = await call(client, "get_received_messages");
  const received = all.structuredContent as {
    totalReceived: number;
    kept: number;
    returned: number;
    messages: { message: string; aiResponse: string; messageId: string }[];
  };
  assertEquals([received.totalReceived, received.kept, received.returned], [5, 3, 3]);
  assertEquals(received.messages.map((m) => m.messageId), answers.slice(2).map((a) => a.messageId));
  assertEquals(received.messages[0]!.aiResponse, answers[2]!.aiResponse);

  const limited = await call(client, "get_received_messages", { limit: 2 });
  const newest = limited.structuredContent as typeof received;
  assertEquals(newest.returned, 2);
  assertEquals(newest.messages.map((m) => m.messageId), answers.slice(3).map((a) => a.messageId));

  const bad = await call(client, "get_received_messages", { limit: 0 });
  assertEquals(bad.isError, true);

  const stats = (await call(client, "get_ai_stats")).structuredContent as Record<string, unknown>;
  const sum = (key: "promptTokens" | "completionTokens" | "totalTokens") =>
    answers.reduce((n, a) => n + a.usage[key], 0);
  assertEquals(stats.provider, "mock");
  assertEquals(stats.totalRequests, 5);
  assertEquals(stats.successfulRequests, 5);
  assertEquals(stats.failedRequests, 0);
  assertEquals(stats.promptTokens, sum("promptTokens"));
  assertEquals(stats.completionTokens, sum("completionTokens"));
  assertEquals(stats.totalTokens, sum("totalTokens"));
  assertEquals(stats.estimatedTotalCost, 0);
  const models = stats.models as Record<string, { requests: number; totalTokens: number }>;
  assertEquals(Object.keys(models), ["mock-model"]);
  assertEquals(models["mock-model"]!.requests, 5);
  assertEquals(models["mock-model"]!.totalTokens, sum("totalTokens"));
  assertEquals(typeof stats.averageResponseTime, "number");
});

Deno.test("configure_ai_model changes the defaults and rejects bad values", async (t) => {
  await using b = await startTestServerB();
  await using client = await connect(b);

  await t.step("valid change shows in /config", async () => {
    const result = await call(client, "configure_ai_model", {
      model: "gpt-4o-mini",
      temperature: 0.2,
      max_tokens: 64,
    });
    assertEquals(result.isError, undefined);
    assertEquals(result.structuredContent, {
      status: "updated",
      model: "gpt-4o-mini",
      temperature: 0.2,
      maxTokens: 64,
    });
    const config = await (await fetch(`${b.url}/config`)).json();
    assertEquals([config.defaultModel, config.temperature, config.maxTokens], [
      "gpt-4o-mini",
      0.2,
      64,
    ]);
  });

  await t.step("partial change keeps the rest", async () => {
    const result = await call(client, "configure_ai_model", { temperature: 1.5 });
    assertEquals(result.structuredContent, {
      status: "updated",
      model: "gpt-4o-mini",
      temperature: 1.5,
      maxTokens: 64,
    });
  });

  await t.step("bad values are tool errors and change nothing", async () => {
    for (
      const args of [
        {},
        { temperature: 7 },
        { temperature: -1 },
        { max_tokens: 0 },
        { max_tokens: 2.5 },
        { max_tokens: "100" },
        { model: "" },
      ]
    ) {
      const result = await call(client, "configure_ai_model", args);
      assertEquals(result.isError, true, JSON.stringify(args));
      assert(textOf(result).length > 0);
    }
    assertEquals(b.service.defaults(), { model: "gpt-4o-mini", temperature: 1.5, maxTokens: 64 });
  });
});
