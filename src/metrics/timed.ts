/**
 * One kind of operation counted and timed together: a counter `<name>s_total` and a histogram
 * `<name>_duration_seconds`, updated by one call when an operation ends.
 * @module
 */
import type { Labels, MetricsRegistry } from "./registry.ts";

/** What {@linkcode timedOperations} registers. */
export interface TimedOperationsOptions {
  /** The metrics' common stem, e.g. `mcpcomm_http_request`. */
  name: string;
  /** Labels of both metrics. */
  labels: readonly string[];
  /** Labels of the counter only, such as a status or an outcome. */
  outcomeLabels: readonly string[];
  /** Help texts of the counter and of the histogram. */
  help: readonly [count: string, duration: string];
}

/**
 * Counts and times one ended operation that began at `started` (a `performance.now()`);
 * returns its duration in seconds.
 */
export type RecordOperation = (labels: Labels, outcome: Labels, started: number) => number;

/**
 * Registers the counter and the histogram of one kind of operation.
 * @example
 * ```ts
 * const record = timedOperations(metrics, {
 *   name: "mcpcomm_upstream_request",
 *   labels: ["operation"],
 *   outcomeLabels: ["outcome"],
 *   help: ["Calls to Server B", "Duration of a call to Server B"],
 * });
 * const started = performance.now();
 * record({ operation: "process" }, { outcome: "success" }, started);
 * ```
 */
export function timedOperations(
  metrics: MetricsRegistry,
  options: TimedOperationsOptions,
): RecordOperation {
  const { name, labels, outcomeLabels, help } = options;
  const count = metrics.counter(`${name}s_total`, help[0], [...labels, ...outcomeLabels]);
  const duration = metrics.histogram(`${name}_duration_seconds`, help[1], labels);
  return (labels, outcome, started) => {
    const seconds = (performance.now() - started) / 1000;
    count.inc({ ...labels, ...outcome });
    duration.observe(labels, seconds);
    return seconds;
  };
}
