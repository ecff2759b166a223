/**
 * A bounded in-memory event store for one Streamable HTTP session: what lets a client that
 * reconnects with `Last-Event-ID` receive the messages it missed. Oldest events go first once
 * the store holds `maxEvents` events or `maxBytes` of messages.
 * @module
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";

/** Limits of one session's {@linkcode BoundedEventStore}. */
export interface EventStoreLimits {
  /** Most events kept (default 1,000). */
  maxEvents?: number;
  /** Most bytes of serialised messages kept (default 4 MiB). */
  maxBytes?: number;
}

interface StoredEvent {
  id: EventId;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
}

function isPriming(message: JSONRPCMessage): boolean {
  return !("jsonrpc" in message);
}

/**
 * The SDK's `EventStore` over a bounded, ordered list. Event IDs are `<sequence>` numbers,
 * unique within the session.
 * @example
 * ```ts
 * new WebStandardStreamableHTTPServerTransport({ eventStore: new BoundedEventStore(), ... });
 * ```
 */
export class BoundedEventStore implements EventStore {
  readonly #events: StoredEvent[] = [];
  readonly #maxEvents: number;
  readonly #maxBytes: number;
  #next = 1;
  #bytes = 0;

  constructor(limits: EventStoreLimits = {}) {
    this.#maxEvents = limits.maxEvents ?? 1000;
    this.#maxBytes = limits.maxBytes ?? 4 * 1024 * 1024;
  }

  /** Events currently kept. */
  get size(): number {
    return this.#events.length;
  }

  /** Bytes of messages currently kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `message` as the next event of `streamId`, dropping the oldest past the limits. */
  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = String(this.#next++);
    const bytes = JSON.stringify(message).length;
    this.#events.push({ id, streamId, message, bytes });
    this.#bytes += bytes;
    while (
      this.#events.length > this.#maxEvents ||
      (this.#bytes > this.#maxBytes && this.#events.length > 1)
    ) {
      this.#bytes -= this.#events.shift()!.bytes;
    }
    return Promise.resolve(id);
  }

  #indexOf(eventId: EventId): number {
    if (!/^\d{1,15}$/.test(eventId)) return -1;
    const first = this.#events[0];
    if (!first) return -1;
    const index = Number(eventId) - Number(first.id);
    return this.#events[index]?.id === eventId ? index : -1;
  }

  /** The stream of a kept event; `undefined` for an unknown or dropped one. */
  getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const index = this.#indexOf(eventId);
    return Promise.resolve(index < 0 ? undefined : this.#events[index]!.streamId);
  }

  /** Sends the kept events of the same stream after `lastEventId`; resolves that stream's ID. */
  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const index = this.#indexOf(lastEventId);
    if (index < 0) return "";
    const { streamId } = this.#events[index]!;
    const later = this.#events.slice(index + 1).filter((e) =>
      e.streamId === streamId && !isPriming(e.message)
    );
    for (const event of later) await send(event.id, event.message);
    return streamId;
  }
}
