import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import postgres from "postgres";
import { loadConfig, secretValues } from "../../src/core/config.ts";
import { DomainError, StorageError } from "../../src/core/errors.ts";
import {
  createMemoryLedger,
  isPostgresUrl,
  openPostgresLedger,
  POSTGRES_SCHEMA_VERSION,
  redactPostgresUrl,
} from "../../src/ledger/mod.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { eventually, startTestServerB } from "../_helpers.ts";
import { postgresSkipReason, startPostgres, type TestPostgres } from "../_postgres.ts";
import { startHttpServerA } from "../server_a/_server_a.ts";
import { ledgerEntry as entry } from "./_entry.ts";

const reason = await postgresSkipReason();
const named = (name: string) => `${name}${reason ? ` (SKIPPED: ${reason})` : ""}`;

/** A test with its own PostgreSQL (started in well under a second), stopped and removed after. */
function pgTest(name: string, fn: (pg: TestPostgres, url: string) => Promise<void>): void {
  Deno.test({
    name: named(name),
    ignore: reason !== undefined,
    fn: async () => {
      await using pg = await startPostgres();
      await fn(pg, await pg.database("ledger"));
    },
  });
}

Deno.test("a postgres:// MCPCOMM_DB is recognised, redacted in logs and its password a secret", () => {
  const url = "postgres://mcpcomm:s3cr%40t@db.internal:5432/ledger?sslmode=require";
  assert(isPostgresUrl(url));
  assert(isPostgresUrl("postgresql://db/ledger"));
  assert(!isPostgresUrl("/var/lib/mcpcomm/server-b.db"));
  assert(!isPostgresUrl(":memory:"));
  assertEquals(
    redactPostgresUrl(url),
    "postgres://mcpcomm:***@db.internal:5432/ledger?sslmode=require",
  );
  const secrets = secretValues(loadConfig({ env: { MCPCOMM_DB: url } }));
  assert(secrets.includes("s3cr%40t") && secrets.includes("s3cr@t"), String(secrets.length));
  assertThrows(
    () => loadConfig({ env: { MCPCOMM_DB: "postgres:///nohost" } }),
    Error,
    'Invalid setting MCPCOMM_DB="postgres:///nohost": expected a file path, :memory: or postgres://',
  );
  const bad = assertThrows(() =>
    loadConfig({ env: { MCPCOMM_DB: "postgres://mcpcomm:hunter2@db:notaport/x" } })
  );
  assertMatch(bad.message, /^Invalid setting MCPCOMM_DB="postgres:\/\/mcpcomm:\*\*\*@db:notaport/);
});

Deno.test("an unreachable PostgreSQL fails the start with one line, without the password", async () => {
  const error = await assertRejects(() =>
    openPostgresLedger({
      url: "postgres://mcpcomm:hunter2secret@127.0.0.1:1/ledger",
      name: "server-b",
      maxEntries: 10,
      connectTimeoutSeconds: 2,
    }), StorageError);
  assertMatch(error.message, /^Cannot open the ledger database postgres:\/\/mcpcomm:\*\*\*@/);
  assert(!error.message.includes("hunter2secret"), error.message);
});

pgTest(
  "PostgreSQL ledger: record() resolves after COMMIT, seen by another replica at once",
  async (_pg, url) => {
    const one = await openPostgresLedger({ url, name: "server-b", maxEntries: 100 });
    const two = await openPostgresLedger({ url, name: "server-b", maxEntries: 100 });
    const raw = postgres(url, { max: 1, onnotice: () => {} });
    try {
      for (let i = 0; i < 20; i++) {
        const recorded = entry();
        await one.record(recorded);
        const [row] = await raw`SELECT count(*)::int AS n FROM mcpcomm_entries
        WHERE message_id = ${recorded.messageId}`;
        assertEquals(row?.n, 1, "committed before record() resolved");
        assertEquals((await two.recent(1))[0]?.messageId, recorded.messageId);
      }
      assertEquals((await two.stats()).totalRequests, 20);
      // Server A's ledger in the same database is its own.
      const a = await openPostgresLedger({ url, name: "server-a", maxEntries: 100 });
      assertEquals((await a.stats()).totalRequests, 0);
      assertEquals(await a.size, 0);
      await a.close();
    } finally {
      await raw.end();
      await one.close();
      await two.close();
    }
  },
);

pgTest(
  "PostgreSQL ledger: totals stay exact with two replicas writing at once past retention",
  async (_pg, url) => {
    const replicas = await Promise.all(
      [1, 2].map(() => openPostgresLedger({ url, name: "server-b", maxEntries: 25 })),
    );
    const expected = createMemoryLedger(1);
    try {
      const entries = Array.from({ length: 240 }, (_, i) =>
        entry({
          model: ["model-a", "model-b", "model-c"][i % 3]!,
          estimatedCost: i % 7 === 0 ? null : 0.0000001 * (i + 1),
          status: i % 11 === 0 ? "error" : "success",
          usage: { promptTokens: i, completionTokens: 2 * i, totalTokens: 3 * i },
          responseTime: 0.001 * i,
        }));
      for (const e of entries) expected.record(e);
      // Waves of concurrent writes from both replicas: several transactions in flight at once.
      for (let i = 0; i < entries.length; i += 40) {
        await Promise.all(
          entries.slice(i, i + 40).map((e, j) =>
            new Promise((resolve) => setTimeout(resolve, j % 5)).then(() =>
              replicas[j % 2]!.record(e)
            )
          ),
        );
      }
      const [first, second] = await Promise.all(replicas.map((ledger) => ledger.stats()));
      assertEquals(first, expected.stats());
      assertEquals(second, first);
      assertEquals(await replicas[0]!.size, 25);
      const kept = await replicas[1]!.recent();
      assertEquals(kept.length, 25);
    } finally {
      await Promise.all(replicas.map((ledger) => ledger.close()));
    }
  },
);

pgTest(
  "PostgreSQL ledger: an entry recorded twice is stored and counted once",
  async (_pg, url) => {
    const one = await openPostgresLedger({ url, name: "server-b", maxEntries: 100 });
    const two = await openPostgresLedger({ url, name: "server-b", maxEntries: 100 });
    try {
      const twice = entry();
      await one.record(twice);
      await one.record(twice);
      const raced = entry();
      await Promise.all([one.record(raced), two.record(raced), one.record(raced)]);
      await Promise.all([one.record(entry()), two.record(entry())]);
      const stats = await two.stats();
      assertEquals(stats.totalRequests, 4);
      assertEquals(stats.totalTokens, 32);
      assertEquals(await one.size, 4);
    } finally {
      await one.close();
      await two.close();
    }
  },
);

pgTest("PostgreSQL ledger: retention by count and by age keeps totals exact", async (_pg, url) => {
  let clock = Date.parse("2026-01-10T00:00:00Z");
  const ledger = await openPostgresLedger({
    url,
    name: "server-b",
    maxEntries: 5,
    maxAgeDays: 2,
    now: () => clock,
  });
  try {
    for (let i = 0; i < 8; i++) {
      await ledger.record(entry({ timestamp: new Date(clock - 3 * 86_400_000).toISOString() }));
    }
    assertEquals(await ledger.size, 0, "older than two days: dropped at once");
    for (let i = 0; i < 8; i++) {
      await ledger.record(
        entry({ message: `kept ${i}`, timestamp: new Date(clock).toISOString() }),
      );
    }
    assertEquals(
      (await ledger.recent()).map((e) => e.message),
      [3, 4, 5, 6, 7].map((i) => `kept ${i}`),
    );
    assertEquals((await ledger.recent(2, 1)).map((e) => e.message), ["kept 5", "kept 6"]);
    clock += 3 * 86_400_000;
    await ledger.record(entry({ message: "new", timestamp: new Date(clock).toISOString() }));
    assertEquals((await ledger.recent()).map((e) => e.message), ["new"]);
    const stats = await ledger.stats();
    assertEquals([stats.totalRequests, stats.totalTokens], [17, 17 * 8]);
    assertEquals(stats.estimatedTotalCost, 0.002091);
  } finally {
    await ledger.close();
  }
});

pgTest(
  "PostgreSQL ledger: replicas starting together migrate once; a newer schema is refused",
  async (_pg, url) => {
    const ledgers = await Promise.all(
      Array.from(
        { length: 4 },
        () => openPostgresLedger({ url, name: "server-b", maxEntries: 10 }),
      ),
    );
    const raw = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await raw`SELECT version FROM mcpcomm_schema_migrations ORDER BY version`;
      assertEquals(
        rows.map((row) => row.version),
        [POSTGRES_SCHEMA_VERSION],
      );
      await Promise.all(ledgers.map((ledger) => ledger.record(entry())));
      assertEquals((await ledgers[0]!.stats()).totalRequests, 4);
      await raw`INSERT INTO mcpcomm_schema_migrations (version) VALUES (${
        POSTGRES_SCHEMA_VERSION + 1
      })`;
      const error = await assertRejects(
        () => openPostgresLedger({ url, name: "server-b", maxEntries: 10 }),
        StorageError,
      );
      assertMatch(error.message, /written by a newer mcpcomm/);
    } finally {
      await raw.end();
      await Promise.all(ledgers.map((ledger) => ledger.close()));
    }
  },
);

