/**
 * MCP over stdio (`serveMcpStdio`): a 2025-era connection's quiet calls answered directly, with the
 * SDK's results, notifications and cancellation; 2026-07-28 connections and other calls through
 * the SDK. Over the SDK's in-memory transport pair, with real v2 clients.
 * @module
 */
import { Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { serveMcpStdio } from "../../src/mcp/stdio.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { assert, assertEquals } from "../_assert.ts";

const DIRECT_REFUSAL = "A quiet tool cannot request sampling";

/** Quiet tools: `echo`, `sample` (asks the client for sampling), `wait` (until cancelled). */
function createServer(waiting?: (label: string) => void, aborted?: () => void): McpServer {
  const mcp = new McpServer({ name: "stdio-test", version: "1.0.0" }, {
    capabilities: { tools: {}, logging: {} },
  });
  defineTool(mcp, "echo", {
    description: "Echo",
    inputSchema: { text: z.string() },
    quiet: true,
  }, async ({ text }, ctx) => {
    await ctx.mcpReq.log("info", `echo ${text}`);
    return jsonResult({ text }, text);
  });
  defineTool(mcp, "sample", { description: "Asks for sampling", quiet: true }, async (_, ctx) => {
    try {
      await ctx.mcpReq.requestSampling({ messages: [], maxTokens: 1 });
      return jsonResult({ sampled: true });
    } catch (error) {
      return jsonResult({ refused: error instanceof Error ? error.message : String(error) });
    }
  });
  defineTool(mcp, "wait", {
    description: "Waits until cancelled",
    inputSchema: { label: z.string() },
    quiet: true,
  }, ({ label }, ctx) => {
    waiting?.(label);
    return new Promise((resolve) =>
      ctx.mcpReq.signal.addEventListener("abort", () => {
        aborted?.();
        resolve(jsonResult({ label }));
      })
    );
  });
  return mcp;
}

async function connect(
  directCalls: boolean,
  options: { modern?: boolean; waiting?: (label: string) => void; aborted?: () => void } = {},
) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const served = serveMcpStdio(() => createServer(options.waiting, options.aborted), {
    directCalls,
    transport: serverSide,
  });
  const client = new Client(
    { name: "stdio-test", version: "0" },
    options.modern ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  const logs: unknown[] = [];
  client.setNotificationHandler("notifications/message", (n) => void logs.push(n.params.data));
  await client.connect(clientSide);
  return {
    client,
    logs,
    async [Symbol.asyncDispose]() {
      await client.close();
      await served.close();
    },
  };
}

const text = (result: { content?: unknown }) =>
  ((result.content as { type: string; text: string }[])[0]!).text;

Deno.test("serveMcpStdio() answers a 2025-era quiet call directly, as the SDK would", async () => {
  const answers = [];
  for (const directCalls of [true, false]) {
    await using connection = await connect(directCalls);
    assertEquals(connection.client.getProtocolEra(), "legacy");
    const result = await connection.client.callTool({ name: "echo", arguments: { text: "hi" } });
    answers.push(result);
    assertEquals(connection.logs, ["echo hi"], `notifications, directCalls ${directCalls}`);
    const invalid = await connection.client.callTool({ name: "echo", arguments: { text: 1 } });
    assertEquals(invalid.isError, true);
    answers.push(invalid);
  }
  assertEquals(answers[0], answers[2]);
  assertEquals(answers[1], answers[3]);
});

Deno.test("serveMcpStdio() runs quiet calls itself only with directCalls, and only in the 2025 era", async () => {
  const refusal = async (directCalls: boolean, modern = false) => {
    await using connection = await connect(directCalls, { modern });
    return text(await connection.client.callTool({ name: "sample", arguments: {} }));
  };
  assert((await refusal(true)).includes(DIRECT_REFUSAL));
  assert(!(await refusal(false)).includes(DIRECT_REFUSAL), "without directCalls the SDK runs it");
  assert(!(await refusal(true, true)).includes(DIRECT_REFUSAL), "2026-07-28 goes to the SDK");
});

Deno.test("serveMcpStdio(): a cancelled direct call is aborted and answers nothing", async () => {
  const started = Promise.withResolvers<string>();
  const aborted = Promise.withResolvers<void>();
  await using connection = await connect(true, {
    waiting: started.resolve,
    aborted: aborted.resolve,
  });
  const controller = new AbortController();
  const call = connection.client.callTool({ name: "wait", arguments: { label: "a" } }, {
    signal: controller.signal,
  });
  assertEquals(await started.promise, "a");
  controller.abort(new Error("enough"));
  const outcome = await call.then(() => "answered", (error) => String(error));
  assert(outcome.includes("enough"), outcome);
  await aborted.promise;
  const after = await connection.client.callTool({ name: "echo", arguments: { text: "next" } });
  assertEquals(text(after), "next");
});
