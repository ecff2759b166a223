/**
 * The bedrock provider. (Being written: see issue "Real providers".)
 * @module
 */
import type { Config } from "../config.ts";
import { ProviderError } from "../errors.ts";
import type { Provider } from "./types.ts";

/** Creates the bedrock provider. */
export function createBedrockProvider(config: Config): Provider {
  const fail = () => {
    throw new ProviderError("other", "The bedrock provider is not available in this build");
  };
  return {
    name: "bedrock",
    defaultModel: config.BEDROCK_DEFAULT_MODEL,
    complete: () => Promise.reject(fail()),
    stream: () => fail(),
    models: () => [],
    status: () => ({ configured: false, reason: "not available in this build" }),
  };
}