pgTest(
  "PostgreSQL ledger: a database that goes away answers 503, then recovers",
  async (pg, url) => {
    const ledger = await openPostgresLedger({
      url,
      name: "server-b",
      maxEntries: 10,
      connectTimeoutSeconds: 2,
    });
    try {
      await ledger.record(entry());
      await pg.down();
      const error = await assertRejects(() => ledger.record(entry()), DomainError);
      assertEquals((error as DomainError).kind, "unavailable");
      assertMatch(error.message, /^Cannot record new work: .*; the exchange was not recorded$/);
      assert(!error.message.includes(pg.password), "no password in the answer");
      const unread = await assertRejects(() => ledger.stats(), DomainError);
      assertEquals((unread as DomainError).kind, "unavailable");
      assert(ledger.problem() !== undefined, "readiness tells the ledger is down");
      await pg.up();
      await eventually(() => assertEquals(ledger.problem(), undefined), {
        what: "the probe to find the database back",
        intervalMs: 100,
      });
      await ledger.record(entry());
      assertEquals((await ledger.stats()).totalRequests, 2);
    } finally {
      await ledger.close();
    }
  },
);

interface Stats {
  totalRequests: number;
  totalTokens: number;
  estimatedTotalCost: number;
}

async function callTool(url: string, name: string, args: Record<string, unknown> = {}) {
  const client = new Client({ name: "ledger-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = await client.callTool({ name, arguments: args }) as {
      isError?: boolean;
      structuredContent?: Record<string, unknown>;
      content: { text?: string }[];
    };
    assert(!result.isError, JSON.stringify(result.content));
    return result.structuredContent ?? JSON.parse(result.content[0]?.text ?? "{}");
  } finally {
    await client.close();
  }
}

