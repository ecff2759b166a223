/**
 * The shared {@linkcode Ledger}: PostgreSQL (`--db postgres://...`), for replicas on several
 * machines, with SQLite's guarantees: `record()` resolves after COMMIT, retention by count and age,
 * totals added to in the same transaction (`SET x = x + n`, safe across replicas). An entry recorded
 * twice (same `messageId`) is stored and counted once. The schema is versioned and migrated once.
 * @module
 */
import type postgres from "postgres";
import { clearImmediate, setImmediate } from "node:timers";
import { describeError, StorageError } from "../core/mod.ts";
import { ENTRY_COLUMNS, migrate, sqlState, text } from "./_postgres_schema.ts";
import { ledgerStatsOf, ledgerTotalsOf, toLedgerEntry } from "./_rows.ts";
import {
  DAY_MS,
  ledgerUnavailable as unavailable,
  logWriteFailure,
  PROBE_INTERVAL_MS,
} from "./_unavailable.ts";
import { passwordsOf, redactPostgresUrl } from "./_postgres_url.ts";
import type { Ledger, LedgerEntry, LedgerStats, PendingEntry, RetentionOptions } from "./types.ts";

export { isPostgresUrl, redactPostgresUrl } from "./_postgres_url.ts";
export { POSTGRES_SCHEMA_VERSION } from "./_postgres_schema.ts";

/** Options of {@linkcode openPostgresLedger}; `maxEntries` counts across all replicas. */
export interface PostgresLedgerOptions extends RetentionOptions {
  /** `postgres://user:password@host:5432/database` (libpq-style parameters allowed). */
  url: string;
  /** Whose ledger (`server-a`, `server-b`): several servers may share one database. */
  name: string;
  /** Connections in the pool; default 10. */
  poolSize?: number;
  /** Seconds to wait for a connection before a write fails; default 5. */
  connectTimeoutSeconds?: number;
}

/** The PostgreSQL ledger: every read is a query, so reads answer promises. */
export interface PostgresLedger extends Ledger {
  record(entry: LedgerEntry): Promise<void>;
  recent(limit?: number, offset?: number): Promise<LedgerEntry[]>;
  readonly size: Promise<number>;
  stats(): Promise<LedgerStats>;
  close(): Promise<void>;
}

/** Deadlock and serialization failures: the transaction is tried again. */
const RETRY_CODES = new Set(["40P01", "40001"]);
const ATTEMPTS = 3;
/** Most entries in one transaction (PostgreSQL takes at most 65,535 parameters a statement). */
const MAX_BATCH = 1000;
type Sql = postgres.Sql;
type Tx = postgres.TransactionSql;

/**
 * Connects to PostgreSQL and migrates its schema. Throws {@linkcode StorageError} with a one-line
 * reason (the URL's password left out) when it cannot. `record()` resolves once its entry is
 * committed; entries recorded in the same event-loop turn share one transaction.
 * @example
 * ```ts
 * const ledger = await openPostgresLedger({
 *   url: "postgres://mcpcomm:secret@db.internal/mcpcomm", name: "server-b", maxEntries: 1000,
 * });
 * await ledger.record(entry);
 * (await ledger.stats()).totalRequests; // every replica's, exactly
 * await ledger.close();
 * ```
 */
