import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { createMemoryLedger } from "../../src/ledger/mod.ts";
import { createServerBClient, type ServerBClientOptions } from "../../src/server_a/_b_client.ts";
import { createServerAMcp, SERVER_A_MCP_NAME } from "../../src/server_a/tools.ts";
import { ProcessResponse } from "../../src/wire.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startTestServerB } from "../_helpers.ts";
import { answerFor, freePort, startFakeB, startSilentFakeB } from "./_fake_b.ts";

interface Progress {
  progress: number;
  message?: string | undefined;
}

/** What tools/list shows, typed here (the SDK's inferred types do not survive this TypeScript). */
export interface ListedTool {
  name: string;
  description?: string;
  inputSchema: { required?: string[]; properties?: Record<string, unknown> };
}

interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** A real MCP client linked in memory to a messenger whose Server B client targets `url`. */
async function connectMessenger(
  url: string,
  options: Partial<ServerBClientOptions> & { maxStored?: number } = {},
) {
  const b = createServerBClient({
    url,
    timeoutMs: 5_000,
    attempts: 3,
    baseDelayMs: 20,
    ...options,
  });
  const mcp = createServerAMcp({
    client: b,
    ledger: createMemoryLedger(options.maxStored ?? 100),
    version: "0.0.0-test",
  });
  const client = new Client({ name: "tools-test", version: "0.0.0" });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.connect(serverSide);
  await client.connect(clientSide);
  const call = async (
    name: string,
    args: Record<string, unknown> = {},
    options?: Parameters<Client["callTool"]>[1],
  ) => (await client.callTool({ name, arguments: args }, options)) as ToolAnswer;
  return {
    client,
    call,
    async [Symbol.asyncDispose]() {
      await client.close();
      await mcp.close();
      b.close();
    },
  };
}

const text = (answer: ToolAnswer) => answer.content.map((c) => c.text ?? "").join("");

Deno.test("createServerAMcp() is messenger-server with three described tools", async () => {
  await using m = await connectMessenger(`http://127.0.0.1:${freePort()}`);
  assertEquals(m.client.getServerVersion()?.name, SERVER_A_MCP_NAME);
  const { tools } = (await m.client.listTools()) as { tools: ListedTool[] };
  assertEquals(tools.map((t) => t.name).sort(), [
    "get_ai_usage_stats",
    "get_conversation_history",
    "send_message_to_ai",
  ]);
  const send = tools.find((t) => t.name === "send_message_to_ai")!;
  assert(send.description);
  assertEquals(send.inputSchema.required, ["message"]);
  assertEquals(Object.keys(send.inputSchema.properties ?? {}).sort(), [
    "context",
    "max_tokens",
    "message",
    "model",
    "temperature",
  ]);
});

