/**
 * What a ledger answers when it cannot record or read now, and how a failed write is logged.
 * @module
 */
import { DomainError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { LedgerEntry } from "./types.ts";

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
