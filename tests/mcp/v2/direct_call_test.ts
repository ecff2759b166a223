/**
 * Direct answers on the SDK v2 handler: which 2025-era calls are answered as one JSON response,
 * and cancellation of such a call by `notifications/cancelled`.
 * @module
 */
import { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { createLogger } from "../../../src/log.ts";
import { directCallOf } from "../../../src/mcp/v2/direct_call.ts";
import { createMcpHttpHandler } from "../../../src/mcp/v2/http.ts";
import { defineTool, jsonResult } from "../../../src/mcp/v2/tools.ts";
import { assert, assertEquals, assertMatch } from "../../_assert.ts";
import { testConfig } from "../../_helpers.ts";

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
