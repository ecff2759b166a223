/**
 * Retries with exponential backoff and full jitter, bounded by attempts and one overall deadline.
 * Used by Server A towards Server B and by Server B towards its provider: one layer each.
 * @module
 */

/** How a failure should be treated. */
export interface RetryVerdict {
  retry: boolean;
  /** A delay the other side asked for (Retry-After); used instead of the backoff when set. */
  afterMs?: number | undefined;
}

/** Options of {@linkcode withRetries}. */
export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Absolute time (ms since epoch) after which no attempt starts and no wait is begun. */
  deadline: number;
  /** Base of the exponential backoff in milliseconds. */
  baseDelayMs?: number;
  /** Largest backoff in milliseconds. */
  maxDelayMs?: number;
  /** Decides whether an error is worth another attempt. */
  classify: (error: unknown) => RetryVerdict;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal | undefined;
  /** Random source in [0, 1), replaceable in tests. */
  random?: () => number;
}

/** Thrown by {@linkcode withRetries}: the last error and how many attempts were made. */
export class RetriesExhausted extends Error {
  override name = "RetriesExhausted";
  constructor(
    readonly lastError: unknown,
    readonly attempts: number,
    readonly deadlineHit: boolean,
  ) {
    super(lastError instanceof Error ? lastError.message : String(lastError), { cause: lastError });
  }
}

/** Waits `ms`, or rejects when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, the error is not retryable, attempts run out or the deadline
 * would be passed by the next wait. Non-retryable errors are rethrown as they are.
 * @example
 * ```ts
 * const answer = await withRetries((attempt) => fetch(url), {
 *   attempts: 3,
 *   deadline: Date.now() + 30_000,
 *   classify: () => ({ retry: true }),
 * });
 * ```
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const base = options.baseDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  const random = options.random ?? Math.random;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      options.signal?.throwIfAborted();
      const verdict = options.classify(error);
      if (!verdict.retry) throw error;
      if (attempt >= options.attempts) throw new RetriesExhausted(error, attempt, false);
      const wait = verdict.afterMs ??
        Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1)));
      if (Date.now() + wait >= options.deadline) throw new RetriesExhausted(error, attempt, true);
      options.onRetry?.(error, attempt, wait);
      await delay(wait, options.signal);
    }
  }
}

export {
  type AttemptSignal,
  type AttemptTimeouts,
  createAttemptTimeouts,
} from "./_attempt_timer.ts";
