/**
 * The persistent {@linkcode Ledger}: an embedded SQLite database (Deno's built-in `node:sqlite`)
 * in WAL mode, so an exchange is committed before its answer is returned. Exchanges recorded in
 * the same event-loop turn are committed together (group commit: one transaction, one fsync).
 * Entries are kept by count and age; totals live in their own table, updated in the same
 * transaction, so they stay exact whatever retention drops. Several processes on one host may
 * share a file.
 * @module
 */
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { clearImmediate, setImmediate } from "node:timers";
import { describeError, HttpError, StorageError } from "../core/errors.ts";
import {
  createMemoryLedger,
  emptyLedgerStats,
  type LedgerEntry,
  type LedgerStats,
  roundLedgerValue,
  type SyncLedger,
} from "./memory.ts";
import type { Config } from "../core/config.ts";
import type { Logger } from "../core/log.ts";
import { defaultDatabasePath } from "../core/paths.ts";

/** The value of `--db` / MCPCOMM_DB that keeps the ledger in memory only. */
export const MEMORY_DB = ":memory:";

/** Costs are summed as integers of this many units per US dollar, so sums are exact. */
const COST_UNITS = 1e10;
const SCHEMA_VERSION = 1;
const DAY_MS = 86_400_000;
/**
 * How often, at most, a store that failed is probed (by writing as many bytes as the entry that
 * failed, then deleting them) before new work is let in again.
 */
const PROBE_INTERVAL_MS = 1000;
const encoder = new TextEncoder();

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  timestamp TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  message TEXT NOT NULL,
  context TEXT,
  ai_response TEXT,
  model TEXT NOT NULL,
  provider TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  estimated_cost REAL,
  response_time REAL NOT NULL,
  status TEXT NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (time_ms);
CREATE TABLE IF NOT EXISTS totals (
  model TEXT PRIMARY KEY,
  requests INTEGER NOT NULL DEFAULT 0,
  successes INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  cost_units INTEGER NOT NULL DEFAULT 0,
  unpriced INTEGER NOT NULL DEFAULT 0,
  response_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/**
 * MCPCOMM_DB_SYNC: `full` syncs the WAL to disk at every commit (a committed exchange survives
 * power loss); `normal` only at checkpoints (it survives a crash of mcpcomm, but the last commits
 * may be lost when the machine loses power or the OS crashes).
 */
export type LedgerSync = "full" | "normal";

/** Options of {@linkcode openSqliteLedger}. */
export interface SqliteLedgerOptions {
  /** Database file, or `:memory:` for an SQLite database that dies with the process. */
  path: string;
  /** When commits reach the disk; default `full`. */
  sync?: LedgerSync;
  /** Most entries kept (retention by count); totals count every entry ever recorded. */
  maxEntries: number;
  /** Entries older than this many days are dropped; 0 keeps them regardless of age. */
  maxAgeDays?: number;
  /** Largest database size in bytes; a write past it fails as on a full disk. */
  maxBytes?: number;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
  log?: Logger;
}

/** Options of {@linkcode openLedger}. */
export interface OpenLedgerOptions {
  /** MCPCOMM_DB: a file, `:memory:`, or unset for `defaultPath`. */
  db: string | undefined;
  /** The file used when `db` is unset; without it the ledger lives in memory. */
  defaultPath?: string | undefined;
  maxEntries: number;
  maxAgeDays?: number;
  /** When commits reach the disk; default `full`. */
  sync?: LedgerSync;
  log?: Logger;
}

/** The SQLite ledger: a {@linkcode Ledger} that also tells how its commits reach the disk. */
export interface SqliteLedger extends SyncLedger {
  /** Records once the entry's transaction is committed; rejects with `HttpError` 503 if it fails. */
  record(entry: LedgerEntry): Promise<void>;
  /** `PRAGMA synchronous` of the ledger's connection: 2 (FULL) or 1 (NORMAL). */
  readonly synchronous: number;
}

/** One queued {@linkcode LedgerEntry} and the caller waiting for its commit. */
interface Pending {
  entry: LedgerEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** What one group commit adds to one model's row of `totals`. */
export interface TotalsDelta {
  requests: number;
  successes: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  costUnits: number;
  unpriced: number;
  responseMs: number;
}

interface Row {
  [key: string]: SQLInputValue;
}

const round = roundLedgerValue;

function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value ?? 0);
}

