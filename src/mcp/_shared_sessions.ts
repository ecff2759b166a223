/**
 * 2025-era MCP sessions shared between replicas through Redis (`MCPCOMM_REDIS`): a session record
 * written at `initialize` (the client's `initialize` request, which holds its protocol version,
 * capabilities and info; when it was created), whose TTL of `MCP_SESSION_IDLE_MINUTES` every
 * request renews, and the session's resumability events. A replica that gets a request for a
 * session it does not hold builds the session from the record (`./_shared_adoption.ts`); a
 * `DELETE` on any replica removes the record and leaves an "ended" marker, and the replicas
 * holding the session end it at their next request for it.
 * @module
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import type { SharedRedis } from "../shared/mod.ts";

/** What Redis keeps of a session. */
export interface SessionRecord {
  /** The client's `initialize` request (JSON-RPC), replayed to rebuild the session elsewhere. */
  initialize: Record<string, unknown>;
  /** When the session started (ms since the epoch). */
  created: number;
}

/** Most events kept per session (the in-memory store's default too); oldest go first. */
const MAX_EVENTS = 1000;

/** The session records and events of one server role in Redis. */
export class SharedSessions {
  readonly #redis: SharedRedis;
  readonly #ttlMs: number;

  constructor(redis: SharedRedis, idleMs: number) {
    this.#redis = redis;
    this.#ttlMs = Math.max(1000, Math.round(idleMs));
  }

  #key(id: string): string {
    return `${this.#redis.prefix}session:${id}`;
  }

  #events(id: string): string {
    return `${this.#redis.prefix}events:${id}`;
  }

  /** Writes a new session's record (throws `RedisUnavailableError` when Redis is down). */
  async save(id: string, record: SessionRecord): Promise<void> {
    await this.#redis.run((r) => r.set(this.#key(id), JSON.stringify(record), "PX", this.#ttlMs));
  }

  #ended(id: string): string {
    return `${this.#redis.prefix}ended:${id}`;
  }

  /**
   * Renews the TTL of a session's record (and its events); resolves whether the session goes on:
   * false once it was deleted on any replica. A record Redis lost without a delete (a restart
   * without persistence, an eviction) is written again from `record`, the holder's copy.
   */
  async touch(id: string, record: SessionRecord): Promise<boolean> {
    const replies = await this.#redis.run((r) =>
      r.multi()
        .pexpire(this.#key(id), this.#ttlMs)
        .pexpire(this.#events(id), this.#ttlMs)
        .exists(this.#ended(id))
        .exec()
    );
    if (replies?.[0]?.[1] === 1) return true;
    if (replies?.[2]?.[1] === 1) return false;
    await this.#redis.run((r) =>
      r.set(this.#key(id), JSON.stringify(record), "PX", this.#ttlMs, "NX")
    );
    return true;
  }

  /** The record of a session, TTL renewed; `undefined` for an unknown, deleted or expired one. */
  async load(id: string): Promise<SessionRecord | undefined> {
    const text = await this.#redis.run((r) => r.getex(this.#key(id), "PX", this.#ttlMs));
    if (text === null) return undefined;
    try {
      const record = JSON.parse(text) as SessionRecord;
      return typeof record.initialize === "object" && record.initialize !== null
        ? record
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes a session everywhere, leaving a marker (for the TTL) that tells the replicas holding
   * it to end it; resolves whether it existed.
   */
  async remove(id: string): Promise<boolean> {
    const replies = await this.#redis.run((r) =>
      r.multi()
        .del(this.#key(id), this.#events(id))
        .set(this.#ended(id), "1", "PX", this.#ttlMs)
        .exec()
    );
    return Number(replies?.[0]?.[1] ?? 0) > 0;
  }

  /** The session's event store on Redis. */
  eventStore(id: string): RedisEventStore {
    return new RedisEventStore(this.#redis, this.#events(id), this.#ttlMs);
  }
}

const EVENT_ID = /^\d{1,15}-\d{1,10}$/;

/** The event ID a message gets when Redis could not store it: delivered, not resumable. */
const UNSTORED = "0-0";

/**
 * The SDK's `EventStore` on one Redis stream per session (`XADD … MAXLEN ~ 1000`, the same
 * per-session bound as `../event_store.ts`; TTL as the session's), so that `GET /mcp` with
 * `Last-Event-ID` replays on any replica. Event IDs are the Redis entry IDs. A message Redis
 * cannot store is still sent live (ID `0-0`, which a resume then refuses): an outage must not
 * hold up answers. `muted` turns storing off while a session is rebuilt from its record.
 */
export class RedisEventStore implements EventStore {
  readonly #redis: SharedRedis;
  readonly #key: string;
  readonly #ttlMs: number;
  /** Stores nothing while true (the replayed `initialize` of a rebuilt session). */
  muted = false;

  constructor(redis: SharedRedis, key: string, ttlMs: number) {
    this.#redis = redis;
    this.#key = key;
    this.#ttlMs = ttlMs;
  }

  /** Appends `message` to the session's stream; resolves its event ID. */
  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    if (this.muted) return UNSTORED;
    try {
      const [[, id] = []] = await this.#redis.run((r) =>
        r.multi()
          .xadd(
            this.#key,
            "MAXLEN",
            "~",
            MAX_EVENTS,
            "*",
            "s",
            streamId,
            "m",
            JSON.stringify(message),
          )
          .pexpire(this.#key, this.#ttlMs)
          .exec()
      ) ?? [];
      return typeof id === "string" ? id : UNSTORED;
    } catch {
      return UNSTORED;
    }
  }

  async #entry(eventId: EventId): Promise<{ streamId: string } | undefined> {
    if (!EVENT_ID.test(eventId) || eventId === UNSTORED) return undefined;
    const [entry] = await this.#redis.run((r) => r.xrange(this.#key, eventId, eventId));
    const streamId = entry ? fieldOf(entry[1], "s") : undefined;
    return streamId === undefined ? undefined : { streamId };
  }

  /** The stream of a kept event; `undefined` for an unknown or dropped one. */
  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return (await this.#entry(eventId))?.streamId;
  }

  /** Sends the kept events of the same stream after `lastEventId`; resolves that stream's ID. */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const entry = await this.#entry(lastEventId);
    if (!entry) return "";
    const later = await this.#redis.run((r) =>
      r.xrange(this.#key, `(${lastEventId}`, "+", "COUNT", MAX_EVENTS)
    );
    for (const [id, fields] of later) {
      if (fieldOf(fields, "s") !== entry.streamId) continue;
      const message = JSON.parse(fieldOf(fields, "m") ?? "{}") as JSONRPCMessage;
      if (!("jsonrpc" in message)) continue;
      await send(id, message);
    }
    return entry.streamId;
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === name) return fields[i + 1];
  }
  return undefined;
}
