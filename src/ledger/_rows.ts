/**
 * Rows of the SQL ledgers (SQLite and PostgreSQL) to entries and totals, and entries to the
 * totals a commit adds, summed exactly in integer units.
 * @module
 */
import {
  emptyLedgerStats,
  type LedgerEntry,
  type LedgerStats,
  roundLedgerValue as round,
} from "./types.ts";

/** Costs are summed as integers of this many units per US dollar, so sums are exact. */
const COST_UNITS = 1e10;

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

/** A column value as a number (SQL drivers may answer strings or bigints). */
export function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value ?? 0);
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
