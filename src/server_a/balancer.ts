/**
 * Several Server Bs behind one {@linkcode ServerBClient}: round robin over the healthy ones,
 * periodic health checks, a circuit breaker per Server B that opens after repeated failures and
 * lets a probe through after a cool-down, and failover to another Server B, before text reached
 * the caller, for the failures one Server B would retry (a connection that failed, a Server B's
 * own overload, a rate limit with `Retry-After`), never for a provider failure Server B already
 * retried: every Server B would call the same provider again.
 * @module
 */
import type { Config } from "../core/config.ts";
import { describeError, UpstreamError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { RetriesExhausted, withRetries } from "../core/retry.ts";
import type { ProcessRequest, ProcessResponse } from "../wire.ts";
import {
  createServerBClientFromConfig,
  type ServerBClient,
  type ServerBClientOptions,
  serverBFailure,
} from "./b_client.ts";

/** A circuit breaker's state. */
export type CircuitState = "closed" | "open" | "half-open";

/** One Server B as the balancer sees it. */
export interface BackendStatus {
  url: string;
  circuit: CircuitState;
  consecutiveFailures: number;
  /** Requests answered / failed by this Server B since start. */
  served: number;
  failed: number;
  lastError?: string;
}

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
}

/** A {@linkcode ServerBClient} over several Server Bs, with their states. */
export interface BalancedServerBClient extends ServerBClient {
  backends(): BackendStatus[];
  /** Runs one round of health checks now (tests, and the periodic timer). */
  checkHealth(): Promise<void>;
}

interface Backend {
  client: ServerBClient;
  circuit: CircuitState;
  consecutiveFailures: number;
  openUntil: number;
  openMs: number;
  probing: boolean;
  served: number;
  failed: number;
  lastError?: string;
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
  const threshold = options.failureThreshold ?? 3;
  const baseOpenMs = options.openMs ?? 5000;
  const maxOpenMs = options.maxOpenMs ?? 60_000;
  const log = options.log;
  const backends: Backend[] = options.backends.map((client) => ({
    client,
    circuit: "closed",
    consecutiveFailures: 0,
    openUntil: 0,
    openMs: baseOpenMs,
    probing: false,
    served: 0,
    failed: 0,
  }));
  let next = 0;

  function setCircuit(backend: Backend, circuit: CircuitState): void {
    if (backend.circuit === circuit) return;
    log?.[circuit === "closed" ? "info" : "warn"]("Server B circuit " + circuit, {
      url: backend.client.url,
      consecutiveFailures: backend.consecutiveFailures,
      ...(circuit === "open" ? { retryInMs: backend.openMs } : {}),
      ...(backend.lastError ? { lastError: backend.lastError } : {}),
    });
    backend.circuit = circuit;
  }

  function succeeded(backend: Backend): void {
    backend.consecutiveFailures = 0;
    backend.openMs = baseOpenMs;
    backend.probing = false;
    setCircuit(backend, "closed");
  }

  function failed(backend: Backend, error: unknown): void {
    backend.consecutiveFailures++;
    backend.lastError = describeError(error);
    const wasProbe = backend.circuit === "half-open";
    backend.probing = false;
    if (wasProbe || backend.consecutiveFailures >= threshold) {
      if (wasProbe) backend.openMs = Math.min(maxOpenMs, backend.openMs * 2);
      backend.openUntil = Date.now() + backend.openMs;
      setCircuit(backend, "open");
    }
  }

  /** The next Server B that may take a request, preferring ones not yet tried for it. */
  function pick(tried: Set<Backend>): Backend | undefined {
    const now = Date.now();
    const usable = (b: Backend) => {
      if (b.circuit === "closed") return true;
      if (b.circuit === "open" && now >= b.openUntil) setCircuit(b, "half-open");
      return b.circuit === "half-open" && !b.probing;
    };
    for (const fresh of [true, false]) {
      for (let i = 0; i < backends.length; i++) {
        const backend = backends[(next + i) % backends.length]!;
        if (fresh === tried.has(backend) || !usable(backend)) continue;
        next = (next + i + 1) % backends.length;
        if (backend.circuit === "half-open") backend.probing = true;
        return backend;
      }
    }
    return undefined;
  }

  function unavailable(): UpstreamError {
    const states = backends.map((b) =>
      `${b.client.url} (${b.circuit}${b.lastError ? `: ${b.lastError}` : ""})`
    );
    return new UpstreamError(`No Server B is available: ${states.join("; ")}`, { status: 503 });
  }

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
        onRetry: (error, attempt, delayMs) =>
          log?.warn("failing over to another Server B", {
            request: what,
            attempt,
            delayMs,
            error: describeError(error),
          }),
      });
    } catch (error) {
      if (error instanceof RetriesExhausted) throw error.lastError;
      throw error;
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const checkHealth = async () => {
    await Promise.all(backends.map(async (backend) => {
      if (backend.circuit === "open" && Date.now() < backend.openUntil) return;
      const probe = backend.circuit !== "closed";
      if (probe && backend.probing) return;
      if (probe) backend.probing = true;
      try {
        await backend.client.health(AbortSignal.timeout(5000));
        succeeded(backend);
      } catch (error) {
        if (probe && backend.circuit === "open") setCircuit(backend, "half-open");
        failed(backend, error);
      }
    }));
  };
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
    backends: () =>
      backends.map((b) => ({
        url: b.client.url,
        circuit: b.circuit,
        consecutiveFailures: b.consecutiveFailures,
        served: b.served,
        failed: b.failed,
        ...(b.lastError ? { lastError: b.lastError } : {}),
      })),
    checkHealth,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const b of backends) b.client.close();
    },
  };
}

/**
 * The Server B client Server A uses: a plain client for one `SERVER_B_URL`, a balanced one
 * (one attempt per Server B per try, failover between them) for several.
 */
export function createServerBPool(
  config: Config,
  log?: Logger,
  overrides: Partial<Pick<BalancerOptions, "healthIntervalMs" | "openMs" | "failureThreshold">> =
    {},
  clientOptions: Pick<ServerBClientOptions, "http1"> = {},
): ServerBClient {
  if (config.SERVER_B_URL.length === 1) {
    return createServerBClientFromConfig(config, log, clientOptions);
  }
  return createBalancedServerBClient({
    backends: config.SERVER_B_URL.map((url) =>
      createServerBClientFromConfig(config, log, { ...clientOptions, url, attempts: 1 })
    ),
    attempts: config.RETRY_ATTEMPTS,
    deadlineMs: config.TIMEOUT_SECONDS * 1000 * config.RETRY_ATTEMPTS,
    log,
    ...overrides,
  });
}
