/**
 * The plain code `src/core/_attempt_timer.ts` replaces (a timer per attempt), swapped in by the
 * bench's import map.
 * @module
 */
import type { AttemptTimeouts } from "../../src/core/_attempt_timer.ts";
export type { AttemptSignal, AttemptTimeouts } from "../../src/core/_attempt_timer.ts";

/** Per-attempt timeouts of `timeoutMs`, one timer each; a timed-out attempt aborts with `reason()`. */
export function createAttemptTimeouts(
  timeoutMs: number,
  reason: () => unknown,
): AttemptTimeouts {
  let pending = 0;
  return {
    get pending() {
      return pending;
    },
    start(signal) {
      const controller = new AbortController();
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        pending--;
        clearTimeout(timer);
        signal?.removeEventListener("abort", follow);
      };
      const timer = setTimeout(() => {
        end();
        controller.abort(reason());
      }, timeoutMs);
      Deno.unrefTimer(timer);
      pending++;
      const follow = () => controller.abort(signal!.reason);
      if (signal?.aborted) follow();
      else signal?.addEventListener("abort", follow, { once: true });
      return { signal: controller.signal, clear: end };
    },
  };
}
