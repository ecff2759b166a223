/**
 * Metrics around the parts that do the work: the ledger (requests, tokens and cost by model),
 * an AI provider (calls, their outcome and latency) and Server A's client to Server B. Each
 * wrapper keeps the interface it wraps, so the code using it does not change.
 * @module
 */
import {
  contextFields,
  type Logger,
  ProviderError,
  runInSpan,
  UpstreamError,
} from "../core/mod.ts";
import type { Ledger, LedgerEntry } from "../ledger/mod.ts";
import { MetricsRegistry } from "./registry.ts";
import { timedOperations } from "./timed.ts";
import type { Provider, StreamChunk } from "../providers/mod.ts";

/**
 * A server's metrics registry, starting with `mcpcomm_build_info{server, version}` (always 1).
 * @example
 * ```ts
 * const metrics = createServerMetrics("server-b", VERSION);
 * ```
 */
export function createServerMetrics(server: string, version: string): MetricsRegistry {
  const metrics = new MetricsRegistry();
  metrics.gauge("mcpcomm_build_info", "Always 1; labels name the server and version", [
    "server",
    "version",
  ]).set({ server, version }, 1);
  return metrics;
}

/** Shows `count()` as `mcpcomm_mcp_sessions_open` at every scrape. */
export function countMcpSessions(metrics: MetricsRegistry, count: () => number): void {
  const sessions = metrics.gauge(
    "mcpcomm_mcp_sessions_open",
    "Open MCP sessions (both transports)",
  );
  metrics.onCollect(() => sessions.set({}, count()));
}

/**
 * Counts every recorded exchange by model and status, with its tokens and cost, and exposes the
 * ledger's size and health at scrape time.
 * @example
 * ```ts
 * const ledger = instrumentLedger(openLedger(options), metrics);
 * ```
 */
export function instrumentLedger(ledger: Ledger, metrics: MetricsRegistry): Ledger {
  const exchanges = metrics.counter(
    "mcpcomm_ai_requests_total",
    "AI exchanges recorded since start, by model and status",
    ["model", "status"],
  );
  const tokens = metrics.counter(
    "mcpcomm_ai_tokens_total",
    "Tokens used since start, by model and type (prompt, completion)",
    ["model", "type"],
  );
  const cost = metrics.counter(
    "mcpcomm_ai_cost_usd_total",
    "Estimated cost in US dollars since start, by model (priced models only)",
    ["model"],
  );
  const failures = metrics.counter(
    "mcpcomm_ledger_write_failures_total",
    "Exchanges the ledger could not record (answered 503)",
  );
  const kept = metrics.gauge("mcpcomm_ledger_entries", "Entries the ledger keeps for history");
  const up = metrics.gauge("mcpcomm_ledger_up", "1 while the ledger can record new work, else 0");
  metrics.onCollect(() => {
    const size = ledger.size;
    // A remote store's count arrives after this scrape: the next scrape shows it.
    if (typeof size === "number") kept.set({}, size);
    else size.then((n) => kept.set({}, n), () => {});
    up.set({}, ledger.problem() === undefined ? 1 : 0);
  });

  const recorded = (entry: LedgerEntry) => {
    exchanges.inc({ model: entry.model, status: entry.status });
    if (entry.status !== "success") return;
    tokens.inc({ model: entry.model, type: "prompt" }, entry.usage.promptTokens);
    tokens.inc({ model: entry.model, type: "completion" }, entry.usage.completionTokens);
    if (entry.estimatedCost !== null) cost.inc({ model: entry.model }, entry.estimatedCost);
  };
  const notRecorded = (error: unknown): never => {
    failures.inc();
    throw error;
  };

  return {
    record(entry) {
      let written: void | Promise<void>;
      try {
        written = ledger.record(entry);
      } catch (error) {
        return notRecorded(error);
      }
      if (written) return written.then(() => recorded(entry), notRecorded);
      recorded(entry);
    },
    recent: (limit, offset) => ledger.recent(limit, offset),
    get size() {
      return ledger.size;
    },
    stats: () => ledger.stats(),
    get location() {
      return ledger.location;
    },
    problem: () => ledger.problem(),
    close: () => ledger.close(),
  };
}

function outcome(error: unknown): string {
  return error instanceof ProviderError ? error.kind : "other";
}

/**
 * Counts each provider call (each attempt, retries included) by model and outcome, and times
 * it (to the end of the stream for streams).
 */
