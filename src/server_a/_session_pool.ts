/**
 * The gateway's per-session upstream connections: each downstream 2025-era session gets its own
 * connection to every stateful upstream (one that keeps state per connection) from its first use,
 * bounded per upstream, closed with the session, and re-opened with the session's log level and
 * resource subscriptions when lost.
 * @module
 */
import {
  type CacheMode,
  type Client,
  type ClientCapabilities,
  type LoggingLevel,
  MAX_CACHE_TTL_MS,
  type Prompt,
  type Resource,
  SseError,
  type Tool,
} from "@modelcontextprotocol/client";
import type { McpServer } from "@modelcontextprotocol/server";
import { describeError, DomainError, type Logger, withRetries } from "../core/mod.ts";
import { unsentLoss } from "./_gateway_loss.ts";
import { connectTarget, disconnect, type NamedTarget } from "../mcp/mod.ts";

/** One of the lists the gateway merges. */
export type ListKind = "tools" | "resources" | "prompts";

/** Every list kind, in the order they are loaded. */
export const LIST_KINDS: readonly ListKind[] = ["tools", "resources", "prompts"];

/** The lists of one connection to an upstream. */
export interface Lists {
  tools: Tool[];
  resources: Resource[];
  prompts: Prompt[];
}

/** A downstream session's own connection to an upstream. */
export interface OwnConnection extends Lists {
  client: Client;
}

/** A request an upstream sends to the downstream client (sampling, elicitation, roots). */
export type ClientRequest = { method: string; params?: Record<string, unknown> };

/**
 * One downstream 2025-era session (or stdio connection) of Server A and its own upstream
 * connections, with the state to restore on them: log level and resource subscriptions.
 */
export interface GatewaySession {
  readonly mcp: McpServer;
  /** Whether the session was seen connected (so that a disconnected one can be dropped). */
  connected: boolean;
  closed: boolean;
  own: Map<string, Promise<OwnConnection>>;
  ready: Map<string, OwnConnection>;
  logLevel?: LoggingLevel;
  /** The upstream URIs the session subscribed to, by upstream name. */
  subscriptions: Map<string, Set<string>>;
  /** Senders of the session's calls in flight, newest last: upstream requests go to the client there. */
  calls: ((request: ClientRequest) => Promise<unknown>)[];
}

/** A new session record for `mcp`. */
export function newSession(mcp: McpServer): GatewaySession {
  return {
    mcp,
    connected: false,
    closed: false,
    own: new Map(),
    ready: new Map(),
    subscriptions: new Map(),
    calls: [],
  };
}

/** Every per-session connection to an upstream is taken; the message names the limit. */
export class SessionLimitError extends DomainError {
  override name = "SessionLimitError";
  constructor(upstream: string, max: number) {
    super(
      "unavailable",
      `Upstream ${upstream} already has ${max} per-session connections, the most allowed ` +
        "(maxSessionConnections); try again when another session closes",
    );
  }
}

/** Options of {@linkcode SessionPool}. */
export interface SessionPoolOptions {
  /** Most sessions with their own connection to one upstream. */
  max: number;
  version: string;
  log: Logger;
  childEnv?: Record<string, string> | undefined;
  connectTimeoutMs: number;
  /** Installs the handlers of what the upstream sends the session, before connecting. */
  setup(session: GatewaySession, upstream: string, own: OwnConnection, client: Client): void;
  /** Loads one list of a connection into `lists`. */
  load(lists: Lists, client: Client, kind: ListKind, mode?: CacheMode): Promise<void>;
}

/** The sessions' own upstream connections; see the module doc. */
export class SessionPool {
  readonly #options: SessionPoolOptions;
  readonly #sessions = new Set<GatewaySession>();
  /** Connections of single calls, by upstream name. */
  readonly #calls = new Map<string, number>();

  constructor(options: SessionPoolOptions) {
    this.#options = options;
  }

