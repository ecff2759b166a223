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
 * @module
 */
import {
  type CacheMode,
  type CallToolResult,
  type Client,
  type CompleteRequest,
  type LoggingLevel,
  MAX_CACHE_TTL_MS,
  type McpSubscription,
  type Prompt,
  ProtocolError,
  ProtocolErrorCode,
  type Resource,
  ResourceNotFoundError,
  type ResourceTemplateType as ResourceTemplate,
  SseError,
  type Tool,
} from "@modelcontextprotocol/client";
import type { McpServer } from "@modelcontextprotocol/server";
import type { Config } from "../core/config.ts";
import { describeError, UsageError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import {
  connectTarget,
  describeTarget,
  disconnect,
  type NamedTarget,
  protocolOf,
} from "../mcp/targets.ts";
import { errorResult } from "../mcp/tools.ts";
import type { McpEra } from "../mcp/http.ts";
import { delay, withRetries } from "../core/retry.ts";
import { type CallForwarding, parsePipelines, type Pipeline } from "./gateway_pipeline.ts";
import { GATEWAY_STATUS_TOOL, serveGateway } from "./gateway_serve.ts";
import { resolveUpstreams, type UpstreamSources } from "./upstreams.ts";
import {
  type ClientRequest,
  type GatewaySession,
  keepsSessionState,
  LIST_KINDS,
  type ListKind,
  type Lists,
  newSession,
  type OwnConnection,
  SessionLimitError,
  SessionPool,
  unsentLoss,
} from "./_session_pool.ts";

/** Scheme of namespaced upstream resource URIs: `upstream://NAME/<encodeURIComponent(uri)>`. */
export const UPSTREAM_URI_PREFIX = "upstream://";

export { GATEWAY_STATUS_TOOL };
export type { GatewaySession, ListKind };

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
  /** Downstream sessions with their own connection to it (open or opening). */
  sessionConnections: number;
}

interface Upstream extends Lists {
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
class UpstreamUnavailableError extends Error {
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
  readonly #options: GatewayOptions;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #servers = new Map<McpServer, GatewaySession>();
  readonly #stop = new AbortController();
  readonly #listeners = new Set<(kinds: readonly ListKind[]) => void>();
  readonly #pool: SessionPool;
  #started = false;

