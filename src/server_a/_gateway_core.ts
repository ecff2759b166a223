/**
 * The gateway's shared state: each upstream's entry, the options, the sessions it serves, and
 * what is read off them (status, the capabilities it can forward, the lists a session sees).
 * @module
 */
import type { Client, McpSubscription, Prompt, Resource, Tool } from "@modelcontextprotocol/client";
import type { McpServer } from "@modelcontextprotocol/server";
import type { Logger } from "../core/mod.ts";
import { describeTarget, type NamedTarget, protocolOf } from "../mcp/mod.ts";
import type { FeaturedLists, PendingCall } from "./_gateway_input.ts";
import type { Pipeline } from "./_gateway_pipeline.ts";
import type { GatewaySession, ListKind, Lists, SessionPool } from "./_session_pool.ts";

/** An upstream's state as reported by {@linkcode Gateway.status}. */
export interface UpstreamStatus {
  name: string;
  target: string;
  state: "connecting" | "up" | "down" | "closed";
  tools: number;
  resources: number;
  prompts: number;
  /** Connection attempts since the last success. */
  failures: number;
  lastError?: string;
  /** When the next connection attempt starts (ISO time), while down. */
  nextRetryAt?: string;
  /** Sessions initialised so far: 1 after the first connection, one more per reconnection. */
  connections: number;
  /** When the current connection was initialised (ISO time), while up. */
  connectedAt?: string;
  /** The MCP revision negotiated with it (e.g. `2026-07-28`, `2025-11-25`), while up. */
  protocol?: string;
  /** Downstream sessions and single calls with their own connection to it (open or opening). */
  sessionConnections: number;
  /** Calls of 2026-07-28 clients held while they wait for their client's input. */
  waitingForInput: number;
}

/** One upstream: its connection, its lists and the supervisor's view of it. */
export interface Upstream extends Lists {
  name: string;
  spec: NamedTarget;
  /** The era of the last connection. */
  era?: "modern" | "legacy";
  /** Whether the last connection keeps state per connection (2025 era, not stateless HTTP). */
  stateful?: boolean;
  state: UpstreamStatus["state"];
  client?: Client;
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
  failures: number;
  lastError?: string;
  nextRetryAt?: number;
  settled: PromiseWithResolvers<void>;
  connections: number;
  connectedAt?: number;
  /** Resolves with why the current connection was lost. */
  lost?: PromiseWithResolvers<string>;
  /** While re-initialising after a loss: the new client, or `undefined` when that failed. */
  recovery?: PromiseWithResolvers<Client | undefined>;
  /** Each list as downstream sessions were last told of it (JSON). */
  published: Record<ListKind, string>;
  /** The list requests in flight, one per kind. */
  loading: Partial<Record<ListKind, Promise<void>>>;
}

/** An upstream cannot take requests now; the message names it, its state and why. */
export class UpstreamUnavailableError extends Error {
  override name = "UpstreamUnavailableError";
}

/** Options of {@linkcode Gateway}. */
export interface GatewayOptions {
  upstreams: NamedTarget[];
  version: string;
  log: Logger;
  /** Variables passed on to `stdio:` upstreams. */
  childEnv?: Record<string, string> | undefined;
  /** Timeout of one forwarded request; reset by each progress notification. */
  timeoutMs: number;
  /** Timeout of one connection attempt (default 15 s). */
  connectTimeoutMs?: number;
  /** Backoff between connection attempts (defaults 500 ms to 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Chains offered as tools. */
  pipelines?: Pipeline[];
  /**
   * Most downstream sessions with their own connection to one upstream (default 32): every
   * session has one to each stateful upstream (2025 era, but stateless Streamable HTTP), and to
   * any upstream when its client offers client features. A `stdio:` upstream runs one child per
   * such connection.
   */
  maxSessionConnections?: number;
}

