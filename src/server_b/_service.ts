/**
 * Server B's core, free of HTTP and MCP: answers a {@linkcode ProcessRequest} with the provider,
 * retries the provider (the only layer that does, so a failure says how many calls it made), and
 * records what it received.
 * @module
 */
import {
  createAttemptTimeouts,
  describeError,
  DomainError,
  isoNow,
  type Logger,
  ProviderError,
  RetriesExhausted,
  withRetries,
} from "../core/mod.ts";
import type { Ledger, LedgerEntry } from "../ledger/mod.ts";
import {
  type Completion,
  type CompletionRequest,
  costOf,
  type Provider,
  type StreamChunk,
} from "../providers/mod.ts";
import type { ProcessRequest, ProcessResponse } from "../wire.ts";

/** Defaults applied to requests that leave them out; changeable at run time. */
export interface AiDefaults {
  model: string;
  temperature: number;
  maxTokens: number;
}

/** Options of {@linkcode createAiService}. */
export interface AiServiceOptions {
  provider: Provider;
  ledger: Ledger;
  defaults: AiDefaults;
  /** Per-attempt provider timeout, and the bound on all attempts together. */
  timeoutMs: number;
  attempts: number;
  log: Logger;
  /** Called before each provider retry (metrics). */
  onRetry?: () => void;
}

