/**
 * What a server exchanged: a bounded list of recent messages and exact running totals
 * (usage, cost, per-model breakdown) that survive the bound.
 * @module
 */
import type { Usage } from "../wire.ts";

/** One exchange with an AI, as recorded. */
export interface LedgerEntry {
  messageId: string;
  timestamp: string;
  message: string;
  context?: string | undefined;
  aiResponse?: string | undefined;
  model: string;
  provider: string;
  usage: Usage;
  estimatedCost: number | null;
  /** Seconds. */
  responseTime: number;
  status: "success" | "error";
  error?: string | undefined;
}

/** Totals for one model. */
export interface ModelStats {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimatedCost: number;
  /** Requests whose model has no known price (not in `estimatedCost`). */
  unpricedRequests: number;
}

/** Exact totals over everything ever recorded. */
export interface LedgerStats {
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  estimatedTotalCost: number;
  unpricedRequests: number;
  /** Seconds, over successful requests. */
  averageResponseTime: number;
  models: Record<string, ModelStats>;
}

/**
 * Where exchanges are recorded: in memory here, in SQLite in `ledger_sqlite.ts`, in PostgreSQL in
 * `ledger_postgres.ts`. Reads answer promises where the store is remote: readers await them.
 */
export interface Ledger {
  /**
   * Records one exchange; the caller awaits it before returning the answer. Fails (throws, or
   * rejects when it returns a promise) with `HttpError` 503 when it cannot.
   */
  record(entry: LedgerEntry): void | Promise<void>;
  /** The newest `limit` entries, oldest first, skipping the newest `offset`. */
  recent(limit?: number, offset?: number): LedgerEntry[] | Promise<LedgerEntry[]>;
  /** Entries currently kept. */
  readonly size: number | Promise<number>;
  stats(): LedgerStats | Promise<LedgerStats>;
  /** `"memory"`, the database file, or the database URL without its password. */
  readonly location: string;
  /** Why new work cannot be recorded now (readiness), or `undefined` when it can. */
  problem(): string | undefined;
  /** Flushes and closes the store; later calls do nothing. */
  close(): void | Promise<void>;
}

/** A {@linkcode Ledger} whose reads answer at once (memory, SQLite). */
export interface SyncLedger extends Ledger {
  recent(limit?: number, offset?: number): LedgerEntry[];
  readonly size: number;
  stats(): LedgerStats;
  close(): void;
}

/** Rounds a cost or time to 10 decimals (10⁻¹⁰ USD), so sums do not show float drift. */
export function roundLedgerValue(n: number): number {
  return Math.round(n * 1e10) / 1e10;
}

const round = roundLedgerValue;

/** Totals before anything is recorded; every ledger starts from these. */
export function emptyLedgerStats(): LedgerStats {
  return {
    totalRequests: 0,
    successfulRequests: 0,
    failedRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    estimatedTotalCost: 0,
    unpricedRequests: 0,
    averageResponseTime: 0,
    models: {},
  };
}

/**
 * An in-memory ledger keeping at most `maxEntries` entries (a ring buffer) and exact totals.
 * @example
 * ```ts
 * const ledger = createMemoryLedger(1000);
 * ledger.stats().totalRequests; // 0
 * ```
 */
export function createMemoryLedger(maxEntries: number): SyncLedger {
  const ring: LedgerEntry[] = [];
  let start = 0;
  let totalResponseTime = 0;
  const totals: LedgerStats = { ...emptyLedgerStats(), models: Object.create(null) };

  return {
    record(entry) {
      if (ring.length < maxEntries) ring.push(entry);
      else {
        ring[start] = entry;
        start = (start + 1) % maxEntries;
      }
      totals.totalRequests++;
      if (entry.status === "error") {
        totals.failedRequests++;
        return;
      }
      totals.successfulRequests++;
      totalResponseTime += entry.responseTime;
      totals.promptTokens += entry.usage.promptTokens;
      totals.completionTokens += entry.usage.completionTokens;
      totals.totalTokens += entry.usage.totalTokens;
      const model = totals.models[entry.model] ??= {
        requests: 0,
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        estimatedCost: 0,
        unpricedRequests: 0,
      };
      model.requests++;
      model.promptTokens += entry.usage.promptTokens;
      model.completionTokens += entry.usage.completionTokens;
      model.totalTokens += entry.usage.totalTokens;
      if (entry.estimatedCost === null) {
        model.unpricedRequests++;
        totals.unpricedRequests++;
      } else {
        model.estimatedCost = round(model.estimatedCost + entry.estimatedCost);
        totals.estimatedTotalCost = round(totals.estimatedTotalCost + entry.estimatedCost);
      }
    },
    recent(limit = ring.length, offset = 0) {
      const ordered = ring.length < maxEntries
        ? ring
        : [...ring.slice(start), ...ring.slice(0, start)];
      const end = Math.max(0, ordered.length - offset);
      return ordered.slice(Math.max(0, end - limit), end);
    },
    get size() {
      return ring.length;
    },
    location: "memory",
    problem: () => undefined,
    close() {},
    stats() {
      return {
        ...totals,
        averageResponseTime: totals.successfulRequests
          ? round(totalResponseTime / totals.successfulRequests)
          : 0,
        models: structuredClone(totals.models),
      };
    },
  };
}
