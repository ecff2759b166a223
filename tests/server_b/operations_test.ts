import { Client as V2Client, InMemoryTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import {
  baseEnv,
  postJson,
  readSse,
  RUN_ARGS,
  runCli,
  startTestServerB,
  tempDirSync,
  tmpfsTest,
} from "../_helpers.ts";
import { parsePrometheusText, sampleValue } from "../_prometheus.ts";
import { parseCommandLine } from "../../src/cli.ts";
import { serverBCommand } from "../../src/commands/_server_b.ts";
import { loadConfig } from "../../src/core/config.ts";
import { openLedger, openServerLedger, type SqliteLedger } from "../../src/ledger/mod.ts";
import { createServerBMcp } from "../../src/server_b/_tools.ts";
import { spawnServer } from "../_spawn.ts";

function tempDb(): string {
  return `${tempDirSync({ prefix: "mcpcomm-b-" })}/ledger.db`;
}

async function metricsOf(url: string) {
  const response = await fetch(`${url}/metrics`);
  assertEquals(response.status, 200);
  assertMatch(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

function spawnServerB(args: string[], env: Record<string, string>) {
  return spawnServer(["server-b", "--host", "127.0.0.1", "--port", "0", ...args], { env });
}

Deno.test("startServerB() with a database keeps 3 messages and their cost across a restart", async () => {
  const db = tempDb();
  const env = { MCPCOMM_DB: db, OPENAI_DEFAULT_MODEL: "gpt-4o-mini" };
  let before;
  {
    await using b = await startTestServerB(env);
    for (const message of ["one", "two", "three"]) {
      const response = await postJson(`${b.url}/process`, { message, model: "gpt-4o-mini" });
      assertEquals(response.status, 200, await response.clone().text());
      await response.body?.cancel();
    }
    before = {
      stats: await b.service.ledger.stats(),
      recent: await b.service.ledger.recent(),
      health: await (await fetch(`${b.url}/health`)).json(),
    };
    assertEquals(b.service.ledger.location, db);
  }
  assertEquals(before.health.messagesProcessed, 3);
  assertEquals(before.recent.map((e) => e.message), ["one", "two", "three"]);

  await using again = await startTestServerB(env);
  assertEquals((await (await fetch(`${again.url}/health`)).json()).messagesProcessed, 3);
  assertEquals(await again.service.ledger.stats(), before.stats);
  assertEquals(await again.service.ledger.recent(), before.recent);
  assertEquals((await again.service.ledger.recent(2, 1)).map((e) => e.message), ["one", "two"]);
});

Deno.test("POST /process with a database: 100 concurrent requests each recorded before answering", async () => {
  const db = tempDb();
  const messages = Array.from({ length: 100 }, (_, i) => `concurrent ${i}`);
  {
    await using b = await startTestServerB({ MCPCOMM_DB: db });
    const ids = await Promise.all(messages.map(async (message) => {
      const response = await postJson(`${b.url}/process`, { message });
      assertEquals(response.status, 200, await response.clone().text());
      const { messageId } = await response.json();
      assert(
        (await b.service.ledger.recent()).some((e) => e.messageId === messageId),
        `${message} answered before it was recorded`,
      );
      return messageId as string;
    }));
    assertEquals(new Set(ids).size, 100);
    assertEquals((await (await fetch(`${b.url}/health`)).json()).messagesProcessed, 100);
  }
  const ledger = openLedger({ db, maxEntries: 1000 });
  try {
    assertEquals(ledger.stats().totalRequests, 100);
    assertEquals(ledger.stats().successfulRequests, 100);
    assertEquals(ledger.recent().map((e) => e.message).sort(), [...messages].sort());
  } finally {
    ledger.close();
  }
});

Deno.test("mcpcomm server-b --db-sync picks how ledger commits reach the disk", async (t) => {
  await t.step("normal opens the database with synchronous=NORMAL", () => {
    const { settings } = parseCommandLine(serverBCommand, [
      "--db",
      tempDb(),
      "--db-sync",
      "normal",
    ]);
    assertEquals(settings.MCPCOMM_DB_SYNC, "normal");
    const ledger = openServerLedger(loadConfig({ flags: settings }), { server: "server-b" });
    try {
      assertEquals((ledger as SqliteLedger).synchronous, 1);
    } finally {
      ledger.close();
    }
  });

  await t.step("anything but full or normal stops start-up with one line", async () => {
    const { code, stderr } = await runCli(["server-b", "--port", "0", "--db-sync", "off"]);
    assertEquals(code, 2);
    assertEquals(
      stderr.trim(),
      'mcpcomm server-b: Invalid setting MCPCOMM_DB_SYNC="off": expected one of full, normal',
    );
  });
});

Deno.test("mcpcomm server-b refuses a corrupt database with one clear line", async () => {
  const db = tempDb();
  Deno.writeTextFileSync(db, "not a database, just text\n".repeat(100));
  const { code, stderr } = await runCli(["server-b", "--port", "0", "--db", db]);
  assertEquals(code, 1);
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, stderr);
  assertMatch(
    lines[0]!,
    /^mcpcomm server-b: Cannot open the ledger database .*ledger\.db: file is not a database/,
  );
});

Deno.test("GET /metrics shows the load of a run in the Prometheus text format", async () => {
  await using b = await startTestServerB({ MCPCOMM_DB: ":memory:" });
  const start = await metricsOf(b.url);
  assertEquals(sampleValue(start, "mcpcomm_http_requests_total", { route: "/process" }), undefined);

  for (let i = 0; i < 3; i++) {
    await (await postJson(`${b.url}/process`, { message: `hi ${i}` })).text();
  }
  await (await postJson(`${b.url}/process`, { message: "" })).text();
  const events = await readSse(await postJson(`${b.url}/stream`, { message: "stream me" }));
  assertEquals(events.at(-1)?.event, "done");

  const m = await metricsOf(b.url);
  const model = b.service.defaults().model;
  assertEquals(
    sampleValue(m, "mcpcomm_http_requests_total", { route: "/process", status: "200" }),
    3,
  );
  assertEquals(
    sampleValue(m, "mcpcomm_http_requests_total", { route: "/process", status: "400" }),
    1,
  );
  assertEquals(
    sampleValue(m, "mcpcomm_http_requests_total", { route: "/stream", status: "200" }),
    1,
  );
  assertEquals(
    sampleValue(m, "mcpcomm_http_request_duration_seconds_count", { route: "/process" }),
    4,
  );
  assertEquals(
    sampleValue(m, "mcpcomm_provider_calls_total", { provider: "mock", outcome: "success" }),
    4,
  );
  assertEquals(sampleValue(m, "mcpcomm_ai_requests_total", { model, status: "success" }), 4);
  const stats = await b.service.ledger.stats();
  assertEquals(
    sampleValue(m, "mcpcomm_ai_tokens_total", { model, type: "prompt" }),
    stats.promptTokens,
  );
  assertEquals(
    sampleValue(m, "mcpcomm_ai_tokens_total", { model, type: "completion" }),
    stats.completionTokens,
  );
  assertEquals(sampleValue(m, "mcpcomm_sse_streams_open"), 0);
  assertEquals(sampleValue(m, "mcpcomm_ledger_entries"), 4);
  assertEquals(sampleValue(m, "mcpcomm_ledger_up"), 1);
  assertEquals(sampleValue(m, "mcpcomm_provider_retries_total"), undefined);
  assertEquals(m.get("mcpcomm_provider_retries_total")?.type, "counter");
  assertEquals(m.get("mcpcomm_http_request_duration_seconds")?.type, "histogram");
});

Deno.test("GET /health/ready separates readiness from liveness", async (t) => {
  await t.step("ready with a configured provider and a working database", async () => {
    await using b = await startTestServerB({ MCPCOMM_DB: tempDb() });
    const response = await fetch(`${b.url}/health/ready`);
    assertEquals(response.status, 200);
    assertEquals(await response.json(), {
      status: "ready",
      checks: { provider: { ok: true }, database: { ok: true }, server: { ok: true } },
    });
  });

  await t.step("not ready when the provider is misconfigured, yet alive", async () => {
    await using b = await startTestServerB({ AI_PROVIDER: "openai", MCPCOMM_DB: ":memory:" });
    const ready = await fetch(`${b.url}/health/ready`);
    assertEquals(ready.status, 503);
    const body = await ready.json();
    assertEquals(body.status, "not ready");
    assertEquals(body.checks.provider.ok, false);
    assertEquals(body.checks.database, { ok: true });
    assertEquals(body.error.code, "unavailable");
    assertMatch(body.error.message, /^provider: /);
    const live = await fetch(`${b.url}/health`);
    assertEquals(live.status, 200);
    await live.body?.cancel();
  });
});

Deno.test(
  tmpfsTest(
    "POST /process answers 503 when the disk holding the database is full",
    "256k",
    async (dir) => {
      await using b = await startTestServerB({ MCPCOMM_DB: `${dir}/b.db` });
      const big = "x".repeat(30_000);
      let refused: Response | undefined;
      for (let i = 0; i < 200 && !refused; i++) {
        const response = await postJson(`${b.url}/process`, { message: big });
        if (response.status === 200) await response.body?.cancel();
        else refused = response;
      }
      assert(refused, "the disk never filled up");
      assertEquals(refused.status, 503);
      const body = await refused.json();
      assertEquals(body.error.code, "unavailable");
      assertMatch(body.error.message, /full/);
      const recorded = (await b.service.ledger.stats()).totalRequests;
      assertEquals(recorded, b.service.ledger.size, "no half-recorded exchange");

      const next = await postJson(`${b.url}/process`, { message: "small" });
      assertEquals(next.status, 503, "new work is refused while the store is full");
      await next.body?.cancel();
      const ready = await fetch(`${b.url}/health/ready`);
      assertEquals(ready.status, 503);
      assertEquals((await ready.json()).checks.database.ok, false);
      const health = await fetch(`${b.url}/health`);
      assertEquals((await health.json()).messagesProcessed, recorded);
      assertEquals((await b.service.ledger.stats()).totalRequests, recorded);
    },
  ),
);

Deno.test("mcpcomm server-b lets an in-flight request finish on SIGTERM, flushes and exits 0", async () => {
  const db = tempDb();
  const env = { MOCK_DELAY_MS: "1500", LOG_LEVEL: "debug", SHUTDOWN_TIMEOUT_SECONDS: "30" };
  await using b = await spawnServerB(["--db", db], env);
  const url = b.url;
  const answer = postJson(`${url}/process`, { message: "finish me" });
  await b.waitForLine('"msg":"request started"');
  b.child.kill("SIGTERM");
  await b.waitForLine('"msg":"shutting down"');
  const refused = await fetch(`${url}/health`).then((r) => r.status, () => "refused");
  assert(refused === "refused" || refused === 503, `a new request got ${refused}`);

  const response = await answer;
  assertEquals(response.status, 200);
  const body = await response.json();
  assertEquals(body.status, "success");
  assertMatch(body.aiResponse, /finish me/);
  const status = await b.child.status;
  await b.closed;
  assertEquals(status.code, 0, b.lines.join("\n"));
  assert(b.lines.some((l) => l.includes('"msg":"Server B stopped"')));

  await using again = await spawnServerB(["--db", db], {});
  try {
    const health = await (await fetch(`${again.url}/health`)).json();
    assertEquals(health.messagesProcessed, 1);
  } finally {
    again.child.kill("SIGTERM");
    assertEquals((await again.child.status).code, 0);
    await again.closed;
  }
});

Deno.test("mcpcomm server-b answers work still unanswered at the shutdown deadline with 503", async () => {
  const env = { MOCK_DELAY_MS: "60000", SHUTDOWN_TIMEOUT_SECONDS: "0.2", LOG_LEVEL: "debug" };
  await using b = await spawnServerB(["--db", ":memory:"], env);
  const url = b.url;
  const stream = postJson(`${url}/stream`, { message: "never answered" });
  await b.waitForLine('"msg":"request started"');
  b.child.kill("SIGTERM");
  const response = await stream;
  assertEquals(response.status, 503);
  assertEquals((await response.json()).error.code, "unavailable");
  assertEquals((await b.child.status).code, 0);
  await b.closed;
  assert(b.lines.some((l) => l.includes("shutdown deadline passed")));
});

Deno.test("mcpcomm server-b writes no secret from the environment to any log line", async () => {
  const secrets = {
    OPENAI_API_KEY: "sk-test-0123456789abcdefSECRETKEY",
    MCPCOMM_AUTH_TOKEN: "tok-0123456789abcdef-SECRETTOKEN",
    AWS_SECRET_ACCESS_KEY: "aws-secret-0123456789abcdef",
  };
  await using b = await spawnServerB(["--db", ":memory:"], {
    ...secrets,
    AI_PROVIDER: "mock",
    LOG_LEVEL: "debug",
  });
  const url = b.url;
  const auth = { authorization: `Bearer ${secrets.MCPCOMM_AUTH_TOKEN}` };
  for (
    const [path, init] of [
      ["/health", {}],
      ["/health/ready", {}],
      ["/config", { headers: auth }],
      ["/models", { headers: auth }],
      ["/metrics", { headers: auth }],
      ["/nowhere", { headers: auth }],
      ["/process", { method: "POST", headers: { ...auth, "content-type": "application/json" } }],
    ] as const
  ) {
    await (await fetch(`${url}${path}`, init as RequestInit)).text();
  }
  await (await postJson(`${url}/process`, { message: "hello" }, auth)).text();
  await readSse(await postJson(`${url}/stream`, { message: "hello" }, auth));
  b.child.kill("SIGTERM");
  assertEquals((await b.child.status).code, 0);
  await b.closed;
  assert(b.lines.filter((l) => l.includes('"msg":"request"')).length >= 9, "requests logged");
  for (const line of b.lines) {
    for (const secret of Object.values(secrets)) {
      assert(!line.includes(secret), `a log line holds a secret: ${line}`);
    }
  }
});

Deno.test("Server B over MCP stdio records into the database too", async () => {
  const db = tempDb();
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [...RUN_ARGS, "server-b", "--host", "127.0.0.1", "--port", "0", "--mcp", "stdio"],
    env: { ...baseEnv(), NO_COLOR: "1", MCPCOMM_DB: db, LOG_LEVEL: "error" },
    stderr: "ignore",
  });
  const client = new Client({ name: "test", version: "0.0.0" });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: "process_message",
      arguments: { message: "over stdio" },
    });
    assert(!result.isError, JSON.stringify(result));
  } finally {
    await client.close();
  }
  const raw = new DatabaseSync(db, { readOnly: true });
  try {
    const row = raw.prepare("SELECT message FROM entries").get() as { message: string };
    assertEquals(row.message, "over stdio");
  } finally {
    raw.close();
  }
});

