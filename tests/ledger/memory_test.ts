import { createMemoryLedger, type LedgerEntry } from "../../src/ledger/mod.ts";
import { assertEquals } from "../_assert.ts";
import { ledgerEntry } from "./_entry.ts";

/** The shared entry, with the model and response time these tests total up. */
function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return ledgerEntry({ model: "gpt-4o-mini", responseTime: 1, ...overrides });
}

Deno.test("createMemoryLedger() records synchronously: no promise to wait for", () => {
  const ledger = createMemoryLedger(3);
  assertEquals(ledger.record(entry()), undefined);
  assertEquals(ledger.size, 1);
  assertEquals(ledger.stats().totalRequests, 1);
});

Deno.test("createMemoryLedger() keeps at most maxEntries, oldest dropped, totals exact", () => {
  const ledger = createMemoryLedger(3);
  const entries = [1, 2, 3, 4, 5].map((i) =>
    entry({
      messageId: `m${i}`,
      usage: { promptTokens: i, completionTokens: 2 * i, totalTokens: 3 * i },
      estimatedCost: 0.1 * i,
      responseTime: i,
    })
  );
  for (const e of entries) ledger.record(e);
  assertEquals(ledger.size, 3);
  assertEquals(ledger.recent().map((e) => e.messageId), ["m3", "m4", "m5"]);
  const stats = ledger.stats();
  assertEquals(stats.totalRequests, 5);
  assertEquals(stats.successfulRequests, 5);
  assertEquals(stats.promptTokens, 15);
  assertEquals(stats.completionTokens, 30);
  assertEquals(stats.totalTokens, 45);
  assertEquals(stats.estimatedTotalCost, 1.5);
  assertEquals(stats.averageResponseTime, 3);
  assertEquals(stats.models["gpt-4o-mini"]?.requests, 5);
  assertEquals(stats.models["gpt-4o-mini"]?.estimatedCost, 1.5);
});

Deno.test("createMemoryLedger().recent() pages from the newest, oldest first", async (t) => {
  const ledger = createMemoryLedger(4);
  for (let i = 1; i <= 6; i++) ledger.record(entry({ messageId: `m${i}` }));
  const ids = (limit?: number, offset?: number) =>
    ledger.recent(limit, offset).map((e) => e.messageId);
  await t.step("limit", () => assertEquals(ids(2), ["m5", "m6"]));
  await t.step("offset", () => assertEquals(ids(2, 1), ["m4", "m5"]));
  await t.step("more than kept", () => assertEquals(ids(100), ["m3", "m4", "m5", "m6"]));
  await t.step("offset past the end", () => assertEquals(ids(2, 10), []));
  await t.step("zero", () => assertEquals(ids(0), []));
});

Deno.test("createMemoryLedger() counts failures apart and unpriced models apart", () => {
  const ledger = createMemoryLedger(10);
  ledger.record(entry({ model: "a", estimatedCost: 0.25 }));
  ledger.record(entry({ model: "b", estimatedCost: null }));
  ledger.record(entry({
    model: "a",
    status: "error",
    error: "boom",
    aiResponse: undefined,
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    estimatedCost: null,
    responseTime: 100,
  }));
  const stats = ledger.stats();
  assertEquals([stats.totalRequests, stats.successfulRequests, stats.failedRequests], [3, 2, 1]);
  assertEquals(stats.estimatedTotalCost, 0.25);
  assertEquals(stats.unpricedRequests, 1);
  assertEquals(stats.averageResponseTime, 1);
  assertEquals(stats.models.a?.requests, 1);
  assertEquals(stats.models.b?.unpricedRequests, 1);
  assertEquals(stats.models.b?.estimatedCost, 0);
  assertEquals(ledger.size, 3);
});

Deno.test("createMemoryLedger() sums costs without floating-point drift", () => {
  const ledger = createMemoryLedger(1);
  for (let i = 0; i < 1000; i++) ledger.record(entry({ estimatedCost: 0.0001 }));
  assertEquals(ledger.stats().estimatedTotalCost, 0.1);
  assertEquals(ledger.size, 1);
});

Deno.test("createMemoryLedger() treats model names like __proto__ as plain keys", () => {
  const ledger = createMemoryLedger(5);
  for (const model of ["__proto__", "constructor", "toString"]) ledger.record(entry({ model }));
  const stats = ledger.stats();
  assertEquals(Object.keys(stats.models).sort(), ["__proto__", "constructor", "toString"]);
  assertEquals(stats.models["constructor"]?.requests, 1);
  assertEquals(({} as Record<string, unknown>).requests, undefined);
});

Deno.test("createMemoryLedger().stats() is a snapshot, not a live view", () => {
  const ledger = createMemoryLedger(5);
  ledger.record(entry());
  const before = ledger.stats();
  ledger.record(entry());
  assertEquals(before.totalRequests, 1);
  assertEquals(before.models["gpt-4o-mini"]?.requests, 1);
});
