/**
 * The OpenAI provider: Chat Completions through `npm:openai`, against api.openai.com or any
 * OpenAI-compatible server (`OPENAI_BASE_URL`: Ollama, vLLM, LM Studio). The SDK never retries
 * (`maxRetries: 0`): Server B's service is the one layer that does.
 * @module
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "openai";
import { describeError, ProviderError, publicUrl } from "../core/mod.ts";
import { pricedModels } from "./pricing.ts";
import { abortWhenAbandoned, incompleteStream } from "./_stream.ts";
import type { Completion, CompletionRequest, Provider } from "./types.ts";
import type { Usage } from "../wire.ts";

function usageOf(usage: OpenAI.CompletionUsage | null | undefined): Usage {
  return {
    promptTokens: usage?.prompt_tokens ?? 0,
    completionTokens: usage?.completion_tokens ?? 0,
    totalTokens: usage?.total_tokens ?? 0,
  };
}

/** The public OpenAI API, used when `OPENAI_BASE_URL` is not set. */
export const OPENAI_API_URL = "https://api.openai.com/v1";

/**
 * Whether a model takes `max_completion_tokens` instead of `max_tokens` and only its default
 * temperature: the reasoning models (o1, o3, o4-mini, ...) and GPT-5.
 */
export function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model);
}

/** The delay a 429 asks for, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type ChatMessages = ChatParams["messages"];

function messagesOf(request: CompletionRequest): ChatMessages {
  const messages: ChatMessages = [];
  if (request.context) messages.push({ role: "system", content: request.context });
  messages.push({ role: "user", content: request.message });
  return messages;
}

function paramsOf(request: CompletionRequest): ChatParams {
  const params: ChatParams = { model: request.model, messages: messagesOf(request) };
  if (isReasoningModel(request.model)) params.max_completion_tokens = request.maxTokens;
  else {
    params.max_tokens = request.maxTokens;
    params.temperature = request.temperature;
  }
  return params;
}

/** What the OpenAI provider reads from the settings (`OPENAI_*`). */
export interface OpenAIOptions {
  /** Required for api.openai.com, optional for a compatible server. */
  apiKey?: string | undefined;
  /** A compatible server's base URL; default {@linkcode OPENAI_API_URL}. */
  baseUrl?: string | undefined;
  defaultModel: string;
  /** Timeout of one request. */
  timeoutMs: number;
}

/**
 * Creates the OpenAI provider. The SDK client is made on first use; without `OPENAI_API_KEY`
 * (required for api.openai.com, optional for a compatible server) calls fail with a
 * {@linkcode ProviderError} that names the setting.
 * @example
 * ```ts
 * const openai = createOpenAIProvider({ apiKey: "sk-...", defaultModel: "gpt-4o-mini", timeoutMs: 120_000 });
 * const { text, usage } = await openai.complete({ message: "Hi", model: "gpt-4o-mini", temperature: 0.7, maxTokens: 100 });
 * ```
 */