pgTest(
  "Server A and two Server B replicas on one PostgreSQL give the same totals",
  async (_pg, url) => {
    await using b1 = await startTestServerB({ MCPCOMM_DB: url });
    await using b2 = await startTestServerB({ MCPCOMM_DB: url });
    await using a = await startHttpServerA({
      SERVER_B_URL: `${b1.url},${b2.url}`,
      MCPCOMM_DB: url,
    });
    assertEquals(b1.service.ledger.location, redactPostgresUrl(url));
    const sent = 6;
    for (let i = 0; i < sent; i++) {
      await callTool(a.mcpUrl.href, "send_message_to_ai", { message: `hello ${i}` });
    }
    const [fromB1, fromB2] = await Promise.all([
      callTool(`${b1.url}/mcp`, "get_ai_stats") as Promise<Stats>,
      callTool(`${b2.url}/mcp`, "get_ai_stats") as Promise<Stats>,
    ]);
    assertEquals(fromB1.totalRequests, sent);
    assertEquals(fromB2, fromB1);
    const history = await callTool(`${b2.url}/mcp`, "get_received_messages", { limit: 100 });
    assertEquals(history.totalReceived, sent);
    assertEquals(history.returned, sent);
    for (const b of [b1, b2]) {
      const health = await (await fetch(`${b.url}/health`)).json();
      assertEquals(health.messagesProcessed, sent);
    }
    const fromA = await callTool(a.mcpUrl.href, "get_ai_usage_stats") as Stats;
    assertEquals(fromA.totalRequests, sent);
    assertEquals(fromA.totalTokens, fromB1.totalTokens);
    const health = await (await fetch(`${a.url}/health`)).json();
    assertEquals(health.messagesSent, sent);
  },
);
