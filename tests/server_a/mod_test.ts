import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, RUN_ARGS, startTestServerB, tempDirSync, testConfig } from "../_helpers.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { startHttpServerA, type ToolAnswer } from "./_server_a.ts";
import { answerFor, freePort, startFakeB } from "./_fake_b.ts";
import { startFakeOpenAI } from "../fakes/openai_server.ts";

const text = (answer: ToolAnswer) => answer.content.map((c) => c.text ?? "").join("");

async function callTool(client: Client, name: string, args: Record<string, unknown> = {}) {
  return (await client.callTool({ name, arguments: args })) as ToolAnswer;
}

async function toolNames(client: Client): Promise<string[]> {
  const { tools } = (await client.listTools()) as { tools: { name: string }[] };
  return tools.map((t) => t.name).sort();
}

const TOOLS = ["get_ai_usage_stats", "get_conversation_history", "send_message_to_ai"];

Deno.test("startServerA() over HTTP lists its tools while Server B is down, then recovers when B starts", async () => {
  const port = freePort();
  const serverBUrl = `http://127.0.0.1:${port}`;
  await using serverA = await startHttpServerA({ SERVER_B_URL: serverBUrl });
  const client = new Client({ name: "mod-test", version: "0.0.0" });
  await client.connect(new StreamableHTTPClientTransport(serverA.mcpUrl));
  try {
    assertEquals(await toolNames(client), TOOLS);
    const down = await callTool(client, "send_message_to_ai", { message: "anyone there?" });
    assertEquals(down.isError, true);
    assertEquals(text(down), `Server B at ${serverBUrl} refused the connection after 3 attempts`);

    await using serverB = await startTestServerB({ HTTP_PORT: String(port) });
    const up = await callTool(client, "send_message_to_ai", { message: "now?" });
    assert(!up.isError, text(up));
    assertMatch(text(up), /You said: 'now\?'/);
    assertEquals((await serverB.service.ledger.stats()).totalRequests, 1);
  } finally {
    await client.close();
  }
});

Deno.test("startServerA() never forwards the MCP client's Authorization header to Server B", async () => {
  await using fake = await startFakeB((_req, n) => Response.json(answerFor("x", n)));
  await using serverA = await startHttpServerA({ SERVER_B_URL: fake.url });
  const client = new Client({ name: "mod-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(serverA.mcpUrl, {
      requestInit: { headers: { authorization: "Bearer client-own-secret" } },
    }),
  );
  try {
    const answer = await callTool(client, "send_message_to_ai", { message: "x" });
    assert(!answer.isError, text(answer));
    assertEquals(fake.requests.length, 1);
    assertEquals(fake.requests[0]!.headers.get("authorization"), null);
  } finally {
    await client.close();
  }
});

/** Server A as a child process over stdio, the way Claude Desktop spawns it. */
function stdioTransport(serverBUrl: string) {
  return new StdioClientTransport({
    command: Deno.execPath(),
    args: [...RUN_ARGS, "server-a"],
    env: { ...baseEnv(), SERVER_B_URL: serverBUrl, RETRY_ATTEMPTS: "2" },
    cwd: tempDirSync(),
    stderr: "ignore",
  });
}

Deno.test("mcpcomm server-a over stdio carries a message to Server B and back", async () => {
  await using serverB = await startTestServerB();
  const client = new Client({ name: "mod-test-stdio", version: "0.0.0" });
  await client.connect(stdioTransport(serverB.url));
  try {
    assertEquals(await toolNames(client), TOOLS);
    const answer = await callTool(client, "send_message_to_ai", { message: "Over stdio?" });
    assert(!answer.isError, text(answer));
    assertMatch(text(answer), /You said: 'Over stdio\?'/);
    assertEquals((await serverB.service.ledger.recent()).map((e) => e.message), ["Over stdio?"]);
  } finally {
    await client.close();
  }
});

Deno.test("mcpcomm server-a over stdio starts with Server B down and answers isError, bounded", async () => {
  const serverBUrl = `http://127.0.0.1:${freePort()}`;
  const client = new Client({ name: "mod-test-stdio", version: "0.0.0" });
  await client.connect(stdioTransport(serverBUrl));
  try {
    assertEquals(await toolNames(client), TOOLS);
    const answer = await callTool(client, "send_message_to_ai", { message: "x" });
    assertEquals(answer.isError, true);
    assertEquals(text(answer), `Server B at ${serverBUrl} refused the connection after 2 attempts`);
  } finally {
    await client.close();
  }
});

