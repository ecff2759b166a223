/**
 * What a server exchanged, as every ledger stores it: the entry, the totals, the interface.
 * @module
 */
import type { Logger } from "../core/mod.ts";
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
 * Where exchanges are recorded: in memory (`memory.ts`), in SQLite (`sqlite.ts`), in PostgreSQL
 * (`postgres.ts`). Reads answer promises where the store is remote: readers await them.
 */
export interface Ledger {
  /**
   * Records one exchange; the caller awaits it before returning the answer. Fails (throws, or
   * rejects when it returns a promise) with `DomainError` "unavailable" when it cannot.
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

/** What a persistent ledger is opened with besides its location: retention, a clock, a logger. */
export interface RetentionOptions {
  /** Most entries kept; totals count every entry ever recorded. */
  maxEntries: number;
  /** Entries older than this many days are dropped; 0 keeps them regardless of age. */
  maxAgeDays?: number;
  /** Clock in ms since the epoch (tests). */
  now?: () => number;
  log?: Logger;
}

/** One entry waiting for its group commit, and the caller waiting for it. */
export interface PendingEntry {
  entry: LedgerEntry;
  resolve: () => void;
  reject: (error: unknown) => void;
}
