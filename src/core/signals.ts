/**
 * What a shutdown signal means. The first asks for a graceful stop. One that follows within
 * {@linkcode SIGNAL_ECHO_MS} is the same Ctrl+C arriving twice (the terminal signals the whole
 * process group, and `deno task` forwards it again) and is ignored; a later one forces the exit.
 * @module
 */

/** Signals this soon after the first (in milliseconds) count as the same keypress. */
export const SIGNAL_ECHO_MS = 1000;

/** What to do about one signal: stop gracefully, ignore it as an echo, or exit at once. */
export type SignalAction = "stop" | "ignore" | "force";

/**
 * Creates the decision for successive shutdown signals; `now` is a millisecond clock.
 * @example
 * ```ts
 * const gate = createSignalGate();
 * Deno.addSignalListener("SIGINT", () => console.error(gate())); // "stop", then "ignore" or "force"
 * ```
 */
export function createSignalGate(
  now: () => number = () => performance.now(),
  echoMs: number = SIGNAL_ECHO_MS,
): () => SignalAction {
  let first: number | undefined;
  return () => {
    const at = now();
    if (first === undefined) {
      first = at;
      return "stop";
    }
    return at - first < echoMs ? "ignore" : "force";
  };
}
