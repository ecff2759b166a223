/**
 * Model prices in USD per 1,000 tokens, input and output priced separately.
 * An unknown model has no price: its cost is `null`, never a guess.
 * @module
 */
import type { Usage } from "../wire.ts";

/** Price of one model in USD per 1,000 tokens. */
export interface Price {
  input: number;
  output: number;
}

/** Short Bedrock model names and the full model IDs they stand for. */
export const BEDROCK_MODEL_IDS: Readonly<Record<string, string>> = {
  "claude-3.5-sonnet-v2": "anthropic.claude-3-5-sonnet-20241022-v2:0",
  "claude-3.5-sonnet": "anthropic.claude-3-5-sonnet-20240620-v1:0",
  "claude-3.5-haiku": "anthropic.claude-3-5-haiku-20241022-v1:0",
  "claude-3-sonnet": "anthropic.claude-3-sonnet-20240229-v1:0",
  "claude-3-haiku": "anthropic.claude-3-haiku-20240307-v1:0",
  "claude-3-opus": "anthropic.claude-3-opus-20240229-v1:0",
  "claude-3.7-sonnet": "anthropic.claude-3-7-sonnet-20250219-v1:0",
  "claude-sonnet-4": "anthropic.claude-sonnet-4-20250514-v1:0",
  "claude-opus-4": "anthropic.claude-opus-4-20250514-v1:0",
  "claude-opus-4.1": "anthropic.claude-opus-4-1-20250805-v1:0",
  "claude-sonnet-4.5": "anthropic.claude-sonnet-4-5-20250929-v1:0",
  "claude-haiku-4.5": "anthropic.claude-haiku-4-5-20251001-v1:0",
  "claude-opus-4.5": "anthropic.claude-opus-4-5-20251101-v1:0",
};

/** On-demand list prices: OpenAI's standard tier, Bedrock in us-east-1 (Claude 4.5 up to 200K input). */
const PRICES: Readonly<Record<string, Price>> = {
  "mock-model": { input: 0, output: 0 },
  "gpt-4": { input: 0.03, output: 0.06 },
  "gpt-4-turbo": { input: 0.01, output: 0.03 },
  "gpt-4o": { input: 0.0025, output: 0.01 },
  "gpt-4o-2024-05-13": { input: 0.005, output: 0.015 },
  "gpt-4o-mini": { input: 0.00015, output: 0.0006 },
  "gpt-3.5-turbo": { input: 0.0005, output: 0.0015 },
  "gpt-4.1": { input: 0.002, output: 0.008 },
  "gpt-4.1-mini": { input: 0.0004, output: 0.0016 },
  "gpt-4.1-nano": { input: 0.0001, output: 0.0004 },
  "gpt-5": { input: 0.00125, output: 0.01 },
  "gpt-5-mini": { input: 0.00025, output: 0.002 },
  "gpt-5-nano": { input: 0.00005, output: 0.0004 },
  "o1": { input: 0.015, output: 0.06 },
  "o1-mini": { input: 0.0011, output: 0.0044 },
  "o3": { input: 0.002, output: 0.008 },
  "o3-mini": { input: 0.0011, output: 0.0044 },
  "o3-pro": { input: 0.02, output: 0.08 },
  "o4-mini": { input: 0.0011, output: 0.0044 },
  "anthropic.claude-3-5-sonnet-20241022-v2:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-3-5-sonnet-20240620-v1:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-3-5-haiku-20241022-v1:0": { input: 0.0008, output: 0.004 },
  "anthropic.claude-3-sonnet-20240229-v1:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-3-haiku-20240307-v1:0": { input: 0.00025, output: 0.00125 },
  "anthropic.claude-3-opus-20240229-v1:0": { input: 0.015, output: 0.075 },
  "anthropic.claude-3-7-sonnet-20250219-v1:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-sonnet-4-20250514-v1:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-opus-4-20250514-v1:0": { input: 0.015, output: 0.075 },
  "anthropic.claude-opus-4-1-20250805-v1:0": { input: 0.015, output: 0.075 },
  "anthropic.claude-sonnet-4-5-20250929-v1:0": { input: 0.003, output: 0.015 },
  "anthropic.claude-haiku-4-5-20251001-v1:0": { input: 0.001, output: 0.005 },
  "anthropic.claude-opus-4-5-20251101-v1:0": { input: 0.005, output: 0.025 },
};

function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The price of a model: a known name, a short Bedrock name, a cross-region inference profile
 * (`us.anthropic...`) or an OpenAI dated snapshot (`gpt-4o-2024-08-06`); `undefined` otherwise.
 */
export function priceOf(model: string): Price | undefined {
  const full = own(BEDROCK_MODEL_IDS, model) ?? model;
  const exact = own(PRICES, full);
  if (exact) return exact;
  const profile = full.match(/^(?:us|eu|apac|global|us-gov|jp|au)\.(anthropic\..+)$/);
  if (profile?.[1]) return own(PRICES, profile[1]);
  const snapshot = full.match(/^(.+)-\d{4}-\d{2}-\d{2}$/);
  if (snapshot?.[1]) return own(PRICES, snapshot[1]);
  return undefined;
}

/**
 * Cost of a call in USD, or `null` when the model has no known price.
 * @example
 * ```ts
 * costOf("gpt-4", { promptTokens: 1000, completionTokens: 1000, totalTokens: 2000 }); // 0.09
 * ```
 */
export function costOf(model: string, usage: Usage): number | null {
  const price = priceOf(model);
  if (!price) return null;
  const cost = (usage.promptTokens * price.input + usage.completionTokens * price.output) / 1000;
  return Math.round(cost * 1e10) / 1e10;
}

/** Every model with a price, for `/models` listings. */
export function pricedModels(prefix = ""): string[] {
  return Object.keys(PRICES).filter((m) => m.startsWith(prefix));
}