export async function openPostgresLedger(options: PostgresLedgerOptions): Promise<PostgresLedger> {
  const { url, name, maxEntries, log } = options;
  const location = redactPostgresUrl(url);
  const maxAgeMs = (options.maxAgeDays ?? 0) * DAY_MS;
  const now = options.now ?? Date.now;
  const secrets = passwordsOf(url);
  const scrub = (message: string) =>
    secrets.reduce((out, secret) => out.replaceAll(secret, "***"), message);
  const reasonOf = (error: unknown) => scrub(describeError(error));

  const connect = (await import("postgres")).default;
  let sql: Sql;
  try {
    sql = connect(url, {
      max: options.poolSize ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? 5,
      idle_timeout: 300,
      onnotice: (notice) => log?.debug("postgres notice", { message: notice.message }),
      connection: { application_name: `mcpcomm ${name}` },
    });
  } catch (error) {
    throw new StorageError(`Cannot open the ledger database ${location}: ${reasonOf(error)}`);
  }
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw new StorageError(
      `Cannot open the ledger database ${location}: ${reasonOf(error)} ` +
        `(check the URL in --db or MCPCOMM_DB, and that the database accepts connections)`,
    );
  }

  let closed = false;
  let failure: { message: string; at: number } | undefined;
  let probing = false;
  const queue: PendingEntry[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;
  /** The commit in flight: one at a time, the next batch gathers meanwhile (group commit). */
  let writing: Promise<void> | undefined;

  const trim = async (tx: Tx) => {
    await tx`DELETE FROM mcpcomm_entries WHERE ledger = ${name} AND seq <= (
      SELECT seq FROM mcpcomm_entries WHERE ledger = ${name}
      ORDER BY seq DESC LIMIT 1 OFFSET ${maxEntries})`;
    if (maxAgeMs > 0) {
      await tx`DELETE FROM mcpcomm_entries WHERE ledger = ${name} AND time_ms < ${
        now() - maxAgeMs
      }`;
    }
  };

  /** Inserts what is new in `entries`, adds it to the totals and applies retention. */
  const write = (entries: LedgerEntry[]) =>
    sql.begin(async (tx) => {
      const rows = entries.map((entry) => {
        const timeMs = Date.parse(entry.timestamp);
        return {
          ledger: name,
          message_id: entry.messageId,
          timestamp: entry.timestamp,
          time_ms: Number.isFinite(timeMs) ? timeMs : now(),
          message: text(entry.message),
          context: text(entry.context) ?? null,
          ai_response: text(entry.aiResponse) ?? null,
          model: text(entry.model),
          provider: entry.provider,
          prompt_tokens: entry.usage.promptTokens,
          completion_tokens: entry.usage.completionTokens,
          total_tokens: entry.usage.totalTokens,
          estimated_cost: entry.estimatedCost,
          response_time: entry.responseTime,
          status: entry.status,
          error: text(entry.error) ?? null,
        };
      });
      const inserted = await tx`INSERT INTO mcpcomm_entries ${tx(rows, ...ENTRY_COLUMNS)}
        ON CONFLICT (ledger, message_id) DO NOTHING RETURNING message_id`;
      const fresh = new Set(inserted.map((row) => String(row.message_id)));
      const counted = entries.filter((entry) => fresh.delete(entry.messageId));
      const deltas = [...ledgerTotalsOf(counted)].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      for (const [model, d] of deltas) {
        await tx`INSERT INTO mcpcomm_totals (ledger, model, requests, successes, failures,
            prompt_tokens, completion_tokens, total_tokens, cost_units, unpriced, response_ms)
          VALUES (${name}, ${text(model)}, ${d.requests}, ${d.successes}, ${d.failures},
            ${d.promptTokens}, ${d.completionTokens}, ${d.totalTokens}, ${d.costUnits},
            ${d.unpriced}, ${d.responseMs})
          ON CONFLICT (ledger, model) DO UPDATE SET
            requests = mcpcomm_totals.requests + excluded.requests,
            successes = mcpcomm_totals.successes + excluded.successes,
            failures = mcpcomm_totals.failures + excluded.failures,
            prompt_tokens = mcpcomm_totals.prompt_tokens + excluded.prompt_tokens,
            completion_tokens = mcpcomm_totals.completion_tokens + excluded.completion_tokens,
            total_tokens = mcpcomm_totals.total_tokens + excluded.total_tokens,
            cost_units = mcpcomm_totals.cost_units + excluded.cost_units,
            unpriced = mcpcomm_totals.unpriced + excluded.unpriced,
            response_ms = mcpcomm_totals.response_ms + excluded.response_ms`;
      }
      await trim(tx);
    });

  /** `write`, tried again after a deadlock or serialization failure. */
  const commit = async (entries: LedgerEntry[]) => {
    for (let attempt = 1;; attempt++) {
      try {
        await write(entries);
        return;
      } catch (error) {
        if (attempt >= ATTEMPTS || !RETRY_CODES.has(sqlState(error) ?? "")) throw error;
      }
    }
  };

  const failed = (error: unknown, entry: LedgerEntry) => {
    failure = { message: `Cannot record new work: ${reasonOf(error)}`, at: now() };
    logWriteFailure(log, location, reasonOf(error), entry);
    return unavailable(`${failure.message}; the exchange was not recorded`);
  };

  /** A server error (SQLSTATE) is about the batch: each entry is then tried alone. */
  const commitBatch = async (batch: PendingEntry[]) => {
    try {
      await commit(batch.map((pending) => pending.entry));
      failure = undefined;
      for (const pending of batch) pending.resolve();
      return;
    } catch (error) {
      const state = sqlState(error);
      const serverError = state !== undefined && /^[0-9A-Z]{5}$/.test(state) &&
        !state.startsWith("08") && !state.startsWith("57");
      if (batch.length === 1 || !serverError) {
        for (const pending of batch) pending.reject(failed(error, pending.entry));
        return;
      }
    }
    for (const pending of batch) {
      try {
        await commit([pending.entry]);
        failure = undefined;
        pending.resolve();
      } catch (error) {
        pending.reject(failed(error, pending.entry));
      }
    }
  };

  /**
   * Commits what is queued, one transaction at a time: every commit of a ledger updates the same
   * totals rows, so concurrent ones would only wait for each other's locks; entries that arrive
   * during a commit go together in the next.
   */
  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, MAX_BATCH);
    writing = commitBatch(batch).finally(() => {
      writing = undefined;
      flush();
    });
  };

  /** Runs a read; a failure is "unavailable", like a failed write. */
  const read = async <T>(query: () => Promise<T>): Promise<T> => {
    if (closed) throw unavailable("The ledger database is closed");
    try {
      return await query();
    } catch (error) {
      log?.warn("ledger read failed", { db: location, error: reasonOf(error) });
      throw unavailable(`Cannot read the ledger: ${reasonOf(error)}`);
    }
  };

  const probe = async () => {
    probing = true;
    try {
      await sql`SELECT 1 FROM mcpcomm_totals LIMIT 1`;
      if (failure) log?.info("ledger database reachable again", { db: location });
      failure = undefined;
    } catch (error) {
      if (failure) failure.at = now();
      log?.debug("ledger database still not reachable", { error: reasonOf(error) });
    } finally {
      probing = false;
    }
  };

  return {
    location,
    record(entry) {
      if (closed) return Promise.reject(unavailable("The server is shutting down"));
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      queue.push({ entry, resolve, reject });
      if (scheduled === undefined && !writing) scheduled = setImmediate(flush);
      return promise;
    },
    recent(limit = -1, offset = 0) {
      return read(async () => {
        const rows = await sql`SELECT * FROM mcpcomm_entries WHERE ledger = ${name}
          ORDER BY seq DESC LIMIT ${limit < 0 ? null : limit} OFFSET ${Math.max(0, offset)}`;
        return rows.reverse().map(toLedgerEntry);
      });
    },
    get size() {
      return read(async () => {
        const [row] = await sql`SELECT count(*) AS n FROM mcpcomm_entries WHERE ledger = ${name}`;
        return Number(row?.n ?? 0);
      });
    },
    stats() {
      return read(async () =>
        ledgerStatsOf(
          await sql`SELECT * FROM mcpcomm_totals WHERE ledger = ${name} ORDER BY model`,
        )
      );
    },
    problem() {
      if (closed) return "The ledger database is closed";
      if (!failure) return undefined;
      if (!probing && now() - failure.at >= PROBE_INTERVAL_MS) void probe();
      return failure.message;
    },
    async close() {
      if (closed) return;
      flush();
      closed = true;
      while (writing) await writing.catch(() => {});
      await sql.end({ timeout: 5 }).catch((error) =>
        log?.warn("ledger close failed", { db: location, error: reasonOf(error) })
      );
    },
  };
}