  /**
   * Throws {@linkcode UsageError} when one upstream's name followed by `_` begins another's
   * (`a` and `a_b`): `a_b_x` could then be `a`'s `b_x` or `a_b`'s `x`. Without such pairs every
   * namespaced name has exactly one owner.
   */
  constructor(options: GatewayOptions) {
    for (const a of options.upstreams) {
      const clash = options.upstreams.find((b) => b.name.startsWith(`${a.name}_`));
      if (clash) {
        throw new UsageError(
          `Upstream names "${a.name}" and "${clash.name}" clash: "${a.name}_" begins both ` +
            "namespaced names; rename one (e.g. with '-' instead of '_')",
        );
      }
    }
    this.#options = options;
    this.#pool = new SessionPool({
      max: options.maxSessionConnections ?? 32,
      version: options.version,
      log: options.log,
      childEnv: options.childEnv,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      setup: (session, upstream, own, client) => this.#relay(session, upstream, own, client),
      load: (lists, client, kind, mode) => this.#load(lists, client, kind, mode),
    });
    for (const spec of options.upstreams) {
      this.#upstreams.set(spec.name, {
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
      });
    }
  }

  /** Starts connecting every upstream in the background; returns at once. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    for (const upstream of this.#upstreams.values()) {
      this.#maintain(upstream).catch((error) =>
        this.#options.log.error("upstream loop failed", {
          upstream: upstream.name,
          error: describeError(error),
        })
      );
    }
    return this;
  }

  /** Resolves when every upstream has connected or failed its first attempt. */
  async settled(): Promise<void> {
    await Promise.all([...this.#upstreams.values()].map((u) => u.settled.promise));
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
    return this.#servers.size;
  }

  /**
   * What the gateway can forward besides tools, resources and prompts: each is offered when an
   * upstream connected now offers it (the union over the upstreams).
   */
  forwardedCapabilities(): { completions: boolean; logging: boolean; subscribe: boolean } {
    const up = [...this.#upstreams.values()];
    const caps = up.map((u) => u.client?.getServerCapabilities() ?? {});
    const legacy = up.filter((u) => u.era === "legacy")
      .map((u) => u.client?.getServerCapabilities() ?? {});
    return {
      completions: caps.some((c) => c.completions !== undefined),
      logging: legacy.some((c) => c.logging !== undefined),
      subscribe: legacy.some((c) => c.resources?.subscribe === true),
    };
  }

  /** Each upstream's state. */
  status(): UpstreamStatus[] {
    return [...this.#upstreams.values()].map((u) => ({
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
      sessionConnections: this.#pool.count(u.name),
    }));
  }

  /** Disconnects every upstream and stops reconnecting. */
  async close(): Promise<void> {
    this.#stop.abort(new Error("gateway closed"));
    await Promise.all([...this.#upstreams.values()].map(async (u) => {
      u.state = "closed";
      u.settled.resolve();
      this.#recovered(u, undefined);
      if (u.client) await disconnect(u.client);
    }));
  }

  /**
   * Keeps one upstream connected: connects with backoff, and when the connection is lost
   * re-initialises at once (the callers that found it lost wait for that), falling back to the
   * backoff when the upstream does not answer.
   */
  async #maintain(upstream: Upstream): Promise<void> {
    const { log } = this.#options;
    const signal = this.#stop.signal;
    const baseDelayMs = this.#options.baseDelayMs ?? 500;
    let client: Client | undefined;
    let failedBefore = 0;
    while (!signal.aborted) {
      if (!client) {
        try {
          client = await withRetries(() => this.#connect(upstream), {
            attempts: Number.POSITIVE_INFINITY,
            deadline: Number.POSITIVE_INFINITY,
            baseDelayMs,
            maxDelayMs: this.#options.maxDelayMs ?? 30_000,
            classify: () => ({ retry: !signal.aborted }),
            onRetry: (error, attempt, delayMs) => {
              upstream.state = "down";
              upstream.failures = failedBefore + attempt;
              upstream.lastError = describeError(error);
              upstream.nextRetryAt = Date.now() + delayMs;
              upstream.settled.resolve();
              log.warn("upstream unavailable, retrying", {
                upstream: upstream.name,
                target: describeTarget(upstream.spec.target),
                attempt: upstream.failures,
                retryInMs: delayMs,
                error: upstream.lastError,
              });
            },
            signal,
          });
        } catch {
          this.#recovered(upstream, undefined);
          return;
        }
      }
      const current = client;
      const lost = Promise.withResolvers<string>();
      upstream.lost = lost;
      current.onclose = () => this.#lose(upstream, current, "the connection closed");
      this.#subscriptions.get(current)?.closed.then((how) => {
        if (how !== "local") {
          this.#lose(upstream, current, `the subscriptions/listen stream ended (${how})`);
        }
      });
      current.onerror = (error: unknown) => {
        if (error instanceof SseError) {
          this.#lose(upstream, current, `the SSE stream broke: ${describeError(error)}`);
        } else {
          const reason = unsentLoss(error);
          if (reason) this.#lose(upstream, current, reason);
        }
      };
      upstream.client = current;
      upstream.era = protocolOf(current).era;
      upstream.stateful = upstream.era === "legacy" && keepsSessionState(current);
      upstream.state = "up";
      upstream.failures = 0;
      failedBefore = 0;
      upstream.connections++;
      upstream.connectedAt = Date.now();
      delete upstream.lastError;
      upstream.settled.resolve();
      log.info(upstream.connections === 1 ? "upstream connected" : "upstream reconnected", {
        upstream: upstream.name,
        target: describeTarget(upstream.spec.target),
        protocol: protocolOf(current).revision,
        tools: upstream.tools.length,
        resources: upstream.resources.length,
        prompts: upstream.prompts.length,
      });
      this.#publish(upstream);
      this.#recovered(upstream, current);
      const stopped = () => lost.resolve("gateway closed");
      signal.addEventListener("abort", stopped, { once: true });
      const reason = await lost.promise;
      signal.removeEventListener("abort", stopped);
      if (signal.aborted) return;
      log.warn("upstream lost, re-initialising", { upstream: upstream.name, reason });
      // A connection that is lost as soon as it is made is not re-made in a tight loop.
      if (Date.now() - upstream.connectedAt < baseDelayMs) {
        await delay(baseDelayMs, signal).catch(() => {});
        if (signal.aborted) return;
      }
      try {
        client = await this.#connect(upstream);
      } catch (error) {
        client = undefined;
        failedBefore = 1;
        upstream.state = "down";
        upstream.failures = 1;
        upstream.lastError = describeError(error);
        upstream.nextRetryAt = Date.now() + baseDelayMs;
        upstream.tools = [];
        upstream.resources = [];
        upstream.prompts = [];
        log.warn("upstream unavailable, retrying", {
          upstream: upstream.name,
          target: describeTarget(upstream.spec.target),
          attempt: 1,
          retryInMs: baseDelayMs,
          error: upstream.lastError,
        });
        this.#publish(upstream);
        this.#recovered(upstream, undefined);
        await delay(baseDelayMs, signal).catch(() => {});
      }
    }
  }

  /**
   * Marks the upstream down because `client`'s connection was lost, which wakes its supervisor
   * to re-initialise; a no-op when `client` is not the current connection (single flight). The
   * old client is closed once its requests in flight have settled.
   */
  #lose(upstream: Upstream, client: Client, reason: string): void {
    if (upstream.client !== client || this.#stop.signal.aborted) return;
    delete upstream.client;
    upstream.state = "down";
    upstream.lastError = reason;
    upstream.recovery = Promise.withResolvers<Client | undefined>();
    upstream.lost?.resolve(reason);
    this.#retire(client);
  }

  /** Ends a re-initialisation: callers waiting for it get the new client or `undefined`. */
  #recovered(upstream: Upstream, client: Client | undefined): void {
    upstream.recovery?.resolve(client);
    delete upstream.recovery;
  }

  readonly #inFlight = new WeakMap<Client, { requests: number; retired: boolean }>();

  /** Runs `request` on `client`, counting it in flight so that a retired client closes after it. */
  async #track<T>(client: Client, request: (client: Client) => Promise<T>): Promise<T> {
    const use = this.#inFlight.get(client) ?? { requests: 0, retired: false };
    this.#inFlight.set(client, use);
    use.requests++;
    try {
      return await request(client);
    } finally {
      if (--use.requests === 0 && use.retired) client.close().catch(() => {});
    }
  }

  #retire(client: Client): void {
    const use = this.#inFlight.get(client) ?? { requests: 0, retired: false };
    this.#inFlight.set(client, use);
    use.retired = true;
    if (use.requests === 0) client.close().catch(() => {});
  }

  /**
   * Sends `request` to the upstream. When it fails because the session was lost before the
   * request reached it, waits for the one shared re-initialisation and sends it once more on the
   * new connection. Throws {@linkcode UpstreamUnavailableError} when there is no connection.
   */
  async #send<T>(
    upstream: Upstream,
    request: (client: Client) => Promise<T>,
    session?: GatewaySession,
  ): Promise<T> {
    const own = await this.#ownFor(session, upstream);
    if (own && session) {
      try {
        return await request(own.client);
      } catch (error) {
        const reason = unsentLoss(error);
        if (reason === undefined) throw error;
        this.#pool.lose(session, upstream.spec, own, reason);
        const next = await this.#ownFor(session, upstream);
        if (!next) throw new UpstreamUnavailableError(this.#unavailable(upstream));
        this.#options.log.info("request sent again on a re-opened session connection", {
          upstream: upstream.name,
          reason,
        });
        return await request(next.client);
      }
    }
    const client = upstream.client ?? await upstream.recovery?.promise;
    if (!client) throw new UpstreamUnavailableError(this.#unavailable(upstream));
    try {
      return await this.#track(client, request);
    } catch (error) {
      const reason = unsentLoss(error);
      if (reason === undefined) throw error;
      this.#lose(upstream, client, reason);
      const next = upstream.client ?? await upstream.recovery?.promise;
      if (!next || next === client) {
        throw new UpstreamUnavailableError(this.#unavailable(upstream));
      }
      this.#options.log.info("request sent again after re-initialising", {
        upstream: upstream.name,
        reason,
      });
      return await this.#track(next, request);
    }
  }

  /** The `subscriptions/listen` stream of each 2026-07-28 connection that has one. */
  readonly #subscriptions = new WeakMap<Client, McpSubscription>();

  async #connect(upstream: Upstream): Promise<Client> {
    upstream.state = upstream.failures === 0 ? "connecting" : "down";
    const client = await connectTarget(upstream.spec.target, {
      clientName: `mcpcomm-gateway-${upstream.name}`,
      version: this.#options.version,
      childEnv: this.#options.childEnv,
      timeoutMs: this.#options.connectTimeoutMs ?? 15_000,
      // A list without a ttlMs hint stays fresh until the upstream says it changed.
      client: { defaultCacheTtlMs: MAX_CACHE_TTL_MS },
      setup: (c) => {
        c.setNotificationHandler(
          "notifications/tools/list_changed",
          () => this.#refresh(upstream, c, "tools"),
        );
        c.setNotificationHandler(
          "notifications/resources/list_changed",
          () => this.#refresh(upstream, c, "resources"),
        );
        c.setNotificationHandler(
          "notifications/prompts/list_changed",
          () => this.#refresh(upstream, c, "prompts"),
        );
      },
    });
    try {
      await this.#listen(client);
      await this.#load(upstream, client, "tools");
      await this.#load(upstream, client, "resources");
      await this.#load(upstream, client, "prompts");
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
    return client;
  }

  /**
   * On a 2026-07-28 connection, opens the `subscriptions/listen` stream for the lists the
   * upstream says can change (2025-era servers send those notifications unasked).
   */
  async #listen(client: Client): Promise<void> {
    if (client.getProtocolEra() !== "modern") return;
    const caps = client.getServerCapabilities() ?? {};
    const filter = {
      ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
      ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
    };
    if (Object.keys(filter).length === 0) return;
    this.#subscriptions.set(
      client,
      await client.listen(filter, { timeout: this.#options.connectTimeoutMs ?? 15_000 }),
    );
  }

  /**
   * Reads one list of the upstream into its entry: from the client's response cache when
   * `mode` is `use` and the upstream's hint says it is still fresh, else from the upstream.
   */
  async #load(upstream: Lists, client: Client, kind: ListKind, mode: CacheMode = "use") {
    const caps = client.getServerCapabilities() ?? {};
    const options = { timeout: this.#options.timeoutMs, cacheMode: mode };
    if (kind === "tools") {
      upstream.tools = caps.tools ? (await client.listTools(undefined, options)).tools : [];
    } else if (kind === "resources") {
      upstream.resources = caps.resources
        ? (await client.listResources(undefined, options)).resources
        : [];
    } else {
      upstream.prompts = caps.prompts ? (await client.listPrompts(undefined, options)).prompts : [];
    }
  }

  /**
   * Brings every connected upstream's `kind` list up to date before it is served downstream
   * (one request per upstream and list at a time); an upstream that fails keeps the list it had.
   */
  async freshen(kind: ListKind, session?: GatewaySession): Promise<void> {
    await Promise.all([...this.#upstreams.values()].map(async (upstream) => {
      // A session's own upstream session is asked each time: its lists may change with no
      // list_changed yet received (a session resource made by the call just answered).
      const own = await this.#ownFor(session, upstream).catch((error) => {
        if (error instanceof SessionLimitError) throw error;
        return undefined;
      });
      if (own) return await this.#load(own, own.client, kind, "refresh").catch(() => {});
      const client = upstream.client;
      if (!client) return;
      upstream.loading[kind] ??= this.#load(upstream, client, kind)
        .then(() => this.#publish(upstream))
        .catch((error) =>
          this.#options.log.warn("cannot refresh upstream list", {
            upstream: upstream.name,
            kind,
            error: describeError(error),
          })
        )
        .finally(() => delete upstream.loading[kind]);
      await upstream.loading[kind];
    }));
  }

  async #refresh(upstream: Upstream, client: Client, kind: ListKind) {
    if (upstream.client !== client) return;
    try {
      await this.#load(upstream, client, kind, "refresh");
      this.#options.log.info("upstream list changed", { upstream: upstream.name, kind });
      this.#publish(upstream);
    } catch (error) {
      this.#options.log.warn("cannot refresh upstream list", {
        upstream: upstream.name,
        kind,
        error: describeError(error),
      });
    }
  }

  /** Sends `list_changed` downstream for each of the upstream's lists that changed since last told. */
  #publish(upstream: Upstream): void {
    const changed = LIST_KINDS.filter((kind) => {
      const now = JSON.stringify(upstream[kind]);
      if (upstream.published[kind] === now) return false;
      upstream.published[kind] = now;
      return true;
    });
    if (changed.length) this.#notify(...changed);
  }

  /**
   * Calls `listener` with the lists that changed, e.g. to publish them to 2026-07-28
   * `subscriptions/listen` streams (2025-era sessions are told by {@linkcode attach}).
   */
  onListChanged(listener: (kinds: readonly ListKind[]) => void): void {
    this.#listeners.add(listener);
  }

  #notify(...kinds: ListKind[]): void {
    for (const listener of this.#listeners) listener(kinds);
    for (const [mcp, seen] of this.#servers) {
      if (seen.closed) continue;
      if (!mcp.isConnected()) {
        if (seen.connected) {
          this.#servers.delete(mcp);
          this.#pool.close(seen);
        }
        continue;
      }
      seen.connected = true;
      if (kinds.includes("tools")) mcp.sendToolListChanged();
      if (kinds.includes("resources")) mcp.sendResourceListChanged();
      if (kinds.includes("prompts")) mcp.sendPromptListChanged();
    }
  }

  /**
   * Every namespaced tool with the upstream and original name it stands for. A tool that can
   * only run as a task (`execution.taskSupport: "required"`) is left out: the gateway does not
   * offer the tasks capability, so no downstream client could call it.
   */
  #toolTable(session?: GatewaySession): Map<string, { upstream: Upstream; tool: Tool }> {
    const table = new Map<string, { upstream: Upstream; tool: Tool }>();
    for (const upstream of this.#upstreams.values()) {
      for (const tool of this.#lists(upstream, session).tools) {
        if (tool.execution?.taskSupport === "required") continue;
        const name = `${upstream.name}_${tool.name}`;
        if (!table.has(name)) table.set(name, { upstream, tool });
      }
    }
    return table;
  }

  /** The namespaced tools, as `tools/list` shows them. */
  tools(session?: GatewaySession): Tool[] {
    return [...this.#toolTable(session)].map(([name, { upstream, tool }]) => ({
      ...tool,
      name,
      description: `[${upstream.name}] ${tool.description ?? tool.name}`,
    }));
  }

  /** Finds the upstream a namespaced name belongs to (up or down). */
  #owner(name: string): Upstream | undefined {
    let best: Upstream | undefined;
    for (const upstream of this.#upstreams.values()) {
      if (
        name.startsWith(`${upstream.name}_`) && upstream.name.length > (best?.name.length ?? -1)
      ) {
        best = upstream;
      }
    }
    return best;
  }

  #unavailable(upstream: Upstream): string {
    const retry = upstream.nextRetryAt
      ? `; next attempt in ${Math.max(0, Math.ceil((upstream.nextRetryAt - Date.now()) / 1000))}s`
      : "";
    return `Upstream ${upstream.name} (${
      describeTarget(upstream.spec.target)
    }) is ${upstream.state}${upstream.lastError ? `: ${upstream.lastError}` : ""}${retry}`;
  }

  /**
   * Calls a namespaced tool upstream, forwarding progress (when `extra` carries a progress
   * token) and cancellation (`extra.signal`). Resolves `undefined` when the name is not an
   * upstream tool. Upstream failures become tool errors naming the upstream.
   */
  async callTool(
    name: string,
    args: Record<string, unknown> | undefined,
    extra: CallForwarding,
    session?: GatewaySession,
  ): Promise<CallToolResult | undefined> {
    const entry = this.#toolTable(session).get(name);
    if (!entry) {
      const owner = this.#owner(name);
      if (owner && owner.state !== "up") return errorResult(this.#unavailable(owner));
      return undefined;
    }
    const { upstream, tool } = entry;
    const token = extra._meta?.progressToken;
    const sendRequest = extra.sendRequest;
    if (session && sendRequest) session.calls.push(sendRequest);
    try {
      const result = await this.#send(
        upstream,
        (client) =>
          client.callTool({ name: tool.name, arguments: args ?? {} }, {
            signal: extra.signal,
            timeout: this.#options.timeoutMs,
            resetTimeoutOnProgress: true,
            ...(token !== undefined
              ? {
                onprogress: (p: { progress: number; total?: number; message?: string }) => {
                  extra.sendNotification({
                    method: "notifications/progress",
                    params: { progressToken: token, ...p },
                  }).catch(() => {});
                },
              }
              : {}),
          }),
        session,
      );
      return namespacedLinks(upstream.name, result as CallToolResult);
    } catch (error) {
      if (extra.signal.aborted) throw error;
      if (error instanceof UpstreamUnavailableError || error instanceof SessionLimitError) {
        return errorResult(error.message);
      }
      return errorResult(
        `Upstream ${upstream.name} failed on ${tool.name}: ${describeError(error)}`,
      );
    } finally {
      if (session && sendRequest) session.calls.splice(session.calls.indexOf(sendRequest), 1);
    }
  }

  /** The namespaced resources. */
  resources(session?: GatewaySession): Resource[] {
    return [...this.#upstreams.values()].flatMap((upstream) =>
      this.#lists(upstream, session).resources.map((r) => ({
        ...r,
        uri: namespacedUri(upstream.name, r.uri),
        name: `${upstream.name}_${r.name}`,
      }))
    );
  }

  /**
   * The namespaced resource templates of every connected upstream, asked for each time: the
   * literal parts of a template are encoded as in {@linkcode resources}, its `{expressions}` kept.
   */
  async resourceTemplates(
    signal: AbortSignal,
    session?: GatewaySession,
  ): Promise<ResourceTemplate[]> {
    const lists = await Promise.all([...this.#upstreams.values()].map(async (upstream) => {
      if (!upstream.client?.getServerCapabilities()?.resources) return [];
      try {
        const { resourceTemplates } = await this.#send(
          upstream,
          (client) =>
            client.listResourceTemplates(undefined, {
              signal,
              timeout: this.#options.timeoutMs,
              cacheMode: "refresh",
            }),
          session,
        );
        return resourceTemplates.map((t) => ({
          ...t,
          uriTemplate: namespacedTemplate(upstream.name, t.uriTemplate),
          name: `${upstream.name}_${t.name}`,
        }));
      } catch (error) {
        if (signal.aborted) throw error;
        this.#options.log.warn("cannot list upstream resource templates", {
          upstream: upstream.name,
          error: describeError(error),
        });
        return [];
      }
    }));
    return lists.flat();
  }

  /** The upstream and its own URI behind a namespaced URI (or template), if it is one. */
  #resolveUri(uri: string): { upstream: Upstream; original: string } | undefined {
    if (!uri.startsWith(UPSTREAM_URI_PREFIX)) return undefined;
    const rest = uri.slice(UPSTREAM_URI_PREFIX.length);
    const slash = rest.indexOf("/");
    const upstream = slash < 0 ? undefined : this.#upstreams.get(rest.slice(0, slash));
    if (!upstream) return undefined;
    try {
      return { upstream, original: decodeURIComponent(rest.slice(slash + 1)) };
    } catch {
      return undefined;
    }
  }

  /**
   * Reads a namespaced resource; `undefined` when `uri` is not one. An upstream that does not
   * know the resource answers with the spec's resource-not-found error, naming `uri`.
   */
  async readResource(uri: string, signal: AbortSignal, session?: GatewaySession) {
    const resolved = this.#resolveUri(uri);
    if (!resolved) return undefined;
    const { upstream, original } = resolved;
    let result: { contents: { uri: string }[] };
    try {
      result = await this.#send<{ contents: { uri: string }[] }>(
        upstream,
        (client) =>
          client.readResource({ uri: original }, {
            signal,
            timeout: this.#options.timeoutMs,
          }),
        session,
      );
    } catch (error) {
      if (isResourceNotFound(error)) throw new ResourceNotFoundError(uri);
      throw error;
    }
    return {
      ...result,
      contents: result.contents.map((c: { uri: string }) => ({
        ...c,
        uri: c.uri === original ? uri : namespacedUri(upstream.name, c.uri),
      })),
    };
  }

  /**
   * Forwards `completion/complete` to the upstream that owns the referenced prompt or resource
   * template, with its own name or URI; `undefined` when the reference is not an upstream's.
   */
  async complete(
    params: CompleteRequest["params"],
    signal: AbortSignal,
    session?: GatewaySession,
  ) {
    const ref = params.ref;
    let upstream: Upstream | undefined;
    let forwarded: CompleteRequest["params"]["ref"] | undefined;
    if (ref.type === "ref/prompt") {
      for (const candidate of this.#upstreams.values()) {
        const prompt = this.#lists(candidate, session).prompts.find((p) =>
          `${candidate.name}_${p.name}` === ref.name
        );
        if (prompt) {
          upstream = candidate;
          forwarded = { ...ref, name: prompt.name };
          break;
        }
      }
    } else {
      const resolved = this.#resolveUri(ref.uri);
      if (resolved) {
        upstream = resolved.upstream;
        forwarded = { ...ref, uri: resolved.original };
      }
    }
    if (!upstream || !forwarded) return undefined;
    const client = session?.ready.get(upstream.name)?.client ?? upstream.client;
    if (client && !client.getServerCapabilities()?.completions) {
      return { completion: { values: [] } };
    }
    const request = { ...params, ref: forwarded };
    return await this.#send(
      upstream,
      (client) => client.complete(request, { signal, timeout: this.#options.timeoutMs }),
      session,
    );
  }

  /** The namespaced prompts. */
  prompts(session?: GatewaySession): Prompt[] {
    return [...this.#upstreams.values()].flatMap((upstream) =>
      this.#lists(upstream, session).prompts.map((p) => ({
        ...p,
        name: `${upstream.name}_${p.name}`,
        description: `[${upstream.name}] ${p.description ?? p.name}`,
      }))
    );
  }

  /** Gets a namespaced prompt; `undefined` when `name` is not one. */
  async getPrompt(
    name: string,
    args: Record<string, string> | undefined,
    signal: AbortSignal,
    session?: GatewaySession,
  ) {
    for (const upstream of this.#upstreams.values()) {
      const prompts = this.#lists(upstream, session).prompts;
      const prompt = prompts.find((p) => `${upstream.name}_${p.name}` === name);
      if (!prompt) continue;
      return await this.#send(
        upstream,
        (client) =>
          client.getPrompt(
            { name: prompt.name, ...(args ? { arguments: args } : {}) },
            { signal, timeout: this.#options.timeoutMs },
          ),
        session,
      );
    }
    const owner = this.#owner(name);
    if (owner && owner.state !== "up") throw new Error(this.#unavailable(owner));
    return undefined;
  }

  /** The lists a session sees of an upstream: its own connection's, else the shared ones. */
  #lists(upstream: Upstream, session: GatewaySession | undefined): Lists {
    return session?.ready.get(upstream.name) ?? upstream;
  }

  /** Whether the session's client offers features an upstream can ask it for. */
  #wantsOwn(session: GatewaySession): boolean {
    const caps = session.mcp.server.getClientCapabilities() ?? {};
    return caps.sampling !== undefined || caps.elicitation !== undefined ||
      caps.roots !== undefined;
  }

  /**
   * The session's own connection to `upstream`: the existing one, else a new one when the
   * upstream is stateful, when `needed` (session state) on a 2025-era one, or when the session's
   * client offers client features. `undefined` when the session shares the upstream's connection.
   * Throws {@linkcode SessionLimitError} when the upstream has no connection left for the
   * session, and {@linkcode UpstreamUnavailableError} when a stateful upstream is down: such a
   * session never falls back to the shared connection.
   */
  async #ownFor(
    session: GatewaySession | undefined,
    upstream: Upstream,
    needed = false,
  ): Promise<OwnConnection | undefined> {
    if (!session || session.closed) return undefined;
    const existing = session.own.get(upstream.name);
    if (existing) return await existing;
    if (upstream.era === undefined) return undefined;
    const wanted = upstream.stateful || this.#wantsOwn(session) ||
      (needed && upstream.era === "legacy");
    if (!wanted) return undefined;
    if (upstream.state !== "up") {
      if (!upstream.stateful || !(upstream.client ?? await upstream.recovery?.promise)) {
        throw new UpstreamUnavailableError(this.#unavailable(upstream));
      }
    }
    return await this.#pool.get(session, upstream.spec);
  }

  /** Relays what an upstream sends or asks on a session's own connection to that session. */
  #relay(session: GatewaySession, upstream: string, own: OwnConnection, c: Client): void {
    const { mcp } = session;
    const downstream = mcp.server.getClientCapabilities() ?? {};
    const relay = (method: string) => (request: { params?: Record<string, unknown> }) =>
      this.#toClient(session, { method, ...(request.params ? { params: request.params } : {}) });
    for (const kind of LIST_KINDS) {
      c.setNotificationHandler(`notifications/${kind}/list_changed`, async () => {
        await this.#load(own, c, kind, "refresh").catch(() => {});
        if (session.closed || !mcp.isConnected()) return;
        if (kind === "tools") mcp.sendToolListChanged();
        if (kind === "resources") mcp.sendResourceListChanged();
        if (kind === "prompts") mcp.sendPromptListChanged();
      });
    }
    c.setNotificationHandler("notifications/message", (n) => {
      if (session.closed || !mcp.isConnected()) return;
      mcp.server.notification({ method: "notifications/message", params: n.params })
        .catch(() => {});
    });
    c.setNotificationHandler("notifications/resources/updated", (n) => {
      if (session.closed || !mcp.isConnected()) return;
      mcp.server.sendResourceUpdated({ ...n.params, uri: namespacedUri(upstream, n.params.uri) })
        .catch(() => {});
    });
    if (downstream.sampling) {
      c.setRequestHandler("sampling/createMessage", relay("sampling/createMessage") as never);
    }
    if (downstream.elicitation) {
      c.setRequestHandler("elicitation/create", relay("elicitation/create") as never);
    }
    if (downstream.roots) c.setRequestHandler("roots/list", relay("roots/list") as never);
  }

  /** Sends an upstream's request to the session's client: within its newest call, else on its own. */
  async #toClient(session: GatewaySession, request: ClientRequest): Promise<unknown> {
    const send = session.calls.at(-1);
    if (send) return await send(request);
    const server = session.mcp.server;
    if (request.method === "roots/list") return await server.listRoots(request.params);
    if (request.method === "sampling/createMessage") {
      return await server.createMessage(request.params as never);
    }
    return await server.elicitInput(request.params as never);
  }

  /**
   * `logging/setLevel` from a session: sent on the session's own connection to every 2025-era
   * upstream that offers logging, so that their log messages reach that session only.
   */
  async setLogLevel(session: GatewaySession | undefined, level: LoggingLevel): Promise<void> {
    if (!session) return;
    session.logLevel = level;
    await Promise.all(
      [...this.#upstreams.values()]
        .filter((u) => u.era === "legacy" && u.client?.getServerCapabilities()?.logging)
        .map(async (upstream) => {
          const own = await this.#ownFor(session, upstream, true);
          await own?.client.setLoggingLevel(level);
        }),
    );
  }

  /**
   * `resources/subscribe` or `unsubscribe` from a session, on its own connection to the owning
   * upstream, so that `notifications/resources/updated` reach that session only. Throws
   * {@linkcode ResourceNotFoundError} for a URI outside the namespace.
   */
  async subscription(
    session: GatewaySession | undefined,
    uri: string,
    subscribe: boolean,
  ): Promise<void> {
    const resolved = this.#resolveUri(uri);
    if (!resolved || !session) throw new ResourceNotFoundError(uri);
    const { upstream, original } = resolved;
    if (upstream.era !== "legacy") {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Upstream ${upstream.name} speaks 2026-07-28: subscribe with subscriptions/listen`,
      );
    }
    if (!upstream.client?.getServerCapabilities()?.resources?.subscribe) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Upstream ${upstream.name} does not offer resource subscriptions`,
      );
    }
    const own = await this.#ownFor(session, upstream, subscribe);
    if (!own) return;
    await this.#send(upstream, async (client) => {
      if (subscribe) await client.subscribeResource({ uri: original });
      else await client.unsubscribeResource({ uri: original });
    }, session);
    const uris = session.subscriptions.get(upstream.name) ?? new Set<string>();
    if (subscribe) uris.add(original);
    else uris.delete(original);
    session.subscriptions.set(upstream.name, uris);
  }

  /**
   * Adds the gateway to one server instance (`./gateway_serve.ts`): the namespaced tools,
   * resources and prompts next to its own, the status tool and the pipeline tools. A 2025-era
   * instance (a session, a stdio connection) is told of list changes; a 2026-07-28 instance
   * lives for one request. Call before `connect`.
   */
  attach(mcp: McpServer, era: McpEra = "legacy"): McpServer {
    let session: GatewaySession | undefined;
    if (era === "legacy") {
      const opened = newSession(mcp);
      session = opened;
      this.#servers.set(mcp, opened);
      mcp.server.setNotificationHandler("notifications/roots/list_changed", () => {
        for (const own of opened.ready.values()) {
          own.client.sendRootsListChanged().catch(() => {});
        }
      });
      const previousOnClose = mcp.server.onclose;
      mcp.server.onclose = () => {
        previousOnClose?.();
        this.#servers.delete(mcp);
        this.#pool.close(opened);
      };
    }
    return serveGateway(this, mcp, {
      session,
      toolTable: () => this.#toolTable(session),
      pipelines: this.#options.pipelines ?? [],
    });
  }
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
export function createGatewayFromConfig(config: Config, deps: GatewayDeps): Gateway | undefined {
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

/** An upstream's resource URI in the gateway's namespace. */
export function namespacedUri(upstream: string, uri: string): string {
  return `${UPSTREAM_URI_PREFIX}${upstream}/${encodeURIComponent(uri)}`;
}

/**
 * An upstream's URI template in the gateway's namespace: literal parts encoded as
 * {@linkcode namespacedUri} encodes a URI, `{expressions}` kept, so that a template expanded
 * with a plain value is the namespaced form of the URI the upstream's template gives.
 */
export function namespacedTemplate(upstream: string, template: string): string {
  const parts = template.split(/(\{[^}]*\})/);
  const encoded = parts.map((part) => part.startsWith("{") ? part : encodeURIComponent(part));
  return `${UPSTREAM_URI_PREFIX}${upstream}/${encoded.join("")}`;
}

