/**
 * What a ledger answers when it cannot record or read now, and how a failed write is logged.
 * @module
 */
import { DomainError, type Logger } from "../core/mod.ts";
import type { LedgerEntry } from "./types.ts";

/** A day in milliseconds, for retention by age. */
export const DAY_MS = 86_400_000;

/** How often, at most, a store that failed is probed before new work is let in again. */
export const PROBE_INTERVAL_MS = 1000;

/** The error of a ledger that cannot record or read now; callers may retry after a second. */
export function ledgerUnavailable(message: string): DomainError {
  return new DomainError("unavailable", message, { retryAfterSeconds: 1 });
}

/** Logs that `entry` was not recorded: its identity and usage, never its texts. */
export function logWriteFailure(
  log: Logger | undefined,
  db: string,
  reason: string,
  entry: LedgerEntry,
): void {
  log?.error("ledger write failed", {
    db,
    error: reason,
    messageId: entry.messageId,
    model: entry.model,
    totalTokens: entry.usage.totalTokens,
    estimatedCost: entry.estimatedCost,
  });
}
