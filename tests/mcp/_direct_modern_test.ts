/**
 * Direct answers to 2026-07-28 `tools/call`s of quiet tools: byte for byte the SDK's answer,
 * no per-request McpServer, and every call that is not exactly a direct one (headers disagreeing
 * with the body, a bad envelope, an unknown or loud tool, a progress token) answered by the SDK.
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { defineTool, jsonResult } from "../../src/mcp/tools.ts";
import { assert, assertEquals } from "../_assert.ts";
import { type McpHttpTestServer, postMcp, startMcpHttp } from "./_harness.ts";

const VERSION = "2026-07-28";
const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": VERSION,
  "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** Quiet tools: an echo with nested arguments, one that throws, one with its own `_meta`, one that waits. */
function quietTools(held: { started: PromiseWithResolvers<void> }) {
  return (mcp: McpServer) => {
    defineTool(mcp, "q_echo", {
      description: "Echo",
      inputSchema: { text: z.string().min(1), deep: z.object({ n: z.number() }).optional() },
      quiet: true,
    }, ({ text }) => jsonResult({ text }, text));
    defineTool(mcp, "q_fail", { description: "Throws", quiet: true }, () => {
      throw new Error("q_fail broke on purpose");
    });
    defineTool(mcp, "q_meta", { description: "Own _meta", quiet: true }, () => ({
      structuredContent: { m: 1 },
      content: [{ type: "text", text: "m" }],
      _meta: { "example.com/mine": 1 },
    }));
    defineTool(mcp, "q_region", {
      description: "Declares an Mcp-Param header",
      inputSchema: { region: z.string().meta({ "x-mcp-header": "Region" }) },
      quiet: true,
    }, ({ region }) => jsonResult({ region }));
    defineTool(mcp, "q_hold", { description: "Waits until aborted", quiet: true }, (_a, ctx) => {
      held.started.resolve();
      return new Promise((resolve) =>
        ctx.mcpReq.signal.addEventListener("abort", () => resolve(jsonResult({ ended: true })))
      );
    });
  };
}

interface Call {
  id?: unknown;
  name?: string;
  args?: unknown;
  meta?: Record<string, unknown>;
  params?: Record<string, unknown>;
  headers?: Record<string, string | undefined>;
}

/** A 2026-07-28 `tools/call` body and its headers, changed by `call`. */
function modernCall(call: Call): { body: unknown; headers: Record<string, string> } {
  const name = call.name ?? "q_echo";
  const body = {
    jsonrpc: "2.0",
    id: "id" in call ? call.id : 1,
    method: "tools/call",
    params: {
      name,
      arguments: call.args ?? { text: "hi" },
      _meta: call.meta ?? ENVELOPE,
      ...call.params,
    },
  };
  const headers: Record<string, string | undefined> = {
    "mcp-protocol-version": VERSION,
    "mcp-method": "tools/call",
    "mcp-name": name,
    ...call.headers,
  };
  return {
    body,
    headers: Object.fromEntries(
      Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined),
    ),
  };
}

async function answerOf(server: McpHttpTestServer, call: Call) {
  const { body, headers } = modernCall(call);
  const response = await postMcp(server, body, headers);
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: await response.text(),
  };
}

async function startPair() {
  const held = { started: Promise.withResolvers<void>() };
  const direct = await startMcpHttp({}, { tools: quietTools(held) });
  const sdk = await startMcpHttp({ MCP_DIRECT_CALLS: "false" }, { tools: quietTools(held) });
  return {
    direct,
    sdk,
    held,
    async [Symbol.asyncDispose]() {
      await Promise.all([direct.close(), sdk.close()]);
    },
  };
}

const EQUAL_CASES: [string, Call][] = [
  ["an echo", { args: { text: "hi", deep: { n: 1 } } }],
  ["a string request ID", { id: "abc" }],
  ["invalid arguments (a tool error)", { args: { text: "", deep: { n: "x" } } }],
  ["a throwing tool", { name: "q_fail", args: {} }],
  ["a result with its own _meta, members out of order", { name: "q_meta", args: {} }],
];

Deno.test("a quiet tool's 2026-07-28 call is answered directly, byte for byte as the SDK answers it", async (t) => {
  await using pair = await startPair();
  for (const [label, call] of EQUAL_CASES) {
    await t.step(label, async () => {
      const direct = await answerOf(pair.direct, call);
      const built = pair.direct.servers.length;
      assertEquals(await answerOf(pair.direct, call), direct);
      assertEquals(pair.direct.servers.length, built, "the direct answer built an McpServer");
      const viaSdk = await answerOf(pair.sdk, call);
      assertEquals(direct, viaSdk);
      assertEquals(direct.type, "application/json");
      assert(direct.body.includes('"resultType":"complete"'), direct.body);
    });
  }
});

