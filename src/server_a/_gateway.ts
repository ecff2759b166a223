/**
 * Server A as a gateway: an MCP client of other MCP servers ("upstreams") over any transport,
 * offering their tools, resources and prompts under a namespace (`NAME_tool`, `NAME_prompt`,
 * `upstream://NAME/<encoded uri>`), forwarding calls with progress and cancellation, following
 * their `list_changed` notifications, and reconnecting with backoff to an upstream that is down
 * without holding up the others.
 *
 * Upstreams are reached with the SDK v2 client, speaking 2026-07-28 where offered (`server/discover`,
 * change notifications over `subscriptions/listen`) and 2025 `initialize` otherwise. A list is
 * served from the client's response cache while the upstream's `ttlMs` hint says it is fresh
 * (a list without a hint is held until the upstream says it changed); `list_changed` evicts it.
 * The downstream side is Server A's SDK v2 `McpServer`: upstream results are plain JSON and pass
 * to its handlers unchanged.
 *
 * This module is the door: the supervisor is `./_gateway_supervisor.ts`, the namespace
 * `./_gateway_naming.ts`, the SDK attachment `./_gateway_serve.ts`, and the pipelines
 * `./_gateway_merge.ts` (lists), `./_gateway_calls.ts` (calls, reads, completion),
 * `./_gateway_send.ts` (connections per session, subscriptions) and `./_gateway_relay.ts`
 * (client features).
 * @module
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { type Logger, UsageError } from "../core/mod.ts";
import type { McpEra } from "../mcp/mod.ts";
import {
  type GatewayCore,
  type GatewayOptions,
  newUpstream,
  status,
  type UpstreamStatus,
} from "./_gateway_core.ts";
import { endAll } from "./_gateway_input.ts";
import { load } from "./_gateway_lists.ts";
import { assertDistinctNames } from "./_gateway_naming.ts";
import { parsePipelines } from "./_gateway_pipeline.ts";
import { relay } from "./_gateway_relay.ts";
import { GATEWAY_STATUS_TOOL, serveGateway } from "./_gateway_serve.ts";
import { closeAll, startAll } from "./_gateway_supervisor.ts";
import { resolveUpstreams, type UpstreamSettings, type UpstreamSources } from "./_upstreams.ts";
import { type GatewaySession, type ListKind, newSession, SessionPool } from "./_session_pool.ts";

export { namespacedTemplate, namespacedUri, UPSTREAM_URI_PREFIX } from "./_gateway_naming.ts";
export { GATEWAY_STATUS_TOOL, parsePipelines, resolveUpstreams };
export type { GatewayOptions, GatewaySession, ListKind, UpstreamStatus };

/**
 * The upstream connections and the namespace over them. One gateway serves every MCP session
 * of Server A: {@linkcode Gateway.attach} adds it to each session's server.
 * @example
 * ```ts
 * const gateway = new Gateway({ upstreams: parseTargetList(config.UPSTREAMS ?? ""), ... });
 * gateway.start();
 * const mcp = gateway.attach(createServerAMcp(deps));
 * ```
 */
export class Gateway {
  readonly #core: GatewayCore;
  #started = false;

  /**
   * Throws {@linkcode UsageError} when one upstream's name followed by `_` begins another's
   * (`a` and `a_b`): then a namespaced name could have two owners.
   */
  constructor(options: GatewayOptions) {
    assertDistinctNames(options.upstreams);
    const pool: SessionPool = new SessionPool({
      max: options.maxSessionConnections ?? 32,
      version: options.version,
      log: options.log,
      childEnv: options.childEnv,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      setup: (session, upstream, own, client) => relay(core, session, upstream, own, client),
      load: (lists, client, kind, mode) => load(core, lists, client, kind, mode),
    });
    const core: GatewayCore = {
      options,
      upstreams: new Map(options.upstreams.map((spec) => [spec.name, newUpstream(spec)])),
      servers: new Map(),
      stop: new AbortController(),
      listeners: new Set(),
      pool,
      inFlight: new WeakMap(),
      subscriptions: new WeakMap(),
      inputs: new Map(),
      featured: new Map(),
    };
    this.#core = core;
  }

