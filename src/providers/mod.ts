/**
 * Picks the provider the settings name. Imports are static so `deno compile` keeps them all.
 * @module
 */
import type { Config } from "../core/config.ts";
import { createBedrockProvider } from "./bedrock.ts";
import { createMockProvider } from "./mock.ts";
import { createOpenAIProvider } from "./openai.ts";
import type { Provider } from "./types.ts";

export type { Completion, CompletionRequest, Provider, StreamChunk } from "./types.ts";

/**
 * Creates the provider of `config.AI_PROVIDER`. SDK clients are created on first use, so a
 * missing credential never stops start-up.
 */
export function createProvider(config: Config): Provider {
  switch (config.AI_PROVIDER) {
    case "openai":
      return createOpenAIProvider(config);
    case "bedrock":
      return createBedrockProvider(config);
    case "mock":
      return createMockProvider({ delayMs: config.MOCK_DELAY_MS });
  }
}
