/**
 * The mock provider: deterministic answers without keys or network, in the seed's form.
 * @module
 */
import { delay } from "../core/mod.ts";
import type { Completion, CompletionRequest, Provider, StreamChunk } from "./types.ts";

/** Settings of the mock provider. */
export interface MockOptions {
  /** Simulated latency before the answer, in milliseconds. */
  delayMs?: number;
}

/** Token count the mock reports for a text: one token per four characters, rounded up. */
export function mockTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms > 0) await delay(ms, signal);
  signal?.throwIfAborted();
}

/**
 * Creates the mock provider. Its answers are numbered from 1 for the life of the provider.
 * @example
 * ```ts
 * const mock = createMockProvider();
 * const { text } = await mock.complete({ message: "Hi", model: "mock-model", temperature: 0.7, maxTokens: 100 });
 * // "[MOCK RESPONSE #1] You said: 'Hi'. This is a test response without calling any external API."
 * ```
 */
export function createMockProvider(options: MockOptions = {}): Provider {
  const delayMs = options.delayMs ?? 0;
  let count = 0;

  const answer = (request: CompletionRequest): Completion => {
    count += 1;
    const text =
      `[MOCK RESPONSE #${count}] You said: '${request.message}'. This is a test response without calling any external API.`;
    const prompt = request.context ? `${request.context}\n${request.message}` : request.message;
    const promptTokens = mockTokens(prompt);
    const completionTokens = mockTokens(text);
    return {
      text,
      model: "mock-model",
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    };
  };

  return {
    name: "mock",
    defaultModel: "mock-model",
    complete(request) {
      if (delayMs > 0) return sleep(delayMs, request.signal).then(() => answer(request));
      try {
        request.signal?.throwIfAborted();
        return Promise.resolve(answer(request));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async *stream(request): AsyncIterable<StreamChunk> {
      await sleep(delayMs, request.signal);
      const completion = answer(request);
      for (const word of completion.text.match(/\S+\s*/g) ?? []) {
        request.signal?.throwIfAborted();
        yield { type: "delta", text: word };
      }
      yield { type: "done", completion };
    },
    models: () => ["mock-model"],
    status: () => ({ configured: true }),
  };
}