export function instrumentProvider(provider: Provider, metrics: MetricsRegistry): Provider {
  const record = timedOperations(metrics, {
    name: "mcpcomm_provider_call",
    labels: ["provider"],
    outcomeLabels: ["model", "outcome"],
    help: [
      "Calls to the AI provider (each attempt), by provider, model and outcome",
      "Duration of one provider call, by provider",
    ],
  });
  const done = (model: string, started: number, result: string) =>
    record({ provider: provider.name }, { model, outcome: result }, started);

  return {
    get name() {
      return provider.name;
    },
    get defaultModel() {
      return provider.defaultModel;
    },
    models: () => provider.models(),
    status: () => provider.status(),
    async complete(request) {
      const started = performance.now();
      try {
        const completion = await provider.complete(request);
        done(completion.model, started, "success");
        return completion;
      } catch (error) {
        done(request.model, started, outcome(error));
        throw error;
      }
    },
    async *stream(request): AsyncGenerator<StreamChunk> {
      const started = performance.now();
      let model = request.model;
      let result = "cancelled";
      try {
        for await (const chunk of provider.stream(request)) {
          if (chunk.type === "done") {
            model = chunk.completion.model;
            result = "success";
          }
          yield chunk;
        }
      } catch (error) {
        result = outcome(error);
        throw error;
      } finally {
        done(model, started, result);
      }
    },
  };
}

/**
 * Counts Server A's retries towards Server B (`mcpcomm_server_b_retries_total{reason}`); pass
 * the result as the client's `onRetry`.
 * @example
 * ```ts
 * createServerBPool({ ...options, onRetry: countServerBRetries(metrics) });
 * ```
 */
export function countServerBRetries(metrics: MetricsRegistry): (reason: string) => void {
  const retries = metrics.counter(
    "mcpcomm_server_b_retries_total",
    "Calls to Server B retried, by what failed (refused, reset, http_503, ...)",
    ["reason"],
  );
  return (reason) => retries.inc({ reason });
}

/** What {@linkcode instrumentServerBClient} wraps: Server A's client to Server B. */
interface UpstreamClient {
  readonly url: string;
  health(signal?: AbortSignal): Promise<unknown>;
  models(signal?: AbortSignal): Promise<unknown>;
  process(request: never, signal?: AbortSignal): Promise<unknown>;
  stream(request: never, onText: (text: string) => void, signal?: AbortSignal): Promise<unknown>;
}

/** A circuit breaker's view of one Server B, as the balancer reports it. */
interface CircuitView {
  backends?: () => { url: string; circuit: string }[];
}

const CIRCUIT_STATES = ["closed", "open", "half-open"] as const;

/**
 * Counts and times Server A's calls to Server B (each in its own trace span, so Server B gets
 * a `traceparent`), logs one line per call (`info` when no HTTP request is being served, as in
 * stdio mode, else `debug`), and exposes each circuit breaker's state when the client balances.
 */
export function instrumentServerBClient<T extends UpstreamClient>(
  client: T,
  metrics: MetricsRegistry,
  log?: Logger,
): T {
  const record = timedOperations(metrics, {
    name: "mcpcomm_upstream_request",
    labels: ["operation"],
    outcomeLabels: ["outcome"],
    help: [
      "Calls from Server A to Server B (after retries), by operation and outcome",
      "Duration of a call to Server B, retries included, by operation",
    ],
  });
  const circuitView = client as CircuitView;
  if (typeof circuitView.backends === "function") {
    const circuit = metrics.gauge(
      "mcpcomm_circuit_state",
      "Circuit breaker per Server B: 1 for its current state, 0 for the others",
      ["backend", "state"],
    );
    metrics.onCollect(() => {
      for (const backend of circuitView.backends!()) {
        for (const state of CIRCUIT_STATES) {
          circuit.set({ backend: backend.url, state }, backend.circuit === state ? 1 : 0);
        }
      }
    });
  }

  const observed = <R>(operation: string, call: () => Promise<R>): Promise<R> =>
    runInSpan(async (context) => {
      const started = performance.now();
      let outcome = "success";
      try {
        return await call();
      } catch (error) {
        outcome = error instanceof UpstreamError
          ? (error.options.status !== undefined ? `http_${error.options.status}` : "failed")
          : "cancelled";
        throw error;
      } finally {
        const seconds = record({ operation }, { outcome }, started);
        const fields = {
          operation,
          outcome,
          durationMs: Math.round(seconds * 1000),
          ...contextFields(context),
          serverB: client.url,
        };
        if (context.parentSpanId) log?.debug("Server B call", fields);
        else log?.info("Server B call", fields);
      }
    });

  return {
    ...client,
    health: (signal?: AbortSignal) => observed("health", () => client.health(signal)),
    models: (signal?: AbortSignal) => observed("models", () => client.models(signal)),
    process: (request: never, signal?: AbortSignal) =>
      observed("process", () => client.process(request, signal)),
    stream: (request: never, onText: (text: string) => void, signal?: AbortSignal) =>
      observed("stream", () => client.stream(request, onText, signal)),
  };
}