Deno.test("GET /metrics needs the token, counts MCP sessions, and /health/ready does not need it", async () => {
  const token = "metrics-token-0123456789";
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: token, MCPCOMM_DB: ":memory:" });
  const auth = { authorization: `Bearer ${token}` };
  const denied = await fetch(`${b.url}/metrics`);
  assertEquals(denied.status, 401);
  await denied.body?.cancel();
  const ready = await fetch(`${b.url}/health/ready`);
  assertEquals(ready.status, 200);
  await ready.body?.cancel();

  const scrape = async () => {
    const response = await fetch(`${b.url}/metrics`, { headers: auth });
    assertEquals(response.status, 200);
    return parsePrometheusText(await response.text());
  };
  assertEquals(sampleValue(await scrape(), "mcpcomm_mcp_sessions_open"), 0);
  const client = new Client({ name: "metrics-test", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), {
    requestInit: { headers: auth },
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: "get_ai_stats", arguments: {} });
    assert(!result.isError);
    const m = await scrape();
    assertEquals(sampleValue(m, "mcpcomm_mcp_sessions_open"), 1);
    assert((sampleValue(m, "mcpcomm_http_requests_total", { route: "/mcp" }) ?? 0) >= 2);
    assertEquals(
      sampleValue(m, "mcpcomm_http_requests_total", { route: "/metrics", status: "401" }),
      1,
    );
  } finally {
    await transport.terminateSession();
    await client.close();
  }
  assertEquals(sampleValue(await scrape(), "mcpcomm_mcp_sessions_open"), 0);
});

