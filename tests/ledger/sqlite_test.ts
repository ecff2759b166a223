import { DatabaseSync } from "node:sqlite";
import { loadConfig } from "../../src/core/config.ts";
import { DomainError, StorageError } from "../../src/core/errors.ts";
import {
  createMemoryLedger,
  type LedgerEntry,
  MEMORY_DB,
  openLedger,
  openServerLedger,
  openSqliteLedger,
  type SqliteLedger,
} from "../../src/ledger/mod.ts";
import { createLogger, setLogSink } from "../../src/core/log.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../_assert.ts";
import { tempDirSync, tempFileSync, tmpfsTest } from "../_helpers.ts";

function entry(i: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    messageId: `m-${i}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    message: `message ${i}`,
    context: i % 2 ? `context ${i}` : undefined,
    aiResponse: `answer ${i}`,
    model: i % 3 ? "gpt-4o-mini" : "gpt-4",
    provider: "openai",
    usage: { promptTokens: 10 + i, completionTokens: 20 + i, totalTokens: 30 + 2 * i },
    estimatedCost: i % 5 === 4 ? null : 0.0001 * i + 0.00000123,
    responseTime: 0.25 + i / 1000,
    status: "success",
    ...overrides,
  };
}

/** Entry `i` as a failed exchange: no answer, no tokens, no cost. */
function failedEntry(i: number): LedgerEntry {
  return entry(i, {
    status: "error",
    error: "provider down",
    aiResponse: undefined,
    estimatedCost: null,
    usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
  });
}

function withoutUndefined(e: LedgerEntry): LedgerEntry {
  return JSON.parse(JSON.stringify(e));
}

function tempDb(): string {
  return `${tempDirSync({ prefix: "mcpcomm-ledger-" })}/sub/dir/ledger.db`;
}

Deno.test("openSqliteLedger() keeps 3 recorded messages and their cost across a restart", async () => {
  const path = tempDb();
  const first = openSqliteLedger({ path, maxEntries: 100 });
  const entries = [entry(1), entry(2), entry(3)];
  for (const e of entries) await first.record(e);
  const before = { stats: first.stats(), recent: first.recent(), size: first.size };
  first.close();

  const second = openSqliteLedger({ path, maxEntries: 100 });
  try {
    assertEquals(second.size, 3);
    assertEquals(second.recent(), entries.map(withoutUndefined));
    assertEquals(second.stats(), before.stats);
    assertEquals(second.recent(), before.recent);
    assertEquals(second.stats().totalRequests, 3);
    assertEquals(second.stats().estimatedTotalCost, 0.00060369);
    assertEquals(second.location, path);
  } finally {
    second.close();
  }
});

Deno.test("openSqliteLedger() totals match the in-memory ledger's for the same entries", async () => {
  const sqlite = openSqliteLedger({ path: MEMORY_DB, maxEntries: 1000 });
  const memory = createMemoryLedger(1000);
  for (let i = 0; i < 40; i++) {
    const e = i % 7 === 6 ? failedEntry(i) : entry(i);
    await sqlite.record(e);
    memory.record(e);
  }
  const s = sqlite.stats();
  const m = memory.stats();
  assertEquals(s.totalRequests, 40);
  assertEquals(s.failedRequests, 5);
  assertEquals({ ...s, averageResponseTime: 0 }, { ...m, averageResponseTime: 0 });
  assert(Math.abs(s.averageResponseTime - m.averageResponseTime) < 1e-9);
  sqlite.close();
});

Deno.test("openSqliteLedger() pages with recent(limit, offset), oldest first", async () => {
  const ledger = openSqliteLedger({ path: MEMORY_DB, maxEntries: 100 });
  for (let i = 0; i < 10; i++) await ledger.record(entry(i));
  assertEquals(ledger.recent(3).map((e) => e.messageId), ["m-7", "m-8", "m-9"]);
  assertEquals(ledger.recent(3, 3).map((e) => e.messageId), ["m-4", "m-5", "m-6"]);
  assertEquals(ledger.recent(5, 8).map((e) => e.messageId), ["m-0", "m-1"]);
  assertEquals(ledger.recent(3, 20), []);
  assertEquals(ledger.recent().length, 10);
  const memory = createMemoryLedger(100);
  for (let i = 0; i < 10; i++) memory.record(entry(i));
  assertEquals(ledger.recent(4, 2), memory.recent(4, 2).map(withoutUndefined));
  ledger.close();
});

Deno.test("openSqliteLedger() retention drops entries but keeps totals exact", async (t) => {
  await t.step("by count", async () => {
    const path = tempDb();
    const ledger = openSqliteLedger({ path, maxEntries: 3 });
    const memory = createMemoryLedger(1000);
    for (let i = 0; i < 12; i++) {
      await ledger.record(entry(i));
      memory.record(entry(i));
    }
    assertEquals(ledger.size, 3);
    assertEquals(ledger.recent().map((e) => e.messageId), ["m-9", "m-10", "m-11"]);
    assertEquals(ledger.stats().totalRequests, 12);
    assertEquals(ledger.stats().estimatedTotalCost, memory.stats().estimatedTotalCost);
    assertEquals(ledger.stats().models, memory.stats().models);
    ledger.close();

    const smaller = openSqliteLedger({ path, maxEntries: 1 });
    assertEquals(smaller.size, 1, "a lower bound applies at start-up");
    assertEquals(smaller.stats().totalTokens, memory.stats().totalTokens);
    smaller.close();
  });

  await t.step("by age", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const ledger = openSqliteLedger({
      path: MEMORY_DB,
      maxEntries: 1000,
      maxAgeDays: 2,
      now: () => clock,
    });
    const at = (days: number) => new Date(Date.UTC(2026, 0, 1) + days * 86_400_000).toISOString();
    await ledger.record(entry(1, { timestamp: at(0) }));
    await ledger.record(entry(2, { timestamp: at(1) }));
    clock += 2.5 * 86_400_000;
    await ledger.record(entry(3, { timestamp: at(2.5) }));
    assertEquals(ledger.recent().map((e) => e.messageId), ["m-2", "m-3"]);
    clock += 5 * 86_400_000;
    await ledger.record(entry(4, { timestamp: at(7.5) }));
    assertEquals(ledger.recent().map((e) => e.messageId), ["m-4"]);
    assertEquals(ledger.stats().totalRequests, 4);
    assertEquals(ledger.stats().promptTokens, 11 + 12 + 13 + 14);
    ledger.close();
  });
});

Deno.test("openSqliteLedger() refuses a bad file with one clear line", async (t) => {
  await t.step("not a database", () => {
    const path = tempDb();
    Deno.mkdirSync(path.replace(/\/[^/]+$/, ""), { recursive: true });
    Deno.writeTextFileSync(path, "these are not the bytes of an SQLite database\n".repeat(200));
    const error = assertThrows(() => openSqliteLedger({ path, maxEntries: 10 }), StorageError);
    assertMatch(
      error.message,
      /^Cannot open the ledger database .*ledger\.db: file is not a database/,
    );
    assertEquals(error.message.split("\n").length, 1);
    assertMatch(error.message, /--db/);
  });

  await t.step("a damaged page", async () => {
    const path = tempDb();
    const ledger = openSqliteLedger({ path, maxEntries: 1000 });
    for (let i = 0; i < 200; i++) await ledger.record(entry(i, { message: "x".repeat(500) }));
    ledger.close();
    const bytes = Deno.readFileSync(path);
    const pageSize = (bytes[16]! << 8) | bytes[17]!;
    assert(bytes.length > 8 * pageSize, `database has ${bytes.length} bytes`);
    for (let page = 1; page < bytes.length / pageSize; page++) {
      bytes.fill(0xa5, page * pageSize, page * pageSize + 64);
    }
    Deno.writeFileSync(path, bytes);
    const error = assertThrows(() => openSqliteLedger({ path, maxEntries: 10 }), StorageError);
    assertMatch(error.message, /^Cannot open the ledger database .*: .*(malformed|corrupt)/);
  });

  await t.step("another program's database", () => {
    const path = tempDb();
    Deno.mkdirSync(path.replace(/\/[^/]+$/, ""), { recursive: true });
    const other = new DatabaseSync(path);
    other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    other.close();
    const error = assertThrows(() => openSqliteLedger({ path, maxEntries: 10 }), StorageError);
    assertMatch(error.message, /not an mcpcomm ledger/);
  });

  await t.step("a directory that cannot be created", () => {
    const file = tempFileSync();
    const error = assertThrows(
      () => openSqliteLedger({ path: `${file}/ledger.db`, maxEntries: 10 }),
      StorageError,
    );
    assertMatch(error.message, /^Cannot open the ledger database /);
  });
});

async function fillUntilFull(
  ledger: ReturnType<typeof openSqliteLedger>,
  big: string,
  timestamp?: () => string,
): Promise<DomainError & { totalRequests: number }> {
  for (let i = 0; i < 100_000; i++) {
    try {
      await ledger.record(
        entry(i, { aiResponse: big, ...(timestamp ? { timestamp: timestamp() } : {}) }),
      );
    } catch (error) {
      assert(error instanceof DomainError, `expected DomainError, got ${error}`);
      return Object.assign(error, { totalRequests: i });
    }
  }
  throw new Error("the database never filled up");
}

Deno.test("openSqliteLedger() turns a full disk into 'unavailable' for new work", async (t) => {
  await t.step("database size limit (max_page_count)", async () => {
    const path = tempDb();
    const ledger = openSqliteLedger({ path, maxEntries: 100_000, maxBytes: 256 * 1024 });
    const error = await fillUntilFull(ledger, "y".repeat(8000));
    assertEquals(error.kind, "unavailable");
    assertEquals(error.options.retryAfterSeconds, 1);
    assertMatch(error.message, /full/);
    const kept = ledger.stats();
    assertEquals(kept.totalRequests, ledger.size, "the failed entry left no trace in the totals");
    assertMatch(ledger.problem() ?? "", /full/, "readiness fails while the store is full");
    assertEquals(ledger.recent(1)[0]?.messageId, `m-${kept.totalRequests - 1}`);
    ledger.close();

    let clock = Date.UTC(2026, 0, 1);
    const aging = openSqliteLedger({
      path: tempDb(),
      maxEntries: 100_000,
      maxAgeDays: 1,
      maxBytes: 256 * 1024,
      now: () => clock,
    });
    const full = await fillUntilFull(aging, "y".repeat(8000), () => new Date(clock).toISOString());
    assertMatch(full.message, /full/);
    clock += 5000;
    assertMatch(aging.problem() ?? "", /full/, "a probe the size of the failed entry still fails");
    clock += 2 * 86_400_000;
    assertEquals(aging.problem(), undefined, "age retention freed room; the probe passes");
    await aging.record(
      entry(1, { timestamp: new Date(clock).toISOString(), aiResponse: "y".repeat(8000) }),
    );
    assertEquals(aging.size, 1);
    assertEquals(aging.stats().totalRequests, full.totalRequests + 1);
    aging.close();

    const roomy = openSqliteLedger({ path, maxEntries: 100_000 });
    assertEquals(roomy.stats(), kept);
    await roomy.record(entry(1, { aiResponse: "short" }));
    assertEquals(roomy.stats().totalRequests, kept.totalRequests + 1);
    assertEquals(roomy.problem(), undefined);
    roomy.close();
  });

  await t.step(tmpfsTest("a real full file system (tmpfs)", "512k", async (dir) => {
    let clock = 1_000_000;
    const ledger = openSqliteLedger({
      path: `${dir}/ledger.db`,
      maxEntries: 100_000,
      now: () => clock,
    });
    const error = await fillUntilFull(ledger, "z".repeat(8000));
    assertEquals(error.kind, "unavailable");
    assertMatch(error.message, /full/);
    const before = ledger.stats();
    assertEquals(before.totalRequests, ledger.size);
    assertMatch(ledger.problem() ?? "", /full/);
    clock += 5000;
    ledger.close();
    const reopened = openSqliteLedger({ path: `${dir}/ledger.db`, maxEntries: 100_000 });
    assertEquals(reopened.stats(), before, "nothing recorded was lost");
    reopened.close();
  }));
});

Deno.test("openLedger() picks memory or a database from the settings", () => {
  assertEquals(
    openLedger({ db: MEMORY_DB, defaultPath: tempDb(), maxEntries: 5 }).location,
    "memory",
  );
  assertEquals(openLedger({ db: undefined, maxEntries: 5 }).location, "memory");
  const path = tempDb();
  const ledger = openLedger({ db: undefined, defaultPath: path, maxEntries: 5 });
  assertEquals(ledger.location, path);
  ledger.close();
  const explicit = tempDb();
  const other = openLedger({ db: explicit, defaultPath: path, maxEntries: 5 });
  assertEquals(other.location, explicit);
  other.close();
});

Deno.test("openSqliteLedger() lets two processes share one file with exact totals", async () => {
  const path = tempDb();
  const ledger = openSqliteLedger({ path, maxEntries: 1000 });
  const module = new URL("../../src/ledger/mod.ts", import.meta.url).href;
  const script = `
    const { openSqliteLedger } = await import(${JSON.stringify(module)});
    const ledger = openSqliteLedger({ path: Deno.args[0], maxEntries: 1000 });
    for (let i = 0; i < 200; i++) {
      await ledger.record({ messageId: "child-" + i, timestamp: new Date().toISOString(),
        message: "from the child", model: "gpt-4o-mini", provider: "openai",
        usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
        estimatedCost: 0.0000007, responseTime: 0.1, status: "success" });
    }
    ledger.close();`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script, path],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    await ledger.record(entry(i, { model: "gpt-4o-mini", estimatedCost: 0.0000007 }));
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const status = await child.output();
  assertEquals(status.code, 0, new TextDecoder().decode(status.stderr));
  const stats = ledger.stats();
  assertEquals(stats.totalRequests, 400);
  assertEquals(stats.models["gpt-4o-mini"]?.requests, 400);
  assertEquals(stats.estimatedTotalCost, 0.00028);
  assertEquals(ledger.size, 400);
  ledger.close();
});

Deno.test("openSqliteLedger() close() flushes the WAL into the database file", async () => {
  const path = tempDb();
  const ledger = openSqliteLedger({ path, maxEntries: 10 });
  await ledger.record(entry(1));
  ledger.close();
  ledger.close();
  let walSize = 0;
  try {
    walSize = Deno.statSync(`${path}-wal`).size;
  } catch {
    walSize = 0;
  }
  assertEquals(walSize, 0);
  const raw = new DatabaseSync(path, { readOnly: true });
  assertEquals((raw.prepare("SELECT count(*) AS n FROM entries").get() as { n: number }).n, 1);
  raw.close();
  await assertRejects(() => ledger.record(entry(2)), DomainError, "shutting down");
});

/**
 * Transactions committed to the WAL file since it was last reset: SQLite marks the last frame of
 * each commit with the database size after it (0 in other frames); frames whose salts differ from
 * the header's are left over from before a reset.
 */
function walCommits(path: string): number {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${path}-wal`);
  } catch {
    return 0;
  }
  if (bytes.length < 32) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pageSize = view.getUint32(8) === 1 ? 65536 : view.getUint32(8);
  const [salt1, salt2] = [view.getUint32(16), view.getUint32(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= bytes.length; at += 24 + pageSize) {
    if (view.getUint32(at + 8) !== salt1 || view.getUint32(at + 12) !== salt2) break;
    if (view.getUint32(at + 4) !== 0) commits++;
  }
  return commits;
}

