/**
 * Direct answers on the SDK v2 handler: which 2025-era calls are answered as one JSON response,
 * and their cancellation (`notifications/cancelled`, a dropped connection, the session's end),
 * raw and through a v1 SDK client.
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { createLogger } from "../../src/core/log.ts";
import { directCallOf } from "../../src/mcp/_direct_call.ts";
import { createMcpHttpHandler } from "../../src/mcp/http.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { readSse, testConfig } from "../_helpers.ts";
import { openSession, postMcp, startMcpHttp } from "./_harness.ts";

const URL_MCP = "http://127.0.0.1:8000/mcp";
const HEADERS = {
  accept: "application/json, text/event-stream",
  "content-type": "application/json",
  host: "127.0.0.1:8000",
};
const waitShape = { label: z.string() };

/** A server with a quiet tool that waits until cancelled, and a tool that is not quiet. */
function createServer(started: (label: string) => void): McpServer {
  const mcp = new McpServer({ name: "direct-test", version: "1.0.0" }, {
    capabilities: { tools: { listChanged: false } },
  });
  defineTool(mcp, "wait", { description: "Waits", inputSchema: waitShape, quiet: true }, (
    { label },
    ctx,
  ) => {
    started(label);
    return new Promise((resolve) =>
      ctx.mcpReq.signal.addEventListener("abort", () => resolve(jsonResult({ label })))
    );
  });
  defineTool(mcp, "loud", { description: "Not quiet" }, () => jsonResult({ loud: true }));
  return mcp;
}

const call = (id: number, name: string, meta?: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: { label: "x" }, ...(meta ? { _meta: meta } : {}) },
});

Deno.test("directCallOf() takes quiet tools without a progress token only", () => {
  const mcp = createServer(() => {});
  assertEquals(directCallOf(mcp, call(1, "wait"))?.call.id, 1);
  assertEquals(directCallOf(mcp, call(1, "wait", { progressToken: 1 })), undefined);
  assertEquals(directCallOf(mcp, call(1, "loud")), undefined);
  assertEquals(directCallOf(mcp, call(1, "nope")), undefined);
  assertEquals(directCallOf(mcp, { ...call(1, "wait"), jsonrpc: "1.0" }), undefined);
});

Deno.test("a directly answered call is cancelled by notifications/cancelled", async () => {
  const started = Promise.withResolvers<string>();
  await using mcp = Object.assign(
    createMcpHttpHandler({
      createServer: () => createServer(started.resolve),
      config: testConfig(),
      bindHost: "127.0.0.1",
      log: createLogger("direct-test"),
      directCalls: true,
    }),
    { [Symbol.asyncDispose]: () => mcp.close() },
  );
  const post = (body: unknown, session?: string) =>
    mcp.handle(
      new Request(URL_MCP, {
        method: "POST",
        headers: {
          ...HEADERS,
          ...(session ? { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" } : {}),
        },
        body: JSON.stringify(body),
      }),
    );
  const init = (await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    },
  }))!;
  const session = init.headers.get("mcp-session-id")!;
  await init.body?.cancel();
  assert(session);
  const answer = post(call(7, "wait"), session);
  assertEquals(await started.promise, "x");
  const cancelled = (await post({
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: 7, reason: "test" },
  }, session))!;
  await cancelled.body?.cancel();
  const response = (await answer)!;
  assertMatch(response.headers.get("content-type") ?? "", /application\/json/);
  const body = await response.json();
  assertEquals(body.id, 7);
  assertEquals(body.error?.message, "Request was cancelled");
});

const PROTOCOL = { "mcp-protocol-version": "2025-11-25" };

interface Seen {
  started: PromiseWithResolvers<void>;
  aborted: PromiseWithResolvers<string>;
}

/** Quiet tools: `q_echo`, `q_fail` (throws), `q_hold` (waits for its signal, reports why). */
function quietTools(seen: () => Seen) {
  return (mcp: McpServer) => {
    defineTool(mcp, "q_echo", {
      description: "Echo, answered directly",
      inputSchema: { text: z.string().min(1) },
      quiet: true,
    }, ({ text }, ctx) => jsonResult({ text, requestId: ctx.mcpReq.id }, text));
    defineTool(mcp, "q_fail", {
      description: "Throws",
      quiet: true,
    }, () => {
      throw new Error("q_fail broke on purpose");
    });
    defineTool(mcp, "q_hold", {
      description: "Waits until aborted",
      quiet: true,
    }, async (_args, ctx) => {
      const state = seen();
      const signal = ctx.mcpReq.signal;
      state.started.resolve();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
      state.aborted.resolve(String((signal.reason as Error)?.message));
      return jsonResult({ ended: true });
    });
  };
}

function toolsCall(id: number, name: string, args: Record<string, unknown> = {}, meta?: object) {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  };
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

function freshSeen(): Seen {
  return { started: Promise.withResolvers(), aborted: Promise.withResolvers() };
}