export function createOpenAIProvider(config: OpenAIOptions): Provider {
  const baseURL = config.baseUrl ?? OPENAI_API_URL;
  const official = new URL(baseURL).hostname === "api.openai.com";
  const shownURL = publicUrl(baseURL);
  const { apiKey, timeoutMs } = config;
  const where = official ? "OpenAI" : `The OpenAI-compatible server at ${shownURL}`;
  let client: OpenAI | undefined;

  const clientOf = (): OpenAI => {
    if (!apiKey && official) {
      throw new ProviderError(
        "auth",
        "OPENAI_API_KEY is not set: set it to an OpenAI API key, or set OPENAI_BASE_URL to a compatible server",
      );
    }
    return client ??= new OpenAI({
      apiKey: apiKey ?? "unused",
      baseURL,
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      maxRetries: 0,
      timeout: timeoutMs,
      logLevel: "off",
    });
  };

  const clean = (text: string): string => (apiKey ? text.replaceAll(apiKey, "[redacted]") : text);

  const toProviderError = (error: unknown, request: CompletionRequest): unknown => {
    if (error instanceof ProviderError) return error;
    if (request.signal?.aborted) return request.signal.reason;
    if (error instanceof APIUserAbortError) return error;
    if (error instanceof APIConnectionTimeoutError) {
      return new ProviderError("timeout", `${where} did not answer in time`, { cause: error });
    }
    if (error instanceof APIConnectionError) {
      const cause = error.cause ? `: ${clean(describeError(error.cause))}` : "";
      return new ProviderError("unavailable", `Cannot reach ${shownURL}${cause}`, {
        cause: error,
      });
    }
    if (error instanceof APIError) {
      const status = error.status;
      const detail = clean(describeError(error));
      const options = { cause: error };
      if (status === 401) {
        return new ProviderError(
          "auth",
          `${where} rejected the API key (HTTP 401): check OPENAI_API_KEY`,
          options,
        );
      }
      if (status === 403) {
        return new ProviderError(
          "auth",
          `${where} refused access to model "${request.model}" (HTTP 403): check the permissions of OPENAI_API_KEY`,
          options,
        );
      }
      if (status === 429 && error.code === "insufficient_quota") {
        return new ProviderError(
          "quota",
          `${where} says the quota of OPENAI_API_KEY's account is used up (insufficient_quota): check its plan and billing`,
          options,
        );
      }
      if (status === 429) {
        const after = retryAfterMs(error.headers);
        return new ProviderError("rate_limit", `${where} rate-limited the request: ${detail}`, {
          ...options,
          ...(after === undefined ? {} : { retryAfterMs: after }),
        });
      }
      if (status === 408 || status === 504) {
        return new ProviderError("timeout", `${where} timed out (HTTP ${status})`, options);
      }
      if (status !== undefined && status >= 500) {
        return new ProviderError(
          "unavailable",
          `${where} failed (HTTP ${status}): ${detail}`,
          options,
        );
      }
      if (status !== undefined && status >= 400) {
        return new ProviderError(
          "bad_request",
          `${where} rejected the request for model "${request.model}" (HTTP ${status}): ${detail}`,
          options,
        );
      }
      return new ProviderError("other", `${where} reported an error: ${detail}`, options);
    }
    if (error instanceof TypeError) {
      return new ProviderError(
        "unavailable",
        `The connection to ${shownURL} broke: ${clean(describeError(error))}`,
        { cause: error },
      );
    }
    return error;
  };

  return {
    name: "openai",
    defaultModel: config.defaultModel,
    async complete(request): Promise<Completion> {
      try {
        const response = await clientOf().chat.completions.create(paramsOf(request), {
          signal: request.signal,
        });
        return {
          text: response.choices[0]?.message.content ?? "",
          model: response.model || request.model,
          usage: usageOf(response.usage),
        };
      } catch (error) {
        throw toProviderError(error, request);
      }
    },
    stream: (request) =>
      abortWhenAbandoned(request.signal, async function* (signal) {
        try {
          const chunks = await clientOf().chat.completions.create({
            ...paramsOf(request),
            stream: true,
            stream_options: { include_usage: true },
          }, { signal });
          let text = "";
          let model = request.model;
          let usage: OpenAI.CompletionUsage | undefined;
          let finishReason: string | null | undefined;
          for await (const chunk of chunks) {
            if (chunk.model) model = chunk.model;
            if (chunk.usage) usage = chunk.usage;
            finishReason ??= chunk.choices[0]?.finish_reason;
            const delta = chunk.choices[0]?.delta?.content;
            if (delta) {
              text += delta;
              yield { type: "delta", text: delta };
            }
          }
          if (!finishReason) {
            throw incompleteStream(`${where} ended the stream before the answer was complete`);
          }
          yield { type: "done", completion: { text, model, usage: usageOf(usage) } };
        } catch (error) {
          throw toProviderError(error, request);
        }
      }),
    models: () => pricedModels().filter((m) => /^(gpt|o\d|chatgpt)/.test(m)),
    status: () =>
      apiKey || !official
        ? { configured: true }
        : { configured: false, reason: "OPENAI_API_KEY is not set" },
  };
}
