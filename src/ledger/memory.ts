/**
 * The in-memory {@linkcode Ledger}: a bounded ring of recent entries and exact running totals.
 * @module
 */
import {
  emptyLedgerStats,
  type LedgerEntry,
  type LedgerStats,
  roundLedgerValue as round,
  type SyncLedger,
} from "./types.ts";

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
