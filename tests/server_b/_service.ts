/**
 * Server B's AI service over the mock provider, for handler and tool tests that need no socket.
 * @module
 */
import { createLogger } from "../../src/core/log.ts";
import { createMemoryLedger, type Ledger } from "../../src/ledger/mod.ts";
import { createMockProvider } from "../../src/providers/mock.ts";
import { type AiService, createAiService } from "../../src/server_b/_service.ts";

/** A service answering with the mock provider, one attempt, recording in `ledger`. */
export function createMockService(ledger: Ledger = createMemoryLedger(10)): AiService {
  const provider = createMockProvider();
  return createAiService({
    provider,
    ledger,
    defaults: { model: provider.defaultModel, temperature: 0.7, maxTokens: 100 },
    timeoutMs: 5_000,
    attempts: 1,
    log: createLogger("test"),
  });
}
