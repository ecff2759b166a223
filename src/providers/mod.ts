/**
 * Picks the provider the settings name. The OpenAI and Bedrock SDKs load only when chosen (a
 * literal `import()`, which `deno compile` still bundles): they took 9 of every 10 npm files
 * any mcpcomm command read at start-up, Server A's included.
 * @module
 */
import type { BedrockOptions } from "./bedrock.ts";
import { createMockProvider } from "./mock.ts";
import type { OpenAIOptions } from "./openai.ts";
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
export async function createProvider(options: ProviderOptions): Promise<Provider> {
  switch (options.name) {
    case "openai":
      return (await import("./openai.ts")).createOpenAIProvider(options.openai);
    case "bedrock":
      return (await import("./bedrock.ts")).createBedrockProvider(options.bedrock);
    case "mock":
      return createMockProvider({ delayMs: options.mockDelayMs });
  }
}

export type { BedrockOptions } from "./bedrock.ts";
export * from "./mock.ts";
export type { OpenAIOptions } from "./openai.ts";
export * from "./pricing.ts";