function mixedEntry(i: number): LedgerEntry {
  return i % 9 === 8
    ? failedEntry(i)
    : entry(i, { model: ["gpt-4o-mini", "gpt-4", "unpriced-model"][i % 3]! });
}

Deno.test("openSqliteLedger() commits records made in one turn together, in one transaction", async (t) => {
  const path = tempDb();
  const ledger = openSqliteLedger({ path, maxEntries: 1000 });
  const memory = createMemoryLedger(1000);
  try {
    await t.step("200 concurrent records all land with exact totals, in one commit", async () => {
      const entries = Array.from({ length: 200 }, (_, i) => mixedEntry(i));
      const before = walCommits(path);
      await Promise.all(entries.map((e) => ledger.record(e)));
      assertEquals(walCommits(path) - before, 1);
      for (const e of entries) memory.record(e);
      assertEquals(ledger.size, 200);
      assertEquals(ledger.recent(), entries.map(withoutUndefined));
      const stats = ledger.stats();
      assertEquals(stats.totalRequests, 200);
      assertEquals(stats.failedRequests, 22);
      assertEquals(
        { ...stats, averageResponseTime: 0 },
        { ...memory.stats(), averageResponseTime: 0 },
      );
      assert(Math.abs(stats.averageResponseTime - memory.stats().averageResponseTime) < 1e-9);
    });

    await t.step("records awaited one by one are one commit each", async () => {
      const before = walCommits(path);
      for (let i = 200; i < 203; i++) await ledger.record(entry(i));
      assertEquals(walCommits(path) - before, 3);
      assertEquals(ledger.stats().totalRequests, 203);
    });

    await t.step("a record resolves only once its entry can be read back", async () => {
      const pending = ledger.record(entry(203));
      assertEquals(ledger.size, 203, "not yet committed");
      await pending;
      assertEquals(ledger.size, 204);
      assertEquals(ledger.recent(1)[0]?.messageId, "m-203");
    });
  } finally {
    ledger.close();
  }

  await t.step("a restart keeps everything", () => {
    const again = openSqliteLedger({ path, maxEntries: 1000 });
    try {
      assertEquals(again.size, 204);
      assertEquals(again.stats().totalRequests, 204);
      assertEquals(again.recent(2).map((e) => e.messageId), ["m-202", "m-203"]);
    } finally {
      again.close();
    }
  });
});

