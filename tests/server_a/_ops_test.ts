import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { setLogLevel, setLogSink } from "../../src/core/log.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { startTestServerB, tempDirSync, tmpfsTest } from "../_helpers.ts";
import { parsePrometheusText, sampleValue } from "../_prometheus.ts";
import { spawnServer } from "../_spawn.ts";
import { startHttpServerA, type ToolAnswer } from "./_server_a.ts";
import { answerFor, errorAnswer, freePort, startFakeB } from "./_fake_b.ts";

async function connect(url: URL, headers: Record<string, string> = {}) {
  const client = new Client({ name: "ops-test", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  await client.connect(transport);
  return {
    call: async (name: string, args: Record<string, unknown> = {}) =>
      (await client.callTool({ name, arguments: args })) as ToolAnswer,
    async [Symbol.asyncDispose]() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

function tempDb(): string {
  return `${tempDirSync({ prefix: "mcpcomm-a-" })}/ledger.db`;
}

Deno.test("Server A sends traceparent to Server B, and both log the same trace", async () => {
  const lines: Record<string, unknown>[] = [];
  setLogLevel("debug");
  const restore = setLogSink((line) => lines.push(JSON.parse(line)));
  try {
    await using b = await startTestServerB({ MCPCOMM_DB: ":memory:" });
    await using a = await startHttpServerA({ SERVER_B_URL: b.url, MCPCOMM_DB: ":memory:" });
    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    await using mcp = await connect(a.mcpUrl, {
      traceparent: `00-${callerTrace}-00f067aa0ba902b7-01`,
    });
    const answer = await mcp.call("send_message_to_ai", { message: "trace me" });
    assert(!answer.isError, JSON.stringify(answer));

    const byComponent = (component: string, msg: string) =>
      lines.filter((l) => l.component === component && l.msg === msg);
    const bRequest = byComponent("server-b", "request").find((l) => l.path === "/process");
    assert(bRequest, "Server B logged the /process request");
    assertEquals(bRequest.traceId, callerTrace);
    const call = byComponent("server-a", "Server B call").find((l) => l.operation === "process");
    assert(call, "Server A logged its call to Server B");
    assertEquals(call.traceId, callerTrace);
    assertEquals(bRequest.parentSpanId, call.spanId, "B's parent span is A's client span");
    const aRequests = byComponent("server-a", "request").filter((l) => l.path === "/mcp");
    assert(aRequests.some((l) => l.traceId === callerTrace && l.spanId === call.parentSpanId));
  } finally {
    restore();
    setLogLevel("info");
  }
});

Deno.test("Server A keeps its 3 messages and their cost across a restart", async () => {
  await using b = await startTestServerB({ MCPCOMM_DB: ":memory:" });
  const env = { SERVER_B_URL: b.url, MCPCOMM_DB: tempDb() };
  let stats, history;
  {
    await using a = await startHttpServerA(env);
    await using mcp = await connect(a.mcpUrl);
    for (const message of ["one", "two", "three"]) {
      assert(!(await mcp.call("send_message_to_ai", { message })).isError);
    }
    stats = (await mcp.call("get_ai_usage_stats")).structuredContent;
    history = (await mcp.call("get_conversation_history")).structuredContent;
  }
  assertEquals(stats?.totalRequests, 3);
  await using again = await startHttpServerA(env);
  await using mcp = await connect(again.mcpUrl);
  assertEquals((await mcp.call("get_ai_usage_stats")).structuredContent, stats);
  assertEquals((await mcp.call("get_conversation_history")).structuredContent, history);
  const page = (await mcp.call("get_conversation_history", { limit: 1, offset: 1 }))
    .structuredContent as { messages: { message: string }[] };
  assertEquals(page.messages.map((m) => m.message), ["two"]);
  const health = await (await fetch(`${again.url}/health`)).json();
  assertEquals(health.messagesSent, 3);
});

Deno.test("Server A's /metrics shows its calls to Server B and needs the token", async () => {
  const token = "a-metrics-token-0123456789";
  await using b = await startTestServerB({ MCPCOMM_DB: ":memory:", MCPCOMM_AUTH_TOKEN: token });
  await using a = await startHttpServerA({
    SERVER_B_URL: b.url,
    MCPCOMM_DB: ":memory:",
    MCPCOMM_AUTH_TOKEN: token,
  });
  const auth = { authorization: `Bearer ${token}` };
  const denied = await fetch(`${a.url}/metrics`);
  assertEquals(denied.status, 401);
  await denied.body?.cancel();
  {
    await using mcp = await connect(a.mcpUrl, auth);
    for (let i = 0; i < 2; i++) {
      assert(!(await mcp.call("send_message_to_ai", { message: `m${i}` })).isError);
    }
  }
  const response = await fetch(`${a.url}/metrics`, { headers: auth });
  assertEquals(response.status, 200);
  const m = parsePrometheusText(await response.text());
  assertEquals(
    sampleValue(m, "mcpcomm_upstream_requests_total", {
      operation: "process",
      outcome: "success",
    }),
    2,
  );
  assertEquals(sampleValue(m, "mcpcomm_ai_requests_total", { status: "success" }), 2);
  assert((sampleValue(m, "mcpcomm_ai_tokens_total") ?? 0) > 0);
  assert((sampleValue(m, "mcpcomm_http_requests_total", { route: "/mcp" }) ?? 0) >= 3);
  assertEquals(sampleValue(m, "mcpcomm_build_info", { server: "server-a" }), 1);
  assertEquals(sampleValue(m, "mcpcomm_upstream_request_duration_seconds_count"), 2);
});

/** Server A's metrics after one `send_message_to_ai` call over `SERVER_B_URL` `serverB`. */
async function metricsAfterOneSend(serverB: string) {
  await using a = await startHttpServerA({
    SERVER_B_URL: serverB,
    MCPCOMM_DB: ":memory:",
    RETRY_ATTEMPTS: "3",
  });
  {
    await using mcp = await connect(a.mcpUrl);
    assert(!(await mcp.call("send_message_to_ai", { message: "retry me" })).isError);
  }
  return parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text());
}

Deno.test("Server A's /metrics counts its retries towards Server B by reason", async () => {
  let processed = 0;
  await using b = await startFakeB((request, _n, seen) => {
    if (new URL(request.url).pathname !== "/process") return Response.json({ status: "ok" });
    processed += 1;
    if (processed <= 2) return errorAnswer(503, "unavailable", "busy");
    return Response.json(answerFor(JSON.parse(seen.body).message, processed));
  });
  const m = await metricsAfterOneSend(b.url);
  assertEquals(sampleValue(m, "mcpcomm_server_b_retries_total", { reason: "http_503" }), 2);
  assertEquals(
    sampleValue(m, "mcpcomm_upstream_requests_total", { operation: "process", outcome: "success" }),
    1,
  );
});

Deno.test("Server A's /metrics counts a failover between balanced Server Bs as a retry", async () => {
  await using b = await startFakeB((request, n, seen) =>
    new URL(request.url).pathname === "/process"
      ? Response.json(answerFor(JSON.parse(seen.body).message, n))
      : Response.json({ status: "ok" })
  );
  const m = await metricsAfterOneSend(`http://127.0.0.1:${freePort()},${b.url}`);
  assertEquals(sampleValue(m, "mcpcomm_server_b_retries_total", { reason: "refused" }), 1);
});

Deno.test("Server A's /health/ready fails while Server B is down and passes once it is up", async () => {
  const port = freePort();
  await using a = await startHttpServerA({
    SERVER_B_URL: `http://127.0.0.1:${port}`,
    MCPCOMM_DB: ":memory:",
    RETRY_ATTEMPTS: "1",
  });
  const down = await fetch(`${a.url}/health/ready`);
  assertEquals(down.status, 503);
  const body = await down.json();
  assertEquals(body.checks.serverB.ok, false);
  assertMatch(body.checks.serverB.reason, /refused/);
  assertEquals(body.checks.database, { ok: true });
  const live = await fetch(`${a.url}/health`);
  assertEquals(live.status, 200);
  await live.body?.cancel();

  await using _b = await startTestServerB({ HTTP_PORT: String(port), MCPCOMM_DB: ":memory:" });
  const up = await fetch(`${a.url}/health/ready`);
  assertEquals(up.status, 200, JSON.stringify(await up.clone().json()));
  await up.body?.cancel();
});

Deno.test("mcpcomm server-a finishes an in-flight tool call on SIGTERM and logs no secret", async () => {
  const secrets = {
    OPENAI_API_KEY: "sk-test-a-0123456789abcdefSECRET",
    MCPCOMM_AUTH_TOKEN: "tok-a-0123456789abcdef-SECRET",
    AWS_SECRET_ACCESS_KEY: "aws-a-secret-0123456789abcdef",
  };
  const common = { ...secrets, LOG_LEVEL: "debug", MCPCOMM_DB: ":memory:" };
  await using b = await spawnServer(["server-b", "--host", "127.0.0.1", "--port", "0"], {
    env: { ...common, MOCK_DELAY_MS: "1500" },
  });
  await using a = await spawnServer(["server-a", "--transport", "http", "--port", "0"], {
    env: { ...common, SERVER_B_URL: b.url },
  });
  const aUrl = a.url;
  const auth = { authorization: `Bearer ${secrets.MCPCOMM_AUTH_TOKEN}` };
  await using mcp = await connect(new URL(`${aUrl}/mcp`), auth);

  const inFlight = mcp.call("send_message_to_ai", { message: "survive SIGTERM" });
  await b.waitForLog("request started");
  a.child.kill("SIGTERM");
  const answer = await inFlight;
  assert(!answer.isError, JSON.stringify(answer));
  assertMatch(answer.content[0]?.text ?? "", /survive SIGTERM/);
  const aStatus = await a.child.status;
  assertEquals(aStatus.code, 0, a.lines.join("\n"));
  b.child.kill("SIGTERM");
  assertEquals((await b.child.status).code, 0);

  for (const line of [...a.lines, ...b.lines]) {
    for (const secret of Object.values(secrets)) {
      assert(!line.includes(secret), `a log line holds a secret: ${line}`);
    }
  }
  const bLine = b.lines.map((l) => JSON.parse(l)).find((l) =>
    l.msg === "request" && l.path === "/process"
  );
  const aCall = a.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "Server B call");
  assertEquals(bLine?.traceId, aCall?.traceId, "the trace crosses the processes");
  assert(a.lines.some((l) => l.includes('"msg":"Server A stopped"')));
});

Deno.test("Server A's /metrics shows the circuit state of each balanced Server B", async () => {
  await using b = await startTestServerB({ MCPCOMM_DB: ":memory:" });
  const down = `http://127.0.0.1:${freePort()}`;
  await using a = await startHttpServerA({
    SERVER_B_URL: `${b.url},${down}`,
    MCPCOMM_DB: ":memory:",
  });
  {
    await using mcp = await connect(a.mcpUrl);
    for (let i = 0; i < 6; i++) {
      assert(!(await mcp.call("send_message_to_ai", { message: `m${i}` })).isError);
    }
  }
  const m = parsePrometheusText(await (await fetch(`${a.url}/metrics`)).text());
  assertEquals(sampleValue(m, "mcpcomm_circuit_state", { backend: b.url, state: "closed" }), 1);
  assertEquals(sampleValue(m, "mcpcomm_circuit_state", { backend: b.url }), 1);
  assertEquals(sampleValue(m, "mcpcomm_circuit_state", { backend: down, state: "open" }), 1);
  assertEquals(sampleValue(m, "mcpcomm_circuit_state", { backend: down }), 1);
});

Deno.test(
  tmpfsTest(
    "Server A refuses new sends while the disk holding its database is full",
    "256k",
    async (dir) => {
      await using b = await startTestServerB({ MCPCOMM_DB: ":memory:" });
      await using a = await startHttpServerA({ SERVER_B_URL: b.url, MCPCOMM_DB: `${dir}/a.db` });
      await using mcp = await connect(a.mcpUrl);
      const big = "y".repeat(30_000);
      let failure: ToolAnswer | undefined;
      for (let i = 0; i < 200 && !failure; i++) {
        const answer = await mcp.call("send_message_to_ai", { message: big });
        if (answer.isError) failure = answer;
      }
      assert(failure, "the disk never filled up");
      assertMatch(failure.content[0]?.text ?? "", /ledger database is full/);
      const sentToB = (await b.service.ledger.stats()).totalRequests;
      const next = await mcp.call("send_message_to_ai", { message: "small" });
      assertEquals(next.isError, true);
      assertMatch(next.content[0]?.text ?? "", /^Not sent to Server B: .*full/);
      assertEquals(
        (await b.service.ledger.stats()).totalRequests,
        sentToB,
        "nothing reached Server B",
      );
      const ready = await fetch(`${a.url}/health/ready`);
      assertEquals(ready.status, 503);
      assertEquals((await ready.json()).checks.database.ok, false);
    },
  ),
);
