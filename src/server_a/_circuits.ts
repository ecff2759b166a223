/**
 * The balancer's circuit breakers, one per Server B: opened after repeated failures, a probe let
 * through after a cool-down (doubling while probes fail), and the health checks that close them.
 * @module
 */
import { describeError, type Logger, UpstreamError } from "../core/mod.ts";
import type { ServerBClient } from "./_b_client.ts";

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

/** One Server B and its circuit. */
export interface Backend {
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

/** Options of {@linkcode createCircuits}. */
export interface CircuitOptions {
  /** Failures in a row that open a circuit (default 3). */
  failureThreshold?: number | undefined;
  /** First cool-down of an open circuit; doubles while probes fail, up to `maxOpenMs`. */
  openMs?: number | undefined;
  maxOpenMs?: number | undefined;
  log?: Logger | undefined;
}

/** The Server Bs with their circuits, and what the balancer does with them. */
export interface Circuits {
  readonly backends: Backend[];
  /** The next Server B that may take a request, preferring ones not yet tried for it. */
  pick(tried: Set<Backend>): Backend | undefined;
  succeeded(backend: Backend): void;
  failed(backend: Backend, error: unknown): void;
  /** The error when no Server B may take a request, naming each one's state. */
  unavailable(): UpstreamError;
  /** Runs one round of `GET /health` checks. */
  checkHealth(): Promise<void>;
  statuses(): BackendStatus[];
}

/** Creates one closed circuit per client. */
export function createCircuits(clients: ServerBClient[], options: CircuitOptions): Circuits {
  const threshold = options.failureThreshold ?? 3;
  const baseOpenMs = options.openMs ?? 5000;
  const maxOpenMs = options.maxOpenMs ?? 60_000;
  const log = options.log;
  const backends: Backend[] = clients.map((client) => ({
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

  return {
    backends,
    pick,
    succeeded,
    failed,
    unavailable,
    checkHealth,
    statuses: () =>
      backends.map((b) => ({
        url: b.client.url,
        circuit: b.circuit,
        consecutiveFailures: b.consecutiveFailures,
        served: b.served,
        failed: b.failed,
        ...(b.lastError ? { lastError: b.lastError } : {}),
      })),
  };
}