Deno.test("get_received_messages pages back through the ledger with offset", async () => {
  await using b = await startTestServerB({ MCPCOMM_DB: tempDb() });
  for (let i = 1; i <= 5; i++) {
    await (await postJson(`${b.url}/process`, { message: `m${i}` })).text();
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const mcp = createServerBMcp(b.service, "0.0.0");
  await mcp.connect(serverSide);
  const client = new V2Client({ name: "paging", version: "0.0.0" });
  await client.connect(clientSide);
  try {
    const page = await client.callTool({
      name: "get_received_messages",
      arguments: { limit: 2, offset: 1 },
    });
    const data = page.structuredContent as {
      totalReceived: number;
      offset: number;
      messages: { message: string }[];
    };
    assertEquals(data.totalReceived, 5);
    assertEquals(data.offset, 1);
    assertEquals(data.messages.map((m) => m.message), ["m3", "m4"]);
  } finally {
    await client.close();
  }
});

Deno.test("GET /metrics shows the load of an `mcpcomm test` run, which also lands in the ledger", async () => {
  await using b = await startTestServerB({ MCPCOMM_DB: tempDb() });
  const { code, stdout } = await runCli(["test", "--server-b-url", b.url, "--json"]);
  assertEquals(code, 0, stdout);
  const report = JSON.parse(stdout) as { steps: { name: string; ok: boolean }[] };
  assert(report.steps.every((s) => s.ok));
  const m = await metricsOf(b.url);
  const recorded = (await b.service.ledger.stats()).totalRequests;
  assert(recorded >= 2, `the run sent ${recorded} messages`);
  assertEquals(sampleValue(m, "mcpcomm_ai_requests_total", { status: "success" }), recorded);
  assertEquals(
    (sampleValue(m, "mcpcomm_http_requests_total", { route: "/process", status: "200" }) ?? 0) +
      (sampleValue(m, "mcpcomm_http_requests_total", { route: "/stream", status: "200" }) ?? 0),
    recorded,
  );
  assert((sampleValue(m, "mcpcomm_http_requests_total", { route: "/health" }) ?? 0) >= 1);
  assert((sampleValue(m, "mcpcomm_http_requests_total", { route: "/models" }) ?? 0) >= 1);
});

Deno.test("mcpcomm server-b stops gracefully on SIGINT too", async () => {
  await using b = await spawnServerB(["--db", tempDb()], {});
  b.child.kill("SIGINT");
  assertEquals((await b.child.status).code, 0);
  await b.closed;
  assert(b.lines.some((l) => l.includes('"msg":"Server B stopped"')));
});