/** What the gateway's modules share: one per {@linkcode Gateway}. */
export interface GatewayCore {
  readonly options: GatewayOptions;
  readonly upstreams: Map<string, Upstream>;
  /** The 2025-era server instances the gateway is attached to, with their sessions. */
  readonly servers: Map<McpServer, GatewaySession>;
  readonly stop: AbortController;
  readonly listeners: Set<(kinds: readonly ListKind[]) => void>;
  readonly pool: SessionPool;
  /** Requests in flight on each shared connection, so that a retired one closes after them. */
  readonly inFlight: WeakMap<Client, { requests: number; retired: boolean }>;
  /** The `subscriptions/listen` stream of each 2026-07-28 connection that has one. */
  readonly subscriptions: WeakMap<Client, McpSubscription>;
  /** Calls waiting for their 2026-07-28 client's input, by `requestState` token. */
  readonly inputs: Map<string, PendingCall>;
  /** The lists of connections declaring client features, by upstream and features. */
  readonly featured: Map<string, FeaturedLists>;
}

/** The lists a session or request sees instead of an upstream's shared ones, by upstream name. */
export interface ListView {
  readonly ready: ReadonlyMap<string, Lists>;
}

/** A new entry for a configured upstream, connecting. */
export function newUpstream(spec: NamedTarget): Upstream {
  return {
    name: spec.name,
    spec,
    state: "connecting",
    tools: [],
    resources: [],
    prompts: [],
    failures: 0,
    settled: Promise.withResolvers<void>(),
    connections: 0,
    published: { tools: "[]", resources: "[]", prompts: "[]" },
    loading: {},
  };
}

/** Each upstream's state. */
export function status(core: GatewayCore): UpstreamStatus[] {
  return [...core.upstreams.values()].map((u) => ({
    name: u.name,
    target: describeTarget(u.spec.target),
    state: u.state,
    tools: u.tools.length,
    resources: u.resources.length,
    prompts: u.prompts.length,
    failures: u.failures,
    ...(u.lastError !== undefined ? { lastError: u.lastError } : {}),
    ...(u.state === "down" && u.nextRetryAt !== undefined
      ? { nextRetryAt: new Date(u.nextRetryAt).toISOString() }
      : {}),
    connections: u.connections,
    ...(u.state === "up" && u.connectedAt !== undefined
      ? { connectedAt: new Date(u.connectedAt).toISOString() }
      : {}),
    ...(u.state === "up" && u.client ? { protocol: protocolOf(u.client).revision } : {}),
    sessionConnections: core.pool.count(u.name),
    waitingForInput: [...core.inputs.values()].filter((p) => p.upstream === u.name).length,
  }));
}

/** Why an upstream cannot take requests now: its name, target, state, error and next attempt. */
export function unavailable(upstream: Upstream): string {
  const retry = upstream.nextRetryAt
    ? `; next attempt in ${Math.max(0, Math.ceil((upstream.nextRetryAt - Date.now()) / 1000))}s`
    : "";
  return `Upstream ${upstream.name} (${describeTarget(upstream.spec.target)}) is ${upstream.state}${
    upstream.lastError ? `: ${upstream.lastError}` : ""
  }${retry}`;
}

/** The lists a session sees of an upstream: its own connection's, else the shared ones. */
export function listsOf(upstream: Upstream, session: ListView | undefined): Lists {
  return session?.ready.get(upstream.name) ?? upstream;
}

/**
 * What the gateway can forward besides tools, resources and prompts: each is offered when an
 * upstream connected now offers it (the union over the upstreams).
 */
export function forwardedCapabilities(
  core: GatewayCore,
): { completions: boolean; logging: boolean; subscribe: boolean } {
  const up = [...core.upstreams.values()];
  const caps = up.map((u) => u.client?.getServerCapabilities() ?? {});
  const legacy = up.filter((u) => u.era === "legacy")
    .map((u) => u.client?.getServerCapabilities() ?? {});
  return {
    completions: caps.some((c) => c.completions !== undefined),
    logging: legacy.some((c) => c.logging !== undefined),
    subscribe: legacy.some((c) => c.resources?.subscribe === true),
  };
}
