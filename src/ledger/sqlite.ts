/**
 * The persistent {@linkcode Ledger}: an embedded SQLite database (Deno's built-in `node:sqlite`)
 * in WAL mode, so an exchange is committed before its answer is returned. Exchanges recorded in
 * the same event-loop turn are committed together (group commit: one transaction, one fsync).
 * Entries are kept by count and age; totals live in their own table, updated in the same
 * transaction, so they stay exact whatever retention drops. Several processes on one host may
 * share a file.
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";
import { describeError, StorageError } from "../core/mod.ts";
import { ledgerStatsOf, ledgerTotalsOf, num, toLedgerEntry } from "./_rows.ts";
import { isBusy, isFull, type LedgerSync, openDatabase, type Row } from "./_sqlite_file.ts";
import { DAY_MS, ledgerUnavailable, logWriteFailure, PROBE_INTERVAL_MS } from "./_unavailable.ts";
import type { LedgerEntry, PendingEntry, RetentionOptions, SyncLedger } from "./types.ts";

export type { LedgerSync } from "./_sqlite_file.ts";

/** The value of `--db` / MCPCOMM_DB that keeps the ledger in memory only. */
export const MEMORY_DB = ":memory:";

const encoder = new TextEncoder();

/** Options of {@linkcode openSqliteLedger}. */
export interface SqliteLedgerOptions extends RetentionOptions {
  /** Database file, or `:memory:` for an SQLite database that dies with the process. */
  path: string;
  /** When commits reach the disk; default `full`. */
  sync?: LedgerSync;
  /** Largest database size in bytes; a write past it fails as on a full disk. */
  maxBytes?: number;
}

/** The SQLite ledger: a {@linkcode Ledger} that also tells how its commits reach the disk. */
export interface SqliteLedger extends SyncLedger {
  /** Records once the entry's transaction is committed; rejects with "unavailable" if it fails. */
  record(entry: LedgerEntry): Promise<void>;
  /** `PRAGMA synchronous` of the ledger's connection: 2 (FULL) or 1 (NORMAL). */
  readonly synchronous: number;
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
  let queue: PendingEntry[] = [];
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

  /** Notes why `entry` could not be recorded (readiness), logs it, and returns the error. */
  const failed = (error: unknown, entry: LedgerEntry) => {
    const reason = isFull(error) ? "the ledger database is full" : describeError(error);
    failure = {
      message: `Cannot record new work: ${reason}`,
      at: now(),
      bytes: encoder.encode(JSON.stringify(entry)).length,
    };
    logWriteFailure(log, path, describeError(error), entry);
    return ledgerUnavailable(`${failure.message}; the exchange was not recorded`);
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
      if (closed) return Promise.reject(ledgerUnavailable("The server is shutting down"));
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