  /** Sessions and calls with a connection (open or opening) to `upstream`. */
  count(upstream: string): number {
    let n = this.#calls.get(upstream) ?? 0;
    for (const session of this.#sessions) if (session.own.has(upstream)) n++;
    return n;
  }

  /**
   * The session's connection to `upstream`: the existing one, else a new one with the session's
   * state restored. Throws {@linkcode SessionLimitError} when the upstream has `max` already.
   */
  async get(session: GatewaySession, upstream: NamedTarget): Promise<OwnConnection> {
    const existing = session.own.get(upstream.name);
    if (existing) return await existing;
    if (this.count(upstream.name) >= this.#options.max) {
      throw new SessionLimitError(upstream.name, this.#options.max);
    }
    const opening = this.#open(session, upstream);
    session.own.set(upstream.name, opening);
    this.#sessions.add(session);
    try {
      const own = await opening;
      if (session.own.get(upstream.name) === opening) session.ready.set(upstream.name, own);
      return own;
    } catch (error) {
      if (session.own.get(upstream.name) === opening) session.own.delete(upstream.name);
      throw error;
    }
  }

  /**
   * Drops the session's connection `own` to `upstream`, lost for `reason`; a session with state
   * there (a log level, subscriptions) gets a new one at once, others on their next request.
   */
  lose(session: GatewaySession, upstream: NamedTarget, own: OwnConnection, reason: string): void {
    if (session.ready.get(upstream.name) !== own) return;
    session.ready.delete(upstream.name);
    session.own.delete(upstream.name);
    void disconnect(own.client);
    if (session.closed) return;
    this.#options.log.warn("session's upstream connection lost", {
      upstream: upstream.name,
      reason,
    });
    const stateful = session.logLevel !== undefined ||
      (session.subscriptions.get(upstream.name)?.size ?? 0) > 0;
    if (!stateful) return;
    withRetries(() => this.get(session, upstream), {
      attempts: 8,
      deadline: Date.now() + 120_000,
      baseDelayMs: 250,
      maxDelayMs: 15_000,
      classify: (error) => ({ retry: !session.closed && !(error instanceof SessionLimitError) }),
    }).catch((error) =>
      this.#options.log.warn("cannot re-open a session's upstream connection", {
        upstream: upstream.name,
        error: describeError(error),
      })
    );
  }

  /**
   * A connection of one call's own to `upstream` (a 2026-07-28 request whose client offers
   * client features), declaring those features; it counts against `max` until
   * {@linkcode SessionPool.closeForCall}. Throws {@linkcode SessionLimitError} past `max`.
   */
  async openForCall(
    upstream: NamedTarget,
    features: ClientCapabilities,
    setup: (client: Client) => void,
  ): Promise<Client> {
    if (this.count(upstream.name) >= this.#options.max) {
      throw new SessionLimitError(upstream.name, this.#options.max);
    }
    this.#calls.set(upstream.name, (this.#calls.get(upstream.name) ?? 0) + 1);
    try {
      return await this.#connect(upstream, features, setup);
    } catch (error) {
      this.#calls.set(upstream.name, (this.#calls.get(upstream.name) ?? 1) - 1);
      throw error;
    }
  }

  /** Closes a connection from {@linkcode SessionPool.openForCall} and frees its place. */
  async closeForCall(upstream: string, client: Client): Promise<void> {
    this.#calls.set(upstream, (this.#calls.get(upstream) ?? 1) - 1);
    await disconnect(client);
  }

  /** Closes every connection of a session. */
  close(session: GatewaySession): void {
    session.closed = true;
    for (const opening of session.own.values()) {
      opening.then((own) => disconnect(own.client)).catch(() => {});
    }
    session.own.clear();
    session.ready.clear();
    this.#sessions.delete(session);
  }

  /**
   * Connects a session's own client to an upstream, declaring the session's client features,
   * then loads its lists and restores the session's log level and subscriptions there.
   */
  async #open(session: GatewaySession, upstream: NamedTarget): Promise<OwnConnection> {
    const own: OwnConnection = {
      client: undefined as never,
      tools: [],
      resources: [],
      prompts: [],
    };
    const client = await this.#connect(
      upstream,
      session.mcp.server.getClientCapabilities() ?? {},
      (c) => this.#options.setup(session, upstream.name, own, c),
    );
    own.client = client;
    try {
      for (const kind of LIST_KINDS) await this.#options.load(own, client, kind);
      await this.#restore(session, upstream.name, client);
    } catch (error) {
      await disconnect(client);
      throw error;
    }
    if (session.closed) {
      await disconnect(client);
      throw new DomainError("unavailable", "the session closed");
    }
    const lost = (reason: string) => this.lose(session, upstream, own, reason);
    client.onclose = () => lost("the connection closed");
    client.onerror = (error: unknown) => {
      if (error instanceof SseError) lost(`the SSE stream broke: ${describeError(error)}`);
      else {
        const reason = unsentLoss(error);
        if (reason) lost(reason);
      }
    };
    this.#options.log.info("session connected to upstream", { upstream: upstream.name });
    return own;
  }

  /** Connects a client to `upstream` declaring the client features of `downstream`. */
  async #connect(
    upstream: NamedTarget,
    downstream: ClientCapabilities,
    setup: (client: Client) => void,
  ): Promise<Client> {
    return await connectTarget(upstream.target, {
      clientName: `mcpcomm-gateway-${upstream.name}`,
      version: this.#options.version,
      childEnv: this.#options.childEnv,
      timeoutMs: this.#options.connectTimeoutMs,
      client: {
        defaultCacheTtlMs: MAX_CACHE_TTL_MS,
        capabilities: {
          ...(downstream.sampling ? { sampling: downstream.sampling } : {}),
          ...(downstream.elicitation ? { elicitation: downstream.elicitation } : {}),
          ...(downstream.roots ? { roots: downstream.roots } : {}),
        },
      },
      setup,
    });
  }

  /** Sends the session's log level and subscriptions on a new connection to `upstream`. */
  async #restore(session: GatewaySession, upstream: string, client: Client): Promise<void> {
    const caps = client.getServerCapabilities() ?? {};
    if (session.logLevel && caps.logging) await client.setLoggingLevel(session.logLevel);
    const uris = session.subscriptions.get(upstream) ?? new Set<string>();
    if (uris.size && caps.resources?.subscribe) {
      for (const uri of uris) await client.subscribeResource({ uri });
    }
  }
}
