import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { connectTarget, parseTarget, TargetError } from "../../src/mcp/targets.ts";
import { assertBearerChallenge, eventually } from "../_helpers.ts";
import { initializeBody, openSession, postMcp, rawHttp } from "../mcp/_harness.ts";
import { startTestToolbox } from "../_toolbox.ts";

/** The headers of a WebSocket upgrade request, without a subprotocol. */
const WS_UPGRADE: Record<string, string> = {
  connection: "Upgrade",
  upgrade: "websocket",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
};

function text(result: unknown): string {
  return ((result as CallToolResult).content[0] as { text: string }).text;
}

async function connect(url: string, authToken?: string): Promise<Client & AsyncDisposable> {
  const client = await connectTarget(parseTarget(url), {
    clientName: "test",
    version: "0",
    headers: authToken ? { authorization: `Bearer ${authToken}` } : {},
    timeoutMs: 10000,
  });
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

Deno.test("startToolbox() serves the same tools over every transport", async (t) => {
  await using box = await startTestToolbox("calc", { tools: ["math_calc", "echo"] });
  for (const path of ["/mcp", "/sse", "/ws"]) {
    await t.step(path, async () => {
      await using client = await connect(
        `${box.url.replace(/^http/, path === "/ws" ? "ws" : "http")}${path}`,
      );
      assertEquals(client.getServerVersion()?.name, "calc");
      const { tools } = await client.listTools();
      assertEquals(tools.map((x: { name: string }) => x.name), ["echo", "math_calc"]);
      const result = await client.callTool({
        name: "math_calc",
        arguments: { expression: "10 * 5" },
      });
      assertEquals(text(result), "10 * 5 = 50");
      const refused = await client.callTool({ name: "get_time", arguments: {} });
      assertEquals(refused.isError, true);
      assertEquals(text(refused), "Tool get_time is not enabled on calc");
    });
  }
});

Deno.test("startToolbox() /ws keeps one server per connection and cleans up on close", async () => {
  await using box = await startTestToolbox("calc");
  const ws = box.url.replace(/^http/, "ws") + "/ws";
  const clients = await Promise.all([1, 2, 3].map(() => connect(ws)));
  assertEquals(box.webSocketCount, 3);
  const answers = await Promise.all(
    clients.map((c: Client, i: number) =>
      c.callTool({ name: "echo", arguments: { message: `m${i}` } })
    ),
  );
  assertEquals(answers.map(text), ["Echo: m0", "Echo: m1", "Echo: m2"]);
  await Promise.all(clients.map((c: Client) => c.close()));
  await eventually(() => box.webSocketCount === 0);
});

Deno.test("startToolbox() refuses bad WebSocket handshakes and missing tokens with a JSON error", async (t) => {
  await using box = await startTestToolbox("guarded", {
    env: { MCPCOMM_AUTH_TOKEN: "s3cret-token-of-length" },
  });
  const handshake = (headers: Record<string, string>, path = "/ws") =>
    fetch(`${box.url}${path}`, {
      headers: { ...WS_UPGRADE, ...headers },
    });
  await t.step("plain GET: 426", async () => {
    const response = await fetch(`${box.url}/ws`);
    assertEquals(response.status, 426);
    assertEquals((await response.json()).error.code, "invalid_request");
  });
  await t.step("no mcp subprotocol: 400", async () => {
    const response = await handshake({ "sec-websocket-protocol": "chat" });
    assertEquals(response.status, 400);
    assertMatch((await response.json()).error.message, /subprotocol "mcp"/);
  });
  await t.step("foreign Origin: 403", async () => {
    const response = await handshake({
      "sec-websocket-protocol": "mcp",
      origin: "https://evil.example",
      authorization: "Bearer s3cret-token-of-length",
    });
    assertEquals(response.status, 403);
    await response.body?.cancel();
  });
  await t.step("a rebinding Host or Origin: 403 on /ws, /mcp and /sse", async () => {
    const port = new URL(box.url).port;
    const requests = {
      "/ws": {
        method: "GET",
        headers: { ...WS_UPGRADE, "sec-websocket-protocol": "mcp" },
      },
      "/mcp": {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(initializeBody()),
      },
      "/sse": { method: "GET", headers: { accept: "text/event-stream" } },
    };
    const bad: Record<string, string>[] = [
      { host: `127.0.0.1.evil.com:${port}` },
      { host: `127.evil.com:${port}` },
      { host: `localhost.evil.com:${port}` },
      { host: `app.localhost:${port}` },
      { host: `127.0.0.1:${port}`, origin: "http://127.evil.com" },
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1.evil.com:${port}` },
      { host: `127.0.0.1:${port}`, origin: "http://localhost.evil.com" },
    ];
    for (const [path, request] of Object.entries(requests)) {
      for (const headers of bad) {
        const answer = await rawHttp(box.url, {
          ...request,
          path,
          headers: {
            ...request.headers,
            ...headers,
            authorization: "Bearer s3cret-token-of-length",
          },
        });
        assertEquals(answer.status, 403, `${path} ${JSON.stringify(headers)} ${answer.body}`);
        assertEquals(JSON.parse(answer.body).error.code, "forbidden");
      }
    }
  });
  await t.step("no token: 401 naming the missing token, token never echoed", async () => {
    for (const path of ["/ws", "/mcp", "/sse"]) {
      const response = path === "/ws"
        ? await handshake({ "sec-websocket-protocol": "mcp" })
        : await fetch(`${box.url}${path}`, { headers: { accept: "text/event-stream" } });
      assertBearerChallenge(response, "missing");
      const body = await response.text();
      assert(!body.includes("s3cret"));
    }
  });
  await t.step("wrong token: 401 naming the invalid token", async () => {
    const response = await handshake({
      "sec-websocket-protocol": "mcp",
      authorization: "Bearer wrong-token-wrong-token",
    });
    assertBearerChallenge(response, "invalid");
    await response.body?.cancel();
  });
  await t.step("right token: connects", async () => {
    await using client = await connect(
      box.url.replace(/^http/, "ws") + "/ws",
      "s3cret-token-of-length",
    );
    assertEquals((await client.listTools()).tools.length, 4);
  });
  await t.step("/mcp and /sse take the same token", async () => {
    for (const path of ["/mcp", "/sse"]) {
      await assertRejects(() => connect(`${box.url}${path}`), TargetError);
      await using client = await connect(`${box.url}${path}`, "s3cret-token-of-length");
      assertEquals((await client.listTools()).tools.length, 4);
    }
  });
  await t.step("unknown path: 404", async () => {
    const response = await fetch(`${box.url}/nope`);
    assertEquals(response.status, 404);
    assertEquals((await response.json()).error.code, "not_found");
  });
});

Deno.test("startToolbox() /ws drops a message larger than the body limit", async () => {
  await using box = await startTestToolbox("small", { env: { MAX_BODY_BYTES: "2048" } });
  await using client = await connect(box.url.replace(/^http/, "ws") + "/ws");
  const closed = Promise.withResolvers<void>();
  client.onclose = () => closed.resolve();
  const call = client.callTool({ name: "echo", arguments: { message: "x".repeat(10_000) } })
    .then(() => "answered", (error: Error) => error.message);
  await closed.promise;
  assertMatch(await call, /closed/i);
  await eventually(() => box.webSocketCount === 0);
});

Deno.test("startToolbox() caps sessions over /ws, /mcp and /sse together (MCP_MAX_SESSIONS)", async () => {
  await using box = await startTestToolbox("capped", { env: { MCP_MAX_SESSIONS: "3" } });
  const ws = box.url.replace(/^http/, "ws") + "/ws";
  const first = await connect(ws);
  // A 2025 session: a client's 2026-07-28 requests on /mcp open none.
  await openSession(box.url);
  await using _sse = await connect(`${box.url}/sse`);
  assertEquals(box.sessionCount, 3);

  const handshake = await fetch(`${box.url}/ws`, {
    headers: { ...WS_UPGRADE, "sec-websocket-protocol": "mcp" },
  });
  assertEquals(handshake.status, 503);
  const retryAfter = Number(handshake.headers.get("retry-after"));
  assert(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
  assertEquals(handshake.headers.get("content-type"), "application/json");
  const { error } = await handshake.json();
  assertEquals(error.code, "unavailable");
  assertMatch(error.message, /Too many MCP sessions \(the limit is 3\)/);
  const initialize = await postMcp(box.url, initializeBody());
  assertEquals(initialize.status, 503);
  await initialize.body?.cancel();
  await assertRejects(() => connect(ws), TargetError);
  assertEquals(box.sessionCount, 3);

  await first.close();
  await eventually(() => box.sessionCount === 2);
  await using again = await connect(ws);
  assertEquals((await again.listTools()).tools.length, 4);
  assertEquals(box.sessionCount, 3);
});