Deno.test("each 2026-07-28 request after the first builds no McpServer when it is answered directly, one each with MCP_DIRECT_CALLS=false", async () => {
  await using pair = await startPair();
  await answerOf(pair.direct, {});
  await answerOf(pair.sdk, {});
  const [direct, sdk] = [pair.direct.servers.length, pair.sdk.servers.length];
  for (let i = 0; i < 3; i++) {
    assertEquals((await answerOf(pair.direct, {})).status, 200);
    assertEquals((await answerOf(pair.sdk, {})).status, 200);
  }
  assertEquals(pair.direct.servers.length - direct, 0);
  assertEquals(pair.sdk.servers.length - sdk, 3);
});

const { "io.modelcontextprotocol/clientInfo": _info, ...NO_CLIENT_INFO } = ENVELOPE;
const { "io.modelcontextprotocol/clientCapabilities": _caps, ...NO_CAPABILITIES } = ENVELOPE;

const SDK_CASES: [string, Call][] = [
  ["no MCP-Protocol-Version", { headers: { "mcp-protocol-version": undefined } }],
  ["MCP-Protocol-Version 2025-11-25", { headers: { "mcp-protocol-version": "2025-11-25" } }],
  ["MCP-Protocol-Version of a later revision", {
    headers: { "mcp-protocol-version": "2027-01-01" },
  }],
  ["no Mcp-Method", { headers: { "mcp-method": undefined } }],
  ["Mcp-Method tools/list", { headers: { "mcp-method": "tools/list" } }],
  ["no Mcp-Name", { headers: { "mcp-name": undefined } }],
  ["Mcp-Name of another tool", { headers: { "mcp-name": "q_fail" } }],
  ["Mcp-Name in Base64", { headers: { "mcp-name": `=?base64?${btoa("q_echo")}?=` } }],
  ["an envelope without clientInfo", { meta: NO_CLIENT_INFO }],
  ["an envelope without clientCapabilities", { meta: NO_CAPABILITIES }],
  ["clientInfo not an object", {
    meta: { ...ENVELOPE, "io.modelcontextprotocol/clientInfo": "raw" },
  }],
  ["clientInfo without a name", {
    meta: { ...ENVELOPE, "io.modelcontextprotocol/clientInfo": {} },
  }],
  ["an envelope naming 2025-11-25", {
    meta: { ...ENVELOPE, "io.modelcontextprotocol/protocolVersion": "2025-11-25" },
  }],
  ["a progress token", { meta: { ...ENVELOPE, progressToken: "p" } }],
  ["task augmentation", { params: { task: { ttl: 1000 } } }],
  ["an unknown tool", { name: "nope" }],
  ["a tool that is not quiet", { name: "echo", args: { text: "x" } }],
  ["a quiet tool declaring an Mcp-Param header, without it", {
    name: "q_region",
    args: { region: "eu" },
  }],
  ["a quiet tool declaring an Mcp-Param header, with it", {
    name: "q_region",
    args: { region: "eu" },
    headers: { "mcp-param-region": "eu" },
  }],
  ["arguments that are an array", { args: [1] }],
  ["an extra params member", { params: { inputResponses: {} } }],
  ["a fractional request ID", { id: 1.5 }],
  ["a null request ID", { id: null }],
];

Deno.test("every 2026-07-28 call that is not exactly a direct one gets what the SDK answers", async (t) => {
  await using pair = await startPair();
  await answerOf(pair.direct, {});
  for (const [label, call] of SDK_CASES) {
    await t.step(label, async () => {
      const built = pair.direct.servers.length;
      const direct = await answerOf(pair.direct, call);
      assertEquals(direct, await answerOf(pair.sdk, call));
      if (label.includes("Mcp-Param header, without")) assertEquals(direct.status, 400);
      if (direct.status === 200) {
        assertEquals(pair.direct.servers.length, built + 1, "not answered by the SDK");
      }
    });
  }
});

Deno.test("a directly answered 2026-07-28 call whose client goes away is aborted and answered 499, as by the SDK", async () => {
  await using pair = await startPair();
  await answerOf(pair.direct, {});
  for (const server of [pair.direct, pair.sdk]) {
    pair.held.started = Promise.withResolvers();
    const { body, headers } = modernCall({ name: "q_hold", args: {} });
    const controller = new AbortController();
    const request = new Request("http://127.0.0.1/mcp", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    const pending = server.handle(request);
    await pair.held.started.promise;
    controller.abort();
    const response = await pending;
    assertEquals(response.status, 499);
    assertEquals(await response.text(), "");
  }
});
