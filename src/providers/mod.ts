/**
 * Picks the provider the settings name. Imports are static so `deno compile` keeps them all.
 * @module
 */
import { type BedrockOptions, createBedrockProvider } from "./bedrock.ts";
import { createMockProvider } from "./mock.ts";
import { createOpenAIProvider, type OpenAIOptions } from "./openai.ts";
import type { Provider } from "./types.ts";

export type { Completion, CompletionRequest, Provider, StreamChunk } from "./types.ts";

/** Which provider to create (`AI_PROVIDER`) and the options of each. */
export interface ProviderOptions {
  name: "openai" | "bedrock" | "mock";
  openai: OpenAIOptions;
  bedrock: BedrockOptions;
  /** The mock's wait before answering (`MOCK_DELAY_MS`). */
  mockDelayMs: number;
}

/**
 * Creates the provider `options.name` names. SDK clients are created on first use, so a missing
 * credential never stops start-up.
 */
export function createProvider(options: ProviderOptions): Provider {
  switch (options.name) {
    case "openai":
      return createOpenAIProvider(options.openai);
    case "bedrock":
      return createBedrockProvider(options.bedrock);
    case "mock":
      return createMockProvider({ delayMs: options.mockDelayMs });
  }
}

export * from "./bedrock.ts";
export * from "./mock.ts";
export * from "./openai.ts";
export * from "./pricing.ts";