Deno.test("openSqliteLedger() keeps at most maxEntries across batches of any size", async () => {
  const ledger = openSqliteLedger({ path: tempDb(), maxEntries: 50 });
  const memory = createMemoryLedger(1000);
  const batch = async (from: number, count: number) => {
    const entries = Array.from({ length: count }, (_, i) => mixedEntry(from + i));
    await Promise.all(entries.map((e) => ledger.record(e)));
    for (const e of entries) memory.record(e);
  };
  try {
    await batch(0, 30);
    assertEquals(ledger.size, 30);
    await batch(30, 40);
    assertEquals(ledger.recent().map((e) => e.messageId)[0], "m-20");
    assertEquals(ledger.size, 50);
    await batch(70, 200);
    assertEquals(ledger.size, 50);
    assertEquals(ledger.recent().map((e) => e.messageId)[0], "m-220");
    assertEquals(ledger.recent(1)[0]?.messageId, "m-269");
    assertEquals(
      { ...ledger.stats(), averageResponseTime: 0 },
      { ...memory.stats(), averageResponseTime: 0 },
    );
  } finally {
    ledger.close();
  }
});

Deno.test("openSqliteLedger() fails only the entry that does not fit when a batch fails", async () => {
  const path = tempDb();
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  const ledger = openSqliteLedger({
    path,
    maxEntries: 100_000,
    maxBytes: 256 * 1024,
    log: createLogger("ledger-test"),
  });
  try {
    const entries = Array.from(
      { length: 21 },
      (_, i) => i === 10 ? entry(i, { aiResponse: "h".repeat(400_000) }) : entry(i),
    );
    const before = walCommits(path);
    const results = await Promise.allSettled(entries.map((e) => ledger.record(e)));
    const refused = results.flatMap((r, i) => r.status === "rejected" ? [[i, r.reason]] : []);
    assertEquals(refused.length, 1);
    const [index, error] = refused[0] as [number, unknown];
    assertEquals(index, 10);
    assert(error instanceof DomainError, `expected DomainError, got ${error}`);
    assertEquals(error.kind, "unavailable");
    assertEquals(error.options.retryAfterSeconds, 1);
    assertEquals(
      error.message,
      "Cannot record new work: the ledger database is full; the exchange was not recorded",
    );
    assertEquals(walCommits(path) - before, 20, "the others were committed one by one");
    assertEquals(ledger.stats().totalRequests, 20);
    assertEquals(ledger.size, 20);
    assert(!ledger.recent().some((e) => e.messageId === "m-10"));
    const logged = lines.filter((line) => line.includes("ledger write failed"));
    assertEquals(logged.length, 1, lines.join("\n"));
    assertMatch(logged[0]!, /"messageId":"m-10"/);
  } finally {
    restore();
    ledger.close();
  }
});