Deno.test("createMcpHttpHandler() answers a quiet tool's call as one JSON response", async (t) => {
  let seen = freshSeen();
  await using server = await startMcpHttp({}, { tools: quietTools(() => seen) });
  const sid = await openSession(server.url);
  const headers = { ...PROTOCOL, "mcp-session-id": sid };

  await t.step(
    "a call without a progress token gets application/json with its result",
    async () => {
      const response = await postMcp(server.url, toolsCall(7, "q_echo", { text: "hi" }), headers);
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "application/json");
      assertEquals(response.headers.get("mcp-session-id"), sid);
      const body = await response.json();
      assertEquals(body.jsonrpc, "2.0");
      assertEquals(body.id, 7);
      assertEquals(body.result.content[0].text, "hi");
      assertEquals(body.result.structuredContent, { text: "hi", requestId: 7 });
    },
  );

  await t.step(
    "the same call with a progress token goes through the SDK's SSE stream",
    async () => {
      const response = await postMcp(
        server.url,
        toolsCall(8, "q_echo", { text: "hi" }, { progressToken: "p1" }),
        headers,
      );
      assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
      const events = (await readSse(response)).filter((e) => e.data);
      const answer = JSON.parse(events.at(-1)!.data);
      assertEquals(answer.id, 8);
      assertEquals(answer.result.content[0].text, "hi");
    },
  );

  await t.step("a tool that is not quiet goes through the SDK's SSE stream", async () => {
    const response = await postMcp(server.url, toolsCall(9, "echo", { text: "x" }), headers);
    assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    await response.body?.cancel();
  });

  await t.step(
    "bad arguments and a throwing tool answer exactly as the SDK path does",
    async () => {
      for (const [name, args] of [["q_echo", { text: 5 }], ["q_fail", {}]] as const) {
        const direct = await (await postMcp(server.url, toolsCall(10, name, args), headers)).json();
        const viaSdk = (await readSse(
          await postMcp(server.url, toolsCall(10, name, args, { progressToken: "p" }), headers),
        )).filter((e) => e.data).map((e) => JSON.parse(e.data)).find((m) => m.id === 10);
        assertEquals(direct.result.isError, true, JSON.stringify(direct));
        assertEquals(direct, viaSdk);
      }
    },
  );

  await t.step("notifications/cancelled aborts the call, which answers as cancelled", async () => {
    seen = freshSeen();
    const pending = postMcp(server.url, toolsCall(11, "q_hold"), headers);
    await seen.started.promise;
    const cancel = await postMcp(server.url, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 11, reason: "test" },
    }, headers);
    assertEquals(cancel.status, 202);
    assertEquals(await seen.aborted.promise, "cancelled by the client");
    const body = await (await pending).json();
    assertEquals(body.id, 11);
    assertMatch(body.error.message, /Request was cancelled/);
  });

  await t.step("a client that drops the connection aborts the call", async () => {
    seen = freshSeen();
    const controller = new AbortController();
    const pending = fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(toolsCall(12, "q_hold")),
      signal: controller.signal,
    }).catch((error) => error);
    await seen.started.promise;
    controller.abort();
    assertEquals(await seen.aborted.promise, "client disconnected");
    assert((await pending) instanceof Error);
  });

  await t.step("ending the session with DELETE aborts its direct calls", async () => {
    seen = freshSeen();
    const other = await openSession(server.url);
    const otherHeaders = { ...PROTOCOL, "mcp-session-id": other };
    const pending = postMcp(server.url, toolsCall(13, "q_hold"), otherHeaders);
    await seen.started.promise;
    const ended = await fetch(`${server.url}/mcp`, { method: "DELETE", headers: otherHeaders });
    assertEquals(ended.status, 200);
    assertEquals(await seen.aborted.promise, "the MCP session ended");
    const body = await (await pending).json();
    assertMatch(body.error.message, /Request was cancelled/);
  });

  await t.step("a real SDK client gets the same answers through the direct path", async () => {
    const client = await connect(server.url);
    const answer = await client.callTool({ name: "q_echo", arguments: { text: "sdk" } });
    assertEquals((answer.content as { text: string }[])[0]?.text, "sdk");
    const failed = await client.callTool({ name: "q_fail", arguments: {} });
    assertEquals(failed.isError, true);
    seen = freshSeen();
    const controller = new AbortController();
    const held = client.callTool({ name: "q_hold", arguments: {} }, undefined, {
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await seen.started.promise;
    controller.abort("the user gave up");
    assertEquals(await seen.aborted.promise, "cancelled by the client");
    assert((await held) instanceof Error);
    const after = await client.callTool({ name: "q_echo", arguments: { text: "again" } });
    assertEquals((after.content as { text: string }[])[0]?.text, "again");
    await client.close();
  });
});

Deno.test("createMcpHttpHandler() with MCP_DIRECT_CALLS=false answers every call over SSE", async () => {
  let seen = freshSeen();
  await using server = await startMcpHttp({ MCP_DIRECT_CALLS: "false" }, {
    tools: quietTools(() => seen),
  });
  seen = freshSeen();
  const sid = await openSession(server.url);
  const response = await postMcp(server.url, toolsCall(1, "q_echo", { text: "sse" }), {
    ...PROTOCOL,
    "mcp-session-id": sid,
  });
  assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const answer = (await readSse(response)).filter((e) => e.data).map((e) => JSON.parse(e.data))
    .find((m) => m.id === 1);
  assertEquals(answer.result.content[0].text, "sse");
});