function primaryCode(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown })?.errcode;
  return typeof errcode === "number" ? errcode & 0xff : undefined;
}

function isFull(error: unknown): boolean {
  return primaryCode(error) === 13 ||
    /disk is full|database or disk is full/i.test(describeError(error));
}

/** SQLITE_BUSY or SQLITE_LOCKED: another connection held the lock past the busy timeout. */
function isBusy(error: unknown): boolean {
  const code = primaryCode(error);
  return code === 5 || code === 6;
}

/** The `totals` rows a batch adds to, one per model, summed exactly (integers). */
export function ledgerTotalsOf(entries: LedgerEntry[]): Map<string, TotalsDelta> {
  const deltas = new Map<string, TotalsDelta>();
  for (const entry of entries) {
    let delta = deltas.get(entry.model);
    if (!delta) {
      delta = {
        requests: 0,
        successes: 0,
        failures: 0,
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        costUnits: 0,
        unpriced: 0,
        responseMs: 0,
      };
      deltas.set(entry.model, delta);
    }
    delta.requests++;
    if (entry.status !== "success") {
      delta.failures++;
      continue;
    }
    delta.successes++;
    delta.promptTokens += entry.usage.promptTokens;
    delta.completionTokens += entry.usage.completionTokens;
    delta.totalTokens += entry.usage.totalTokens;
    if (entry.estimatedCost === null) delta.unpriced++;
    else delta.costUnits += Math.round(entry.estimatedCost * COST_UNITS);
    delta.responseMs += Math.round(entry.responseTime * 1000);
  }
  return deltas;
}

/** An `entries` row (SQLite or PostgreSQL) as the entry that was recorded. */
export function toLedgerEntry(row: Record<string, unknown>): LedgerEntry {
  const entry: LedgerEntry = {
    messageId: String(row.message_id),
    timestamp: String(row.timestamp),
    message: String(row.message),
    model: String(row.model),
    provider: String(row.provider),
    usage: {
      promptTokens: num(row.prompt_tokens),
      completionTokens: num(row.completion_tokens),
      totalTokens: num(row.total_tokens),
    },
    estimatedCost: row.estimated_cost === null ? null : num(row.estimated_cost),
    responseTime: num(row.response_time),
    status: row.status === "error" ? "error" : "success",
  };
  if (row.context !== null) entry.context = String(row.context);
  if (row.ai_response !== null) entry.aiResponse = String(row.ai_response);
  if (row.error !== null) entry.error = String(row.error);
  return entry;
}

/**
 * Opens (creating it and its directory if needed) a ledger database. Throws
 * {@linkcode StorageError} with a one-line reason when the file cannot be opened, is not an
 * mcpcomm database, or is corrupt. `record()` resolves once its entry is committed; entries
 * recorded in the same event-loop turn share one transaction.
 * @example
 * ```ts
 * const ledger = openSqliteLedger({ path: "/var/lib/mcpcomm/server-b.db", maxEntries: 1000 });
 * await ledger.record(entry);
 * ledger.stats().totalRequests; // what was recorded, before the restart too
 * ledger.close();
 * ```
 */