Deno.test("openSqliteLedger() close() commits what is still queued", async () => {
  const path = tempDb();
  const ledger = openSqliteLedger({ path, maxEntries: 100 });
  const pending = [1, 2, 3, 4, 5].map((i) => ledger.record(entry(i)));
  assertEquals(ledger.size, 0);
  ledger.close();
  await Promise.all(pending);
  await assertRejects(() => ledger.record(entry(6)), DomainError, "shutting down");
  const again = openSqliteLedger({ path, maxEntries: 100 });
  try {
    assertEquals(again.recent().map((e) => e.messageId), ["m-1", "m-2", "m-3", "m-4", "m-5"]);
    assertEquals(again.stats().totalRequests, 5);
  } finally {
    again.close();
  }
});

Deno.test("openSqliteLedger() syncs at every commit by default, at checkpoints with sync normal", () => {
  const full = openSqliteLedger({ path: tempDb(), maxEntries: 10 });
  assertEquals(full.synchronous, 2);
  full.close();
  const normal = openSqliteLedger({ path: tempDb(), maxEntries: 10, sync: "normal" });
  assertEquals(normal.synchronous, 1);
  normal.close();

  const path = tempDb();
  for (const [env, expected] of [[{}, 2], [{ MCPCOMM_DB_SYNC: "normal" }, 1]] as const) {
    const config = loadConfig({ env: { MCPCOMM_DB: path, ...env } });
    const ledger = openServerLedger(config, { server: "server-b" }) as SqliteLedger;
    assertEquals(ledger.synchronous, expected, JSON.stringify(env));
    ledger.close();
  }
});