Deno.test("send_message_to_ai answers through a real Server B, and history and stats follow", async () => {
  await using serverB = await startTestServerB();
  await using m = await connectMessenger(serverB.url);
  const answer = await m.call("send_message_to_ai", {
    message: "What is Python?",
    context: "Be brief",
    max_tokens: 50,
  });
  assert(!answer.isError, text(answer));
  const result = ProcessResponse.parse(answer.structuredContent);
  assertEquals(text(answer), result.aiResponse);
  assertMatch(result.aiResponse, /^\[MOCK RESPONSE #1\] You said: 'What is Python\?'/);
  assertEquals(result.model, "mock-model");
  assertEquals((await serverB.service.ledger.stats()).totalRequests, 1);

  const history = (await m.call("get_conversation_history")).structuredContent!;
  assertEquals(history.totalMessages, 1);
  assertEquals(history.totalAIResponses, 1);
  const [entry] = history.messages as Record<string, unknown>[];
  assertEquals(entry!.messageId, result.messageId);
  assertEquals(entry!.message, "What is Python?");
  assertEquals(entry!.context, "Be brief");
  assertEquals(entry!.aiResponse, result.aiResponse);
  assertEquals(entry!.usage, result.usage);

  const stats = (await m.call("get_ai_usage_stats")).structuredContent!;
  assertEquals(stats.serverBUrl, serverB.url);
  assertEquals(stats.totalRequests, 1);
  assertEquals(stats.failedRequests, 0);
  assertEquals(stats.totalTokens, result.usage.totalTokens);
  assertEquals(stats.estimatedTotalCost, result.estimatedCost);
  assert((stats.averageResponseTime as number) > 0);
  assertEquals(
    (stats.models as Record<string, { requests: number }>)["mock-model"]!.requests,
    1,
  );
});

Deno.test("send_message_to_ai streams the answer as progress notifications when asked", async () => {
  await using serverB = await startTestServerB();
  await using m = await connectMessenger(serverB.url);
  const progress: Progress[] = [];
  const answer = await m.call("send_message_to_ai", { message: "Tell me a joke" }, {
    onprogress: (p: Progress) => progress.push(p),
  });
  assert(!answer.isError, text(answer));
  const result = ProcessResponse.parse(answer.structuredContent);
  assert(progress.length > 3, `only ${progress.length} progress notifications`);
  assertEquals(progress.map((p) => p.message).join(""), result.aiResponse);
  assertEquals(progress.map((p) => p.progress), progress.map((_, i) => i + 1));
});

Deno.test("send_message_to_ai rejects bad arguments before any call to Server B", async (t) => {
  await using fake = await startFakeB(() => Response.json(answerFor("x")));
  await using m = await connectMessenger(fake.url);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["missing message", {}, /message/],
    ["empty message", { message: "" }, /message/],
    ["message not a string", { message: 42 }, /message/],
    ["temperature out of range", { message: "x", temperature: 7 }, /temperature/],
    ["temperature not a number", { message: "x", temperature: "hot" }, /temperature/],
    ["max_tokens not an integer", { message: "x", max_tokens: 1.5 }, /max_tokens/],
    ["context not a string", { message: "x", context: ["a"] }, /context/],
  ];
  for (const [name, args, pattern] of cases) {
    await t.step(name, async () => {
      const answer = await m.call("send_message_to_ai", args);
      assertEquals(answer.isError, true);
      assertMatch(text(answer), pattern);
    });
  }
  assertEquals(fake.requests.length, 0);
  assertEquals((await m.call("get_ai_usage_stats")).structuredContent!.totalRequests, 0);
});

Deno.test("send_message_to_ai with Server B down answers isError naming the URL, promptly", async () => {
  const url = `http://127.0.0.1:${freePort()}`;
  await using m = await connectMessenger(url);
  const answer = await m.call("send_message_to_ai", { message: "Hello?" });
  assertEquals(answer.isError, true);
  assertEquals(text(answer), `Server B at ${url} refused the connection after 3 attempts`);
  const stats = (await m.call("get_ai_usage_stats")).structuredContent!;
  assertEquals(stats.totalRequests, 1);
  assertEquals(stats.failedRequests, 1);
  const history = (await m.call("get_conversation_history")).structuredContent!;
  const [entry] = history.messages as Record<string, unknown>[];
  assertEquals(entry!.status, "error");
  assertEquals(entry!.error, text(answer));
});

Deno.test("send_message_to_ai recovers without restart when Server B goes away and comes back", async () => {
  const first = await startTestServerB();
  const port = new URL(first.url).port;
  await using m = await connectMessenger(first.url);
  try {
    assert(!(await m.call("send_message_to_ai", { message: "one" })).isError);
  } finally {
    await first.close();
  }
  const down = await m.call("send_message_to_ai", { message: "two" });
  assertEquals(down.isError, true);
  assertMatch(text(down), /refused the connection after 3 attempts/);

  await using second = await startTestServerB({ HTTP_PORT: port });
  const back = await m.call("send_message_to_ai", { message: "three" });
  assert(!back.isError, text(back));
  assertMatch(text(back), /You said: 'three'/);
  assertEquals((await second.service.ledger.stats()).totalRequests, 1);
  const stats = (await m.call("get_ai_usage_stats")).structuredContent!;
  assertEquals([stats.successfulRequests, stats.failedRequests], [2, 1]);
});

Deno.test("send_message_to_ai with a slow Server B ends in a timeout result, not a hang", async () => {
  const release = Promise.withResolvers<void>();
  await using fake = await startFakeB(async () => {
    await release.promise;
    return Response.json(answerFor("x"));
  });
  await using m = await connectMessenger(fake.url, { timeoutMs: 300 });
  try {
    const answer = await m.call("send_message_to_ai", { message: "x" });
    assertEquals(answer.isError, true);
    assertEquals(text(answer), `Server B at ${fake.url} did not answer POST /process within 0.3s`);
  } finally {
    release.resolve();
  }
});

Deno.test("send_message_to_ai cancelled by the client aborts the request to Server B", async () => {
  await using fake = await startSilentFakeB();
  await using m = await connectMessenger(fake.url);
  const controller = new AbortController();
  const pending = m.call("send_message_to_ai", { message: "x" }, {
    signal: controller.signal,
    onprogress: () => {},
  }).catch((error) => error);
  await fake.arrived;
  controller.abort(new Error("user pressed stop"));
  await fake.disconnected;
  assertMatch(String(await pending), /user pressed stop/);
  assertEquals(fake.requests[0]!.path, "/stream");
});

Deno.test("get_conversation_history keeps the newest messages and exact totals", async () => {
  await using serverB = await startTestServerB();
  await using m = await connectMessenger(serverB.url, { maxStored: 2 });
  for (const message of ["a", "b", "c"]) {
    assert(!(await m.call("send_message_to_ai", { message })).isError);
  }
  const history = (await m.call("get_conversation_history")).structuredContent!;
  assertEquals(history.totalMessages, 3);
  assertEquals(history.kept, 2);
  assertEquals((history.messages as { message: string }[]).map((e) => e.message), ["b", "c"]);
  const limited = (await m.call("get_conversation_history", { limit: 1 })).structuredContent!;
  assertEquals((limited.messages as { message: string }[]).map((e) => e.message), ["c"]);
  const bad = await m.call("get_conversation_history", { limit: 0 });
  assertEquals(bad.isError, true);
});
