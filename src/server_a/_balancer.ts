/**
 * Several Server Bs behind one {@linkcode ServerBClient}: round robin over the healthy ones,
 * periodic health checks, a circuit breaker per Server B that opens after repeated failures and
 * lets a probe through after a cool-down, and failover to another Server B, before text reached
 * the caller, for the failures one Server B would retry (a connection that failed, a Server B's
 * own overload, a rate limit with `Retry-After`), never for a provider failure Server B already
 * retried: every Server B would call the same provider again.
 * @module
 */
import { describeError, type Logger, RetriesExhausted, withRetries } from "../core/mod.ts";
import type { ProcessRequest, ProcessResponse } from "../wire.ts";
import { retryReason } from "./_b_failure.ts";
import { type ServerBClient, serverBFailure } from "./_b_client.ts";
import { type Backend, type BackendStatus, createCircuits } from "./_circuits.ts";

export type { BackendStatus, CircuitState } from "./_circuits.ts";

/** Options of {@linkcode createBalancedServerBClient}. */
export interface BalancerOptions {
  /** One client per Server B, each making a single attempt per call. */
  backends: ServerBClient[];
  /** Attempts per request across Server Bs (at least one per Server B). */
  attempts: number;
  /** Failures in a row that open a circuit (default 3). */
  failureThreshold?: number;
  /** First cool-down of an open circuit; doubles while probes fail, up to `maxOpenMs`. */
  openMs?: number;
  maxOpenMs?: number;
  /** Interval of `GET /health` checks of every Server B (default 10 s; 0 turns them off). */
  healthIntervalMs?: number;
  /** Base of the backoff once every Server B has been tried (default 200 ms). */
  baseDelayMs?: number;
  /** Bound on all attempts and waits of one request (default none). */
  deadlineMs?: number;
  log?: Logger | undefined;
  /** Called before each retry on another (or the same) Server B, with why, e.g. to count it. */
  onRetry?: ((reason: string) => void) | undefined;
}

/** A {@linkcode ServerBClient} over several Server Bs, with their states. */
export interface BalancedServerBClient extends ServerBClient {
  backends(): BackendStatus[];
  /** Runs one round of health checks now (tests, and the periodic timer). */
  checkHealth(): Promise<void>;
}

const FAILOVER_KINDS = new Set(["refused", "reset", "unreachable", "truncated"]);

/** Whether an error says this Server B failed (as opposed to the request being bad). */
function backendFault(error: unknown): { fault: boolean; failover: boolean } {
  const failure = serverBFailure(error);
  if (!failure) return { fault: false, failover: false };
  const { kind, status } = failure;
  if (kind === "status") {
    return { fault: failure.retryable || (status ?? 0) >= 500, failover: failure.retryable };
  }
  if (FAILOVER_KINDS.has(kind)) return { fault: true, failover: true };
  return { fault: kind === "timeout" || kind === "certificate", failover: false };
}

/**
 * Creates the balanced client and starts its health checks.
 * @example
 * ```ts
 * const b = createBalancedServerBClient({ backends: [clientA, clientB], attempts: 3 });
 * await b.process({ message: "hi" }); // answered by A, the next by B, ...
 * b.close();
 * ```
 */
export function createBalancedServerBClient(options: BalancerOptions): BalancedServerBClient {
  if (options.backends.length === 0) throw new Error("No Server B to balance");
  const circuits = createCircuits(options.backends, options);
  const { backends, pick, succeeded, failed, unavailable, checkHealth } = circuits;
  const log = options.log;

  async function run<T>(
    what: string,
    fn: (client: ServerBClient) => Promise<T>,
    signal: AbortSignal | undefined,
    mayFailover: () => boolean = () => true,
  ): Promise<T> {
    const tried = new Set<Backend>();
    const attempts = Math.max(options.attempts, backends.length);
    try {
      return await withRetries(async () => {
        const backend = pick(tried);
        if (!backend) throw unavailable();
        tried.add(backend);
        try {
          const answer = await fn(backend.client);
          backend.served++;
          succeeded(backend);
          return answer;
        } catch (error) {
          if (signal?.aborted) {
            backend.probing = false;
            throw error;
          }
          const { fault } = backendFault(error);
          if (fault) {
            backend.failed++;
            failed(backend, error);
          } else {
            succeeded(backend);
          }
          throw error;
        }
      }, {
        attempts,
        deadline: options.deadlineMs === undefined
          ? Number.POSITIVE_INFINITY
          : Date.now() + options.deadlineMs,
        baseDelayMs: options.baseDelayMs ?? 200,
        signal,
        classify: (error) => {
          if (!backendFault(error).failover || !mayFailover()) return { retry: false };
          const failure = serverBFailure(error);
          const untried = backends.some((b) => !tried.has(b) && b.circuit !== "open");
          const providers = failure?.code?.startsWith("provider_") ?? false;
          if (untried && !providers) return { retry: true, afterMs: 0 };
          return { retry: true, afterMs: failure?.retryAfterMs };
        },
        onRetry: (error, attempt, delayMs) => {
          log?.warn("failing over to another Server B", {
            request: what,
            attempt,
            delayMs,
            error: describeError(error),
          });
          const failure = serverBFailure(error);
          if (failure) options.onRetry?.(retryReason(failure));
        },
      });
    } catch (error) {
      if (error instanceof RetriesExhausted) throw error.lastError;
      throw error;
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const interval = options.healthIntervalMs ?? 10_000;
  const schedule = () => {
    if (closed || interval <= 0) return;
    timer = setTimeout(async () => {
      await checkHealth().catch(() => {});
      schedule();
    }, interval);
    Deno.unrefTimer(timer as unknown as number);
  };
  schedule();

  return {
    url: backends.map((b) => b.client.url).join(", "),
    health: (signal) => run("GET /health", (c) => c.health(signal), signal),
    models: (signal) => run("GET /models", (c) => c.models(signal), signal),
    process: (request: ProcessRequest, signal?: AbortSignal): Promise<ProcessResponse> =>
      run("POST /process", (c) => c.process(request, signal), signal),
    stream(request, onText, signal) {
      let delivered = false;
      return run(
        "POST /stream",
        (c) =>
          c.stream(request, (text) => {
            delivered = true;
            onText(text);
          }, signal),
        signal,
        () => !delivered,
      );
    },
    backends: circuits.statuses,
    checkHealth,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const b of backends) b.client.close();
    },
  };
}