/** Opens a ledger at `path` under umask 000, records 5 entries, prints the modes of its files. */
const UMASK_CHILD = `
const { openSqliteLedger } = await import(Deno.args[1]);
const path = Deno.args[0];
const mode = (file) => (Deno.statSync(file).mode & 0o777).toString(8);
const ledger = openSqliteLedger({ path, maxEntries: 100 });
const opened = mode(path);
for (let i = 0; i < 5; i++) {
  await ledger.record({ messageId: "m" + i, timestamp: new Date().toISOString(), message: "text",
    aiResponse: "answer", model: "gpt-4", provider: "mock", status: "success",
    usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, estimatedCost: 0,
    responseTime: 0.1 });
}
console.log(JSON.stringify([opened, ...[path, path + "-wal", path + "-shm"].map(mode)]));
ledger.close();
`;

async function underUmask000(path: string): Promise<string[]> {
  const module = new URL("../../src/ledger/mod.ts", import.meta.url).href;
  const output = await new Deno.Command("sh", {
    args: [
      "-c",
      'umask 000 && exec "$0" eval "$1" "$2" "$3"',
      Deno.execPath(),
      UMASK_CHILD,
      path,
      module,
    ],
    stderr: "inherit",
  }).output();
  assertEquals(output.code, 0);
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test({
  name: "openSqliteLedger() keeps its folder 0700 and its files 0600 whatever the umask",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const base = tempDirSync({ prefix: "mcpcomm-ledger-" });
    const path = `${base}/data/mcpcomm/server-b.db`;
    const mode = (file: string) => (Deno.statSync(file).mode! & 0o777).toString(8);
    assertEquals(await underUmask000(path), ["600", "600", "600", "600"]);
    assertEquals([mode(`${base}/data`), mode(`${base}/data/mcpcomm`)], ["700", "700"]);
    assertEquals(mode(base), "700", "a folder that already existed keeps its mode");

    Deno.chmodSync(path, 0o644);
    assertEquals(await underUmask000(path), ["600", "600", "600", "600"]);
  },
});
