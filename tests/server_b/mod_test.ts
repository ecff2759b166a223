import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import {
  ConfigResponse,
  HealthResponse,
  ModelsResponse,
  ProcessResponse,
  StreamDelta,
} from "../../src/wire.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { baseEnv, postJson, readSse, RUN_ARGS, runCli, tempDirSync } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";

Deno.test("mcpcomm server-b answers every curl recipe of the seed on the mock provider", async (t) => {
  await using server = await spawnServer(["server-b", "--port", "0", "--host", "127.0.0.1"], {
    stdout: "piped",
  });
  const stdout = new Response(server.child.stdout).text();
  try {
    const url = server.url;

    await t.step("1. health", async () => {
      const health = HealthResponse.parse(await (await fetch(`${url}/health`)).json());
      assertEquals(health, {
        status: "healthy",
        server: "Server B (AI Responder)",
        provider: "mock",
        messagesProcessed: 0,
        ai: { configured: true, status: "healthy" },
      });
    });

    await t.step("2. process with the OpenAI and the Bedrock model names", async () => {
      let n = 0;
      for (const model of ["gpt-4o-mini", "claude-3.5-sonnet-v2"]) {
        const response = await postJson(`${url}/process`, {
          message: "What is Python?",
          model,
          max_tokens: 100,
        });
        assertEquals(response.status, 200);
        const answer = ProcessResponse.parse(await response.json());
        n++;
        assertEquals(
          answer.aiResponse,
          `[MOCK RESPONSE #${n}] You said: 'What is Python?'. This is a test response without calling any external API.`,
        );
        // The mock answers for any model name and says so: nothing was billed.
        assertEquals([answer.model, answer.provider, answer.estimatedCost], [
          "mock-model",
          "mock",
          0,
        ]);
      }
    });

    await t.step("4. models", async () => {
      const models = ModelsResponse.parse(await (await fetch(`${url}/models`)).json());
      assertEquals(models.provider, "mock");
      assert(models.models.includes("mock-model"));
    });

    await t.step("5. config", async () => {
      const config = ConfigResponse.parse(await (await fetch(`${url}/config`)).json());
      assertEquals(config, {
        provider: "mock",
        defaultModel: "mock-model",
        temperature: 0.7,
        maxTokens: 1000,
      });
    });

    await t.step("6. stream", async () => {
      const response = await postJson(`${url}/stream`, {
        message: "Tell me a joke",
        model: "gpt-4o-mini",
        max_tokens: 100,
      });
      const events = await readSse(response);
      assertEquals(events.at(-1)?.event, "done");
      const text = events.slice(0, -1).map((e) => StreamDelta.parse(JSON.parse(e.data)).text);
      const done = ProcessResponse.parse(JSON.parse(events.at(-1)!.data));
      assertEquals(text.join(""), done.aiResponse);
      assertMatch(done.aiResponse, /^\[MOCK RESPONSE #3\] You said: 'Tell me a joke'\./);
    });
  } finally {
    const status = await server.stop();
    assertEquals(status.code, 0, server.lines.join("\n"));
    assertEquals(await stdout, "", "Server B wrote to stdout");
  }
});

function resultText(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

Deno.test("mcpcomm server-b --mcp stdio serves the tools over stdio and HTTP in one process", async (t) => {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [...RUN_ARGS, "server-b", "--mcp", "stdio", "--port", "0", "--host", "127.0.0.1"],
    env: { ...baseEnv(), NO_COLOR: "1" },
    cwd: tempDirSync(),
    stderr: "pipe",
  });
  const protocolErrors: unknown[] = [];
  // A stdout line that is not a JSON-RPC message surfaces here.
  transport.onerror = (error: Error) => protocolErrors.push(error);
  const stderrStream = transport.stderr as unknown as {
    on(event: "data", fn: (chunk: Uint8Array | string) => void): void;
  };
  const stderrLines: string[] = [];
  const url = Promise.withResolvers<string>();
  let partial = "";
  stderrStream.on("data", (chunk: Uint8Array | string) => {
    partial += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const line of parts) {
      stderrLines.push(line);
      if (line.includes("Server B listening")) url.resolve(JSON.parse(line).url);
    }
  });
  const client = new Client({ name: "stdio-test", version: "1.0.0" });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    await client.callTool({ name, arguments: args }) as CallToolResult;
  try {
    assertEquals(client.getServerVersion()?.name, "ai-responder-server");

    await t.step("process_message", async () => {
      const result = await call("process_message", { message: "Hello over stdio" });
      assertEquals(result.isError, undefined);
      assertEquals(
        resultText(result),
        "[MOCK RESPONSE #1] You said: 'Hello over stdio'. This is a test response without calling any external API.",
      );
    });

    await t.step("the HTTP API of the same process sees it", async () => {
      const base = await url.promise;
      const answer = ProcessResponse.parse(
        await (await postJson(`${base}/process`, { message: "Hello over HTTP" })).json(),
      );
      assertMatch(answer.aiResponse, /^\[MOCK RESPONSE #2\]/);
      const health = HealthResponse.parse(await (await fetch(`${base}/health`)).json());
      assertEquals(health.messagesProcessed, 2);
    });

    await t.step("get_received_messages with limit", async () => {
      const result = await call("get_received_messages", { limit: 1 });
      const data = result.structuredContent as {
        totalReceived: number;
        messages: { message: string }[];
      };
      assertEquals(data.totalReceived, 2);
      assertEquals(data.messages.map((m) => m.message), ["Hello over HTTP"]);
    });

    await t.step("get_ai_stats", async () => {
      const stats = (await call("get_ai_stats")).structuredContent as Record<string, unknown>;
      assertEquals([stats.provider, stats.totalRequests, stats.successfulRequests], ["mock", 2, 2]);
    });

    await t.step("configure_ai_model, and a rejected bad value", async () => {
      const ok = await call("configure_ai_model", { max_tokens: 42 });
      assertEquals(ok.isError, undefined);
      assertEquals((ok.structuredContent as { maxTokens: number }).maxTokens, 42);
      const bad = await call("configure_ai_model", { temperature: 7 });
      assertEquals(bad.isError, true);
      assertMatch(resultText(bad), /temperature/);
      const config = ConfigResponse.parse(
        await (await fetch(`${await url.promise}/config`)).json(),
      );
      assertEquals([config.maxTokens, config.temperature], [42, 0.7]);
    });
  } finally {
    await client.close();
  }
  assertEquals(protocolErrors, [], "stdout carried something other than the protocol");
  assert(stderrLines.some((l) => l.includes("MCP over stdio ready")), stderrLines.join("\n"));
  for (const line of stderrLines.filter((l) => l.startsWith("{"))) JSON.parse(line);
});

Deno.test("mcpcomm server-b --mcp stdio stops by itself when its client closes stdin", async () => {
  await using server = await spawnServer(
    ["server-b", "--mcp", "stdio", "--port", "0", "--host", "127.0.0.1"],
    { stdin: "piped", stdout: "piped", ready: "MCP over stdio ready" },
  );
  const { child } = server;
  const stdout = new Response(child.stdout).text();
  await child.stdin.close();
  const status = await child.status;
  await server.closed;
  assertEquals(status.code, 0, server.lines.join("\n"));
  assertEquals(status.signal, null);
  assertEquals(await stdout, "");
  assert(server.lines.some((l) => l.includes("stdin closed")), server.lines.join("\n"));
});

Deno.test("mcpcomm server-b --provider openai starts without a key and says why it is not configured", async () => {
  await using server = await spawnServer([
    "server-b",
    "--provider",
    "openai",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
  ]);
  try {
    const url = server.url;
    await server.waitForLine("AI provider not configured");
    const health = HealthResponse.parse(await (await fetch(`${url}/health`)).json());
    assertEquals([health.status, health.provider, health.ai.configured], [
      "healthy",
      "openai",
      false,
    ]);
    assertMatch(health.ai.reason ?? "", /OPENAI_API_KEY/);
  } finally {
    assertEquals((await server.stop()).code, 0);
  }
});

Deno.test("mcpcomm server-b refuses a real provider on an open address without a token", async (t) => {
  const env = { AI_PROVIDER: "openai", OPENAI_API_KEY: "sk-fake-key-for-tests", HTTP_PORT: "0" };
  await t.step("openai on 0.0.0.0, no token: exit 2 and one line naming the ways out", async () => {
    const { code, stderr } = await runCli(["server-b"], { env: { ...env, HTTP_HOST: "0.0.0.0" } });
    assertEquals(code, 2);
    const lines = stderr.trim().split("\n");
    assertEquals(lines.length, 1, stderr);
    for (const way of ["MCPCOMM_AUTH_TOKEN", "--auth-token", "127.0.0.1", "--insecure-no-auth"]) {
      assert(lines[0]!.includes(way), `${way} missing from: ${stderr}`);
    }
  });
  await t.step("bedrock the same", async () => {
    const { code } = await runCli(["server-b", "--provider", "bedrock", "--host", "0.0.0.0"], {
      env,
    });
    assertEquals(code, 2);
  });
  const starts: [string, string[], Record<string, string>][] = [
    ["with a token", ["--host", "0.0.0.0"], { MCPCOMM_AUTH_TOKEN: "tok-Zr8Qm2Lx9Vb4Nc7Kd1" }],
    ["with --insecure-no-auth", ["--host", "0.0.0.0", "--insecure-no-auth"], {}],
    ["with MCPCOMM_INSECURE_NO_AUTH=true", ["--host", "0.0.0.0"], {
      MCPCOMM_INSECURE_NO_AUTH: "true",
    }],
    ["on 127.0.0.1", ["--host", "127.0.0.1"], {}],
    ["the mock provider on 0.0.0.0", ["--host", "0.0.0.0", "--provider", "mock"], {}],
  ];
  for (const [name, args, extra] of starts) {
    await t.step(`starts ${name}`, async () => {
      const server = await spawnServer(["server-b", ...args], { env: { ...env, ...extra } });
      assertEquals((await server.stop()).code, 0, server.lines.join("\n"));
    });
  }
});