Deno.test("mcpcomm server-a over stdio writes only JSON-RPC to stdout and exits when stdin closes", async () => {
  const serverBUrl = `http://127.0.0.1:${freePort()}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_ARGS, "server-a"],
    env: { ...baseEnv(), SERVER_B_URL: serverBUrl, LOG_LEVEL: "debug" },
    clearEnv: true,
    cwd: tempDirSync(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const requests = [
    {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "raw", version: "0" },
      },
    },
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
    {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "send_message_to_ai", arguments: { message: "x" } },
    },
  ];
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(requests.map((r) => JSON.stringify(r) + "\n").join("")),
  );
  const lines: string[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  const reader = child.stdout.getReader();
  while (!lines.some((line) => line.includes('"id":3'))) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    lines.push(...parts);
  }
  await writer.close();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    lines.push(...decoder.decode(value).split("\n").filter(Boolean));
  }
  const status = await child.status;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  assertEquals(status.code, 0, stderr);
  const messages = lines.map((line) => JSON.parse(line));
  assertEquals(messages.map((m) => [m.jsonrpc, m.id]), [["2.0", 1], ["2.0", 2], ["2.0", 3]]);
  assertEquals(messages[2].result.isError, true);
  assertMatch(stderr, /"msg":"Server B request failed"/);
  assertMatch(stderr, /"msg":"Server A stopped","reason":"stdin closed"/);
});

Deno.test("startServerA() reaches Server B through fetch when a proxy variable is passed on", async (t) => {
  for (
    const [childEnv, viaFetch] of [[{}, false], [
      { HTTPS_PROXY: "http://proxy:3128" },
      true,
    ]] as const
  ) {
    await t.step(`childEnv ${JSON.stringify(childEnv)}`, async () => {
      await using b = await startFakeB((_req, n, seen) =>
        Response.json(answerFor(JSON.parse(seen.body).message, n))
      );
      const controller = new AbortController();
      const serverA = await startServerA(
        testConfig({ SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" }),
        { transport: "http", signal: controller.signal, childEnv },
      );
      try {
        await serverA.client.process({ message: "via" });
        const agent = b.requests[0]!.headers.get("user-agent") ?? "";
        assertEquals(agent.startsWith("Deno/"), viaFetch, `user-agent ${agent}`);
      } finally {
        controller.abort();
        await serverA.finished;
      }
    });
  }
});

const OPENAI_KEY = "sk-test-key-0123456789abcdef";

/**
 * MCP client -> Server A -> Server B -> the fake OpenAI, all over HTTP, with RETRY_ATTEMPTS 3 on
 * both servers; Server B holds `key` (the fake accepts only OPENAI_KEY).
 */
async function throughServerA(key = OPENAI_KEY) {
  const stack = new AsyncDisposableStack();
  try {
    const fake = stack.use(await startFakeOpenAI({ apiKey: OPENAI_KEY }));
    const serverB = stack.use(
      await startTestServerB({
        AI_PROVIDER: "openai",
        OPENAI_API_KEY: key,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        RETRY_ATTEMPTS: "3",
        TIMEOUT_SECONDS: "10",
      }),
    );
    const serverA = stack.use(
      await startHttpServerA({
        SERVER_B_URL: serverB.url,
        MCPCOMM_DB: ":memory:",
        RETRY_ATTEMPTS: "3",
        TIMEOUT_SECONDS: "10",
      }),
    );
    const client = new Client({ name: "retry-layers", version: "0.0.0" });
    await client.connect(new StreamableHTTPClientTransport(serverA.mcpUrl));
    stack.defer(() => client.close());
    const send = async (message: string, stream: boolean) =>
      (await client.callTool(
        { name: "send_message_to_ai", arguments: { message } },
        undefined,
        stream ? { onprogress: () => {} } : undefined,
      )) as ToolAnswer;
    return { fake, serverB, send, [Symbol.asyncDispose]: () => stack.disposeAsync() };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

Deno.test("send_message_to_ai retries a failing provider in one layer: Server B's", async (t) => {
  await using rig = await throughServerA();
  for (const stream of [false, true]) {
    const path = stream ? "/stream" : "/process";
    await t.step(`provider 503 always: 3 provider calls, not 9 (${path})`, async () => {
      const before = rig.fake.calls.length;
      rig.fake.plan(...Array.from({ length: 9 }, () => ({ status: 503 })));
      const answer = await rig.send("still there?", stream);
      assertEquals(answer.isError, true);
      assertMatch(text(answer), /HTTP 502 \(provider_unavailable: /);
      assertEquals(rig.fake.calls.length - before, 3);
    });
  }
});

Deno.test("send_message_to_ai does not retry a provider_auth failure anywhere", async (t) => {
  await using rig = await throughServerA("sk-wrong-key-0123456789abcdef");
  for (const stream of [false, true]) {
    await t.step(stream ? "/stream" : "/process", async () => {
      const before = rig.fake.calls.length;
      const answer = await rig.send("let me in", stream);
      assertEquals(answer.isError, true);
      assertMatch(text(answer), /HTTP 502 \(provider_auth: /);
      assertEquals(rig.fake.calls.length - before, 1);
    });
  }
});

Deno.test("send_message_to_ai retries Server B's own overload (503), with one provider call", async (t) => {
  await using rig = await throughServerA();
  const ledger = rig.serverB.service.ledger;
  const problem = ledger.problem.bind(ledger);
  try {
    for (const stream of [false, true]) {
      await t.step(stream ? "/stream" : "/process", async () => {
        const before = rig.fake.calls.length;
        let refusals = 1;
        ledger.problem = () => refusals-- > 0 ? "the disk is full" : problem();
        const answer = await rig.send("busy?", stream);
        assert(!answer.isError, text(answer));
        assertEquals(refusals, -1, "Server B was asked twice");
        assertEquals(rig.fake.calls.length - before, 1);
      });
    }
  } finally {
    ledger.problem = problem;
  }
});