/** Server B's AI service. */
export interface AiService {
  readonly provider: Provider;
  readonly ledger: Ledger;
  /** Current defaults (a copy). */
  defaults(): AiDefaults;
  /** Changes the defaults `patch` gives (an `undefined` one stays); the caller has validated them. */
  configure(patch: { [K in keyof AiDefaults]?: AiDefaults[K] | undefined }): AiDefaults;
  process(request: ProcessRequest, signal?: AbortSignal): Promise<ProcessResponse>;
  /** Streams deltas, then the final response; throws {@linkcode ProviderError} on failure. */
  stream(
    request: ProcessRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<string, ProcessResponse, undefined>;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/**
 * What the ledger says of a stream that ended before its answer did: why (the abort reason, e.g.
 * "client disconnected") and how much text had gone out.
 */
function abandoned(reason: unknown, partialText: string): Error {
  const why = reason instanceof Error ? reason.message : "the stream was abandoned";
  return new Error(
    `Stream ended early: ${why} after ${partialText.length} characters of the answer`,
  );
}

/** `error`, saying how many provider calls were made when it is a provider's. */
function counted(error: unknown, calls: number): unknown {
  return error instanceof ProviderError ? error.afterAttempts(calls) : error;
}

/**
 * Creates the service.
 * @example
 * ```ts
 * const service = createAiService({ provider, ledger, defaults, timeoutMs: 120_000, attempts: 3, log });
 * const answer = await service.process({ message: "Hello" });
 * ```
 */
export function createAiService(options: AiServiceOptions): AiService {
  const { provider, ledger, log } = options;
  const defaults = { ...options.defaults };

  const toCompletionRequest = (
    request: ProcessRequest,
    signal?: AbortSignal,
  ): CompletionRequest => ({
    message: request.message,
    context: request.context,
    model: request.model ?? defaults.model,
    temperature: request.temperature ?? defaults.temperature,
    maxTokens: request.max_tokens ?? defaults.maxTokens,
    signal,
  });

  /** One attempt's signal: the caller's, plus the per-attempt timeout; `clear()` frees both. */
  const timeouts = createAttemptTimeouts(
    options.timeoutMs,
    () => new DOMException("The provider timed out", "TimeoutError"),
  );
  const attemptSignal = (signal?: AbortSignal) => timeouts.start(signal);

  const normalise = (error: unknown, signal?: AbortSignal): unknown => {
    if (error instanceof RetriesExhausted) return normalise(error.lastError, signal);
    if (error instanceof ProviderError) return error;
    if (signal?.aborted) return error;
    if (isAbort(error)) {
      return new ProviderError(
        "timeout",
        `The ${provider.name} provider did not answer within ${options.timeoutMs / 1000} seconds`,
      );
    }
    return new ProviderError(
      "other",
      `The ${provider.name} provider failed: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  };

  const retryOptions = (signal?: AbortSignal) => ({
    attempts: options.attempts,
    deadline: Date.now() + options.timeoutMs,
    signal,
    classify: (error: unknown) => {
      const e = normalise(error, signal);
      return e instanceof ProviderError && e.retryable
        ? { retry: true, afterMs: e.options.retryAfterMs }
        : { retry: false };
    },
    onRetry: (error: unknown, attempt: number, delayMs: number) => {
      options.onRetry?.();
      log.warn("provider call failed, retrying", {
        provider: provider.name,
        attempt,
        delayMs,
        error: describeError(error),
      });
    },
  });

  const refuseWhenUnrecordable = () => {
    const problem = ledger.problem();
    if (problem) throw new DomainError("unavailable", problem, { retryAfterSeconds: 1 });
  };

  /** Records the exchange; resolves (with the answer, for a completion) once it is written. */
  const record = async (
    request: ProcessRequest,
    model: string,
    started: number,
    outcome: { completion: Completion } | { error: unknown; partialText?: string },
  ): Promise<ProcessResponse | undefined> => {
    const responseTime = Math.round(performance.now() - started) / 1000;
    const base = {
      messageId: crypto.randomUUID(),
      timestamp: isoNow(),
      message: request.message,
      context: request.context,
      provider: provider.name,
      responseTime,
    };
    if ("error" in outcome) {
      await ledger.record({
        ...base,
        ...(outcome.partialText ? { aiResponse: outcome.partialText } : {}),
        model,
        usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
        estimatedCost: null,
        status: "error",
        error: describeError(outcome.error),
      });
      return undefined;
    }
    const { completion } = outcome;
    const entry: LedgerEntry = {
      ...base,
      aiResponse: completion.text,
      model: completion.model,
      usage: completion.usage,
      estimatedCost: costOf(completion.model, completion.usage),
      status: "success",
    };
    await ledger.record(entry);
    return {
      aiResponse: completion.text,
      model: entry.model,
      provider: provider.name,
      usage: entry.usage,
      estimatedCost: entry.estimatedCost,
      responseTime,
      messageId: entry.messageId,
      status: "success",
    };
  };

  return {
    provider,
    ledger,
    defaults: () => ({ ...defaults }),
    configure(patch) {
      Object.assign(
        defaults,
        Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
      );
      log.info("AI defaults changed", { ...defaults });
      return { ...defaults };
    },
    async process(request, signal) {
      refuseWhenUnrecordable();
      const started = performance.now();
      const model = request.model ?? defaults.model;
      let calls = 0;
      let completion: Completion;
      try {
        completion = await withRetries(async () => {
          calls++;
          const attempt = attemptSignal(signal);
          try {
            return await provider.complete(toCompletionRequest(request, attempt.signal));
          } finally {
            attempt.clear();
          }
        }, retryOptions(signal));
      } catch (error) {
        const e = counted(normalise(error, signal), calls);
        await record(request, model, started, { error: e });
        throw e;
      }
      return (await record(request, model, started, { completion }))!;
    },
    async *stream(request, signal) {
      refuseWhenUnrecordable();
      const started = performance.now();
      const model = request.model ?? defaults.model;
      let iterator: AsyncIterator<StreamChunk> | undefined;
      let partialText = "";
      let recorded = false;
      const recordFailure = async (error: unknown) => {
        recorded = true;
        await record(request, model, started, { error, partialText });
      };
      let attempt: ReturnType<typeof attemptSignal> | undefined;
      let calls = 0;
      try {
        const first = await withRetries(async () => {
          calls++;
          attempt?.clear();
          attempt = attemptSignal(signal);
          iterator = provider.stream(toCompletionRequest(request, attempt.signal))
            [Symbol.asyncIterator]();
          return await iterator.next();
        }, retryOptions(signal));
        let step = first;
        for (;;) {
          if (step.done) {
            throw new ProviderError("other", `The ${provider.name} stream ended without a result`);
          }
          const chunk = step.value;
          if (chunk.type === "done") {
            recorded = true;
            return (await record(request, model, started, { completion: chunk.completion }))!;
          }
          partialText += chunk.text;
          yield chunk.text;
          step = await iterator!.next();
        }
      } catch (error) {
        // Recording the answer failed: the ledger's error, not the provider's.
        if (recorded) throw error;
        const e = counted(normalise(error, signal), calls);
        await recordFailure(signal?.aborted ? abandoned(signal.reason, partialText) : e);
        throw e;
      } finally {
        attempt?.clear();
        await iterator?.return?.();
        if (!recorded) {
          try {
            await recordFailure(abandoned(signal?.reason, partialText));
          } catch (error) {
            log.error("could not record an abandoned stream", { error: describeError(error) });
          }
        }
      }
    },
  };
}