export function openSqliteLedger(options: SqliteLedgerOptions): SqliteLedger {
  const { path, maxEntries, log } = options;
  const maxAgeMs = (options.maxAgeDays ?? 0) * DAY_MS;
  const now = options.now ?? Date.now;
  const db = openDatabase(path, options.sync ?? "full");
  if (options.maxBytes) {
    const pageSize = num((db.prepare("PRAGMA page_size").get() as Row).page_size);
    db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`);
  }

  const statements = {
    insert: db.prepare(`INSERT INTO entries (message_id, timestamp, time_ms, message, context,
      ai_response, model, provider, prompt_tokens, completion_tokens, total_tokens,
      estimated_cost, response_time, status, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    total: db.prepare(`INSERT INTO totals (model, requests, successes, failures, prompt_tokens,
      completion_tokens, total_tokens, cost_units, unpriced, response_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (model) DO UPDATE SET requests = requests + excluded.requests,
        successes = successes + excluded.successes, failures = failures + excluded.failures,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_units = cost_units + excluded.cost_units, unpriced = unpriced + excluded.unpriced,
        response_ms = response_ms + excluded.response_ms`),
    trimCount: db.prepare(`DELETE FROM entries WHERE seq <=
      (SELECT seq FROM entries ORDER BY seq DESC LIMIT 1 OFFSET ?)`),
    trimAge: db.prepare("DELETE FROM entries WHERE time_ms < ?"),
    recent: db.prepare("SELECT * FROM entries ORDER BY seq DESC LIMIT ? OFFSET ?"),
    count: db.prepare("SELECT count(*) AS n FROM entries"),
    totals: db.prepare("SELECT * FROM totals ORDER BY model"),
    synchronous: db.prepare("PRAGMA synchronous"),
    probeWrite: db.prepare(
      "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', zeroblob(?))",
    ),
    probeDelete: db.prepare("DELETE FROM meta WHERE key = 'probe'"),
  };

  let closed = false;
  /** The last write failure, and the size of the entry that failed (what a probe must fit). */
  let failure: { message: string; at: number; bytes: number } | undefined;
  /** Entries waiting for the next group commit, and the commit scheduled for them. */
  let queue: Pending[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;

  const transaction = (work: () => void) => {
    db.exec("BEGIN IMMEDIATE");
    try {
      work();
      db.exec("COMMIT");
    } catch (error) {
      try {
        if (db.isTransaction) db.exec("ROLLBACK");
      } catch {
        // SQLite rolled back by itself; the first error is the one to report
      }
      throw error;
    }
  };

  const trim = (keep: number) => {
    statements.trimCount.run(keep);
    if (maxAgeMs > 0) statements.trimAge.run(now() - maxAgeMs);
  };

  /** Inserts `entries` with their totals (one upsert per model), keeping at most `maxEntries`. */
  const write = (entries: LedgerEntry[]) => {
    trim(Math.max(0, maxEntries - entries.length));
    for (const entry of entries) {
      const timeMs = Date.parse(entry.timestamp);
      statements.insert.run(
        entry.messageId,
        entry.timestamp,
        Number.isFinite(timeMs) ? timeMs : now(),
        entry.message,
        entry.context ?? null,
        entry.aiResponse ?? null,
        entry.model,
        entry.provider,
        entry.usage.promptTokens,
        entry.usage.completionTokens,
        entry.usage.totalTokens,
        entry.estimatedCost,
        entry.responseTime,
        entry.status,
        entry.error ?? null,
      );
    }
    if (entries.length > maxEntries) statements.trimCount.run(maxEntries);
    for (const [model, delta] of ledgerTotalsOf(entries)) {
      statements.total.run(
        model,
        delta.requests,
        delta.successes,
        delta.failures,
        delta.promptTokens,
        delta.completionTokens,
        delta.totalTokens,
        delta.costUnits,
        delta.unpriced,
        delta.responseMs,
      );
    }
  };

  const unavailable = (message: string) =>
    new HttpError(503, "unavailable", message, { "retry-after": "1" });

  /** Notes why `entry` could not be recorded (readiness), logs it, and returns the 503. */
  const failed = (error: unknown, entry: LedgerEntry): HttpError => {
    const reason = isFull(error) ? "the ledger database is full" : describeError(error);
    failure = {
      message: `Cannot record new work: ${reason}`,
      at: now(),
      bytes: encoder.encode(JSON.stringify(entry)).length,
    };
    log?.error("ledger write failed", {
      db: path,
      error: describeError(error),
      messageId: entry.messageId,
      model: entry.model,
      totalTokens: entry.usage.totalTokens,
      estimatedCost: entry.estimatedCost,
    });
    return unavailable(`${failure.message}; the exchange was not recorded`);
  };

  /**
   * Commits every queued entry in one transaction. When that fails, each entry is tried alone,
   * so an entry that cannot be written (too big for the room left) fails only itself; a lock
   * held past the busy timeout fails them all at once rather than waiting again for each.
   */
  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      transaction(() => write(batch.map((pending) => pending.entry)));
      failure = undefined;
      for (const pending of batch) pending.resolve();
      return;
    } catch (error) {
      if (batch.length === 1 || isBusy(error)) {
        for (const pending of batch) pending.reject(failed(error, pending.entry));
        return;
      }
    }
    for (const pending of batch) {
      try {
        transaction(() => write([pending.entry]));
        failure = undefined;
        pending.resolve();
      } catch (error) {
        pending.reject(failed(error, pending.entry));
      }
    }
  };

  try {
    transaction(() => trim(maxEntries));
  } catch (error) {
    if (!isFull(error)) {
      db.close();
      throw new StorageError(`Cannot open the ledger database ${path}: ${describeError(error)}`);
    }
  }

  return {
    location: path,
    record(entry) {
      if (closed) return Promise.reject(unavailable("The server is shutting down"));
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      queue.push({ entry, resolve, reject });
      if (scheduled === undefined) scheduled = setImmediate(flush);
      return promise;
    },
    recent(limit = -1, offset = 0) {
      const rows = statements.recent.all(limit, Math.max(0, offset)) as Row[];
      return rows.reverse().map(toLedgerEntry);
    },
    get size() {
      return num((statements.count.get() as Row).n);
    },
    get synchronous() {
      return num((statements.synchronous.get() as Row).synchronous);
    },
    stats() {
      return ledgerStatsOf(statements.totals.all() as Row[]);
    },
    problem() {
      if (closed) return "The ledger database is closed";
      if (!failure) return undefined;
      const { message, at, bytes } = failure;
      if (now() - at < PROBE_INTERVAL_MS) return message;
      try {
        transaction(() => {
          trim(maxEntries);
          statements.probeWrite.run(bytes);
        });
        transaction(() => statements.probeDelete.run());
        log?.info("ledger database writable again", { db: path });
        failure = undefined;
        return undefined;
      } catch (error) {
        failure = { message, at: now(), bytes };
        log?.debug("ledger database still not writable", { error: describeError(error) });
        return message;
      }
    },
    close() {
      if (closed) return;
      flush();
      closed = true;
      try {
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (error) {
        log?.warn("ledger checkpoint failed", { db: path, error: describeError(error) });
      }
      db.close();
    },
  };
}

function openDatabase(path: string, sync: LedgerSync): DatabaseSync {
  const fail = (error: unknown): never => {
    throw new StorageError(
      `Cannot open the ledger database ${path}: ${describeError(error)} ` +
        `(choose another file with --db PATH or MCPCOMM_DB, or --db :memory: to keep none)`,
    );
  };
  if (path !== MEMORY_DB) {
    try {
      makePrivateDirectory(dirname(path));
      makePrivateFiles(path);
    } catch (error) {
      fail(error);
    }
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 5000");
    const check = db.prepare("PRAGMA quick_check").all() as Row[];
    if (check.length !== 1 || check[0]?.quick_check !== "ok") {
      throw new Error(`the file is corrupt (${String(check[0]?.quick_check)})`);
    }
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${sync === "normal" ? "NORMAL" : "FULL"}`);
    const version = num((db.prepare("PRAGMA user_version").get() as Row).user_version);
    if (version > SCHEMA_VERSION) {
      throw new Error(`it was written by a newer mcpcomm (schema ${version})`);
    }
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    ).all() as Row[];
    if (version === 0 && tables.length > 0) {
      throw new Error("it is not an mcpcomm ledger (it holds other tables)");
    }
    db.exec("BEGIN IMMEDIATE");
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec("COMMIT");
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // already failing; the first error is the one to report
    }
    return fail(error);
  }
}

/** Whether file modes apply (not on Windows). */
const POSIX = Deno.build.os !== "windows";

/**
 * Creates `dir` and its missing parents with mode 0700 whatever the umask; a directory that
 * already exists is left as it is (it may be the user's own).
 */
function makePrivateDirectory(dir: string): void {
  const missing: string[] = [];
  for (let at = dir; !exists(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing) {
    try {
      Deno.mkdirSync(at, { mode: 0o700 });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      continue;
    }
    if (POSIX) Deno.chmodSync(at, 0o700);
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Creates the database file with mode 0600 before SQLite opens it (SQLite gives its `-wal` and
 * `-shm` files the database file's mode), and narrows an existing database and its `-wal`/`-shm`
 * files to 0600: they hold message texts.
 */
function makePrivateFiles(path: string): void {
  Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 }).close();
  if (!POSIX) return;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    let mode: number | null;
    try {
      mode = Deno.statSync(file).mode;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (mode !== null && (mode & 0o777) !== 0o600) Deno.chmodSync(file, 0o600);
  }
}

/** Exact totals from the `totals` rows, one per model (costs in integer units). */
export function ledgerStatsOf(rows: readonly Record<string, unknown>[]): LedgerStats {
  const stats: LedgerStats = emptyLedgerStats();
  let costUnits = 0;
  let responseMs = 0;
  for (const row of rows) {
    const successes = num(row.successes);
    stats.totalRequests += num(row.requests);
    stats.successfulRequests += successes;
    stats.failedRequests += num(row.failures);
    stats.promptTokens += num(row.prompt_tokens);
    stats.completionTokens += num(row.completion_tokens);
    stats.totalTokens += num(row.total_tokens);
    stats.unpricedRequests += num(row.unpriced);
    costUnits += num(row.cost_units);
    responseMs += num(row.response_ms);
    if (successes === 0) continue;
    stats.models[String(row.model)] = {
      requests: successes,
      promptTokens: num(row.prompt_tokens),
      completionTokens: num(row.completion_tokens),
      totalTokens: num(row.total_tokens),
      estimatedCost: round(num(row.cost_units) / COST_UNITS),
      unpricedRequests: num(row.unpriced),
    };
  }
  stats.estimatedTotalCost = round(costUnits / COST_UNITS);
  stats.averageResponseTime = stats.successfulRequests
    ? round(responseMs / 1000 / stats.successfulRequests)
    : 0;
  return stats;
}

/**
 * The ledger the settings ask for: `:memory:` keeps a bounded in-memory ledger, a path (or, when
 * `db` is unset, `defaultPath`) opens {@linkcode openSqliteLedger}; with neither, memory.
 * @example
 * ```ts
 * const ledger = openLedger({ db: config.MCPCOMM_DB, defaultPath, maxEntries: 1000 });
 * ```
 */
export function openLedger(options: OpenLedgerOptions): SyncLedger {
  const path = options.db ?? options.defaultPath;
  if (path === undefined || path === MEMORY_DB) return createMemoryLedger(options.maxEntries);
  return openSqliteLedger({
    path,
    maxEntries: options.maxEntries,
    ...(options.maxAgeDays !== undefined ? { maxAgeDays: options.maxAgeDays } : {}),
    ...(options.sync ? { sync: options.sync } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}

/**
 * The ledger of `server` from the settings (`MCPCOMM_DB`, `MCPCOMM_DB_SYNC`, `MAX_STORED_MESSAGES`,
 * `LEDGER_MAX_AGE_DAYS`): with MCPCOMM_DB unset, `<server>.db` in `dataDir`, or memory without one.
 * @example
 * ```ts
 * const ledger = openServerLedger(config, { server: "server-b", dataDir, log });
 * ```
 */
export function openServerLedger(
  config: Pick<
    Config,
    "MCPCOMM_DB" | "MCPCOMM_DB_SYNC" | "MAX_STORED_MESSAGES" | "LEDGER_MAX_AGE_DAYS"
  >,
  options: { server: string; dataDir?: string | undefined; log?: Logger },
): SyncLedger {
  return openLedger({
    db: config.MCPCOMM_DB,
    defaultPath: options.dataDir ? defaultDatabasePath(options.dataDir, options.server) : undefined,
    maxEntries: config.MAX_STORED_MESSAGES,
    maxAgeDays: config.LEDGER_MAX_AGE_DAYS,
    sync: config.MCPCOMM_DB_SYNC,
    ...(options.log ? { log: options.log } : {}),
  });
}