/** A tool result whose resource links and embedded resources point into the gateway's namespace. */
function namespacedLinks(upstream: string, result: CallToolResult): CallToolResult {
  if (!Array.isArray(result.content)) return result;
  return {
    ...result,
    content: result.content.map((item) => {
      if (item.type === "resource_link") return { ...item, uri: namespacedUri(upstream, item.uri) };
      if (item.type === "resource") {
        return {
          ...item,
          resource: { ...item.resource, uri: namespacedUri(upstream, item.resource.uri) },
        };
      }
      return item;
    }),
  };
}

/**
 * Whether an upstream's `resources/read` error says the resource does not exist: the v2 error,
 * or a bare `-32602`/`-32002` saying "not found" (the v1 SDK sends `data.uri`-less ones).
 */
function isResourceNotFound(error: unknown): boolean {
  if (error instanceof ResourceNotFoundError) return true;
  return error instanceof ProtocolError &&
    (error.code === ProtocolErrorCode.InvalidParams ||
      error.code === ProtocolErrorCode.ResourceNotFound) &&
    /not found/i.test(error.message);
}

/** Adds `gateway` to a server instance of the given era when there is one. */
export function withGateway(
  mcp: McpServer,
  gateway: Gateway | undefined,
  era: McpEra = "legacy",
): McpServer {
  return gateway ? gateway.attach(mcp, era) : mcp;
}
