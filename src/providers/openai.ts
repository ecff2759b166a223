/**
 * The openai provider. (Being written: see issue "Real providers".)
 * @module
 */
import type { Config } from "../config.ts";
import { ProviderError } from "../errors.ts";
import type { Provider } from "./types.ts";

/** Creates the openai provider. */
export function createOpenAIProvider(config: Config): Provider {
  const fail = () => {
    throw new ProviderError("other", "The openai provider is not available in this build");
  };
  return {
    name: "openai",
    defaultModel: config.OPENAI_DEFAULT_MODEL,
    complete: () => Promise.reject(fail()),
    stream: () => fail(),
    models: () => [],
    status: () => ({ configured: false, reason: "not available in this build" }),
  };
}