  /** Starts connecting every upstream in the background; returns at once. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    startAll(this.#core);
    return this;
  }

  /** Resolves when every upstream has connected or failed its first attempt. */
  async settled(): Promise<void> {
    await Promise.all([...this.#core.upstreams.values()].map((u) => u.settled.promise));
  }

  /**
   * Like {@linkcode settled}, but gives up waiting after `timeoutMs`, so that clients which list
   * tools once at start see the upstreams that answer quickly.
   */
  async ready(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.settled(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs)),
    ]);
    clearTimeout(timer);
  }

  /** Sessions the gateway is attached to and not yet closed. */
  get sessionCount(): number {
    return this.#core.servers.size;
  }

  /** Each upstream's state. */
  status(): UpstreamStatus[] {
    return status(this.#core);
  }

  /** Disconnects every upstream and stops reconnecting. */
  async close(): Promise<void> {
    endAll(this.#core);
    await closeAll(this.#core);
  }

  /**
   * Calls `listener` with the lists that changed, e.g. to publish them to 2026-07-28
   * `subscriptions/listen` streams (2025-era sessions are told by {@linkcode attach}).
   */
  onListChanged(listener: (kinds: readonly ListKind[]) => void): void {
    this.#core.listeners.add(listener);
  }

  /**
   * Adds the gateway to one server instance (`./_gateway_serve.ts`): the namespaced tools,
   * resources and prompts next to its own, the status tool and the pipeline tools. A 2025-era
   * instance (a session, a stdio connection) is told of list changes; a 2026-07-28 instance
   * lives for one request. Call before `connect`.
   */
  attach(mcp: McpServer, era: McpEra = "legacy"): McpServer {
    let session: GatewaySession | undefined;
    if (era === "legacy") {
      const opened = newSession(mcp);
      session = opened;
      this.#core.servers.set(mcp, opened);
      mcp.server.setNotificationHandler("notifications/roots/list_changed", () => {
        for (const own of opened.ready.values()) {
          own.client.sendRootsListChanged().catch(() => {});
        }
      });
      const previousOnClose = mcp.server.onclose;
      mcp.server.onclose = () => {
        previousOnClose?.();
        this.#core.servers.delete(mcp);
        this.#core.pool.close(opened);
      };
    }
    return serveGateway(this.#core, mcp, {
      session,
      pipelines: this.#core.options.pipelines ?? [],
    });
  }
}

/** The settings {@linkcode createGatewayFromConfig} reads, named as in `Config`. */
export interface GatewaySettings extends UpstreamSettings {
  readonly PIPELINES?: string | undefined;
  readonly TIMEOUT_SECONDS: number;
}

/** What {@linkcode createGatewayFromConfig} needs besides the settings. */
export interface GatewayDeps extends UpstreamSources {
  version: string;
  log: Logger;
  /** Variables passed on to `stdio:` upstreams. */
  childEnv?: Record<string, string> | undefined;
}

/**
 * The gateway the settings ask for, started, or `undefined` when no upstream is configured.
 * Throws {@linkcode UsageError} for a bad `UPSTREAMS`, `--upstream`, `UPSTREAMS_FILE`,
 * `--upstream-header` or `PIPELINES`.
 * @example
 * ```ts
 * const gateway = createGatewayFromConfig(config, { upstreams: ["calc=ws://127.0.0.1:8080/ws"], version, log });
 * const mcp = withGateway(createServerAMcp(deps), gateway);
 * ```
 */
export function createGatewayFromConfig(
  config: GatewaySettings,
  deps: GatewayDeps,
): Gateway | undefined {
  const upstreams = resolveUpstreams(config, deps);
  const pipelines = parsePipelines(config.PIPELINES);
  if (upstreams.length === 0) {
    if (pipelines.length) {
      throw new UsageError("PIPELINES needs upstreams (UPSTREAMS, UPSTREAMS_FILE or --upstream)");
    }
    return undefined;
  }
  return new Gateway({
    upstreams,
    pipelines,
    version: deps.version,
    log: deps.log,
    childEnv: deps.childEnv,
    timeoutMs: config.TIMEOUT_SECONDS * 1000,
  }).start();
}

/** Adds `gateway` to a server instance of the given era when there is one. */
export function withGateway(
  mcp: McpServer,
  gateway: Gateway | undefined,
  era: McpEra = "legacy",
): McpServer {
  return gateway ? gateway.attach(mcp, era) : mcp;
}
