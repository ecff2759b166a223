/**
 * The ledger entry the ledger tests record.
 * @module
 */
import type { LedgerEntry } from "../../src/ledger/mod.ts";

let sequence = 0;

/** A successful entry, its id unique across runs and databases; `overrides` replace any field. */
export function ledgerEntry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const n = ++sequence;
  return {
    messageId: `msg-${n}-${crypto.randomUUID()}`,
    timestamp: new Date().toISOString(),
    message: `message ${n}`,
    aiResponse: `answer ${n}`,
    model: "model-a",
    provider: "mock",
    usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 },
    estimatedCost: 0.000123,
    responseTime: 0.25,
    status: "success",
    ...overrides,
  };
}
