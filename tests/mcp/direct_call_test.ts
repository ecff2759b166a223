import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { readSse } from "../_helpers.ts";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { openSession, postMcp, startMcpHttp } from "./_harness.ts";

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
    }, ({ text }, extra) => jsonResult({ text, requestId: extra.requestId }, text));
    defineTool(mcp, "q_fail", {
      description: "Throws",
      quiet: true,
    }, () => {
      throw new Error("q_fail broke on purpose");
    });
    defineTool(mcp, "q_hold", {
      description: "Waits until aborted",
      quiet: true,
    }, async (_args, extra) => {
      const state = seen();
      state.started.resolve();
      await new Promise<void>((resolve) => {
        if (extra.signal.aborted) resolve();
        extra.signal.addEventListener("abort", () => resolve(), { once: true });
      });
      state.aborted.resolve(String((extra.signal.reason as Error)?.message));
      return jsonResult({ ended: true });
    });
  };
}

function call(id: number, name: string, args: Record<string, unknown> = {}, meta?: object) {
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
      const response = await postMcp(server.url, call(7, "q_echo", { text: "hi" }), headers);
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
        call(8, "q_echo", { text: "hi" }, { progressToken: "p1" }),
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
    const response = await postMcp(server.url, call(9, "echo", { text: "x" }), headers);
    assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    await response.body?.cancel();
  });

  await t.step(
    "bad arguments and a throwing tool answer exactly as the SDK path does",
    async () => {
      for (const [name, args] of [["q_echo", { text: 5 }], ["q_fail", {}]] as const) {
        const direct = await (await postMcp(server.url, call(10, name, args), headers)).json();
        const viaSdk = (await readSse(
          await postMcp(server.url, call(10, name, args, { progressToken: "p" }), headers),
        )).filter((e) => e.data).map((e) => JSON.parse(e.data)).find((m) => m.id === 10);
        assertEquals(direct.result.isError, true, JSON.stringify(direct));
        assertEquals(direct, viaSdk);
      }
    },
  );

  await t.step("notifications/cancelled aborts the call, which answers as cancelled", async () => {
    seen = freshSeen();
    const pending = postMcp(server.url, call(11, "q_hold"), headers);
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
      body: JSON.stringify(call(12, "q_hold")),
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
    const pending = postMcp(server.url, call(13, "q_hold"), otherHeaders);
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
  const response = await postMcp(server.url, call(1, "q_echo", { text: "sse" }), {
    ...PROTOCOL,
    "mcp-session-id": sid,
  });
  assertMatch(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const answer = (await readSse(response)).filter((e) => e.data).map((e) => JSON.parse(e.data))
    .find((m) => m.id === 1);
  assertEquals(answer.result.content[0].text, "sse");
});
