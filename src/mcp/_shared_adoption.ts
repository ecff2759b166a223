/**
 * 2025-era sessions shared between replicas (`MCPCOMM_REDIS`): a request for a session this
 * replica holds is checked against Redis (a `DELETE` on another replica ends it here), and one
 * for a session it does not hold rebuilds the session from its Redis record (`adopt`).
 * @module
 */
import type { EventStore } from "@modelcontextprotocol/server";
import type { Logger } from "../core/mod.ts";
import { type SessionEntry, type SessionTable, unknownSession } from "./sessions.ts";
import type { SessionRecord, SharedSessions } from "./_shared_sessions.ts";
import type { Live, OpenedSession } from "./_legacy_sessions.ts";

/** What {@linkcode createSharedAdoption} needs from the session wiring. */
export interface SharedAdoptionOptions {
  store: SharedSessions;
  sessions: SessionTable<Live>;
  openStreamable: (
    id: string,
    events: EventStore,
    record?: SessionRecord,
  ) => Promise<OpenedSession>;
  log: Logger;
}

/** Shared-session lookups for the 2025-era routes. */
export interface SharedAdoption {
  /** The local entry of session `id`, checked against Redis or rebuilt from it. */
  entry(request: Request, id: string): Promise<SessionEntry<Live> | undefined>;
  /** A `DELETE` of session `id`, on every replica. */
  end(request: Request, id: string): Promise<Response>;
}

/** Creates the shared-session lookups over `options.sessions`. */
export function createSharedAdoption(options: SharedAdoptionOptions): SharedAdoption {
  const { store, sessions, log } = options;

  const adopting = new Map<string, Promise<SessionEntry<Live> | undefined>>();
  const adopt = (request: Request, id: string): Promise<SessionEntry<Live> | undefined> => {
    let pending = adopting.get(id);
    if (!pending) {
      pending = rebuild(request, id).finally(() => adopting.delete(id));
      adopting.set(id, pending);
    }
    return pending;
  };

  /**
   * Builds a session this replica does not hold from its Redis record, through PUBLIC SDK API
   * only: SDK 2.4.0 has no option to create a transport that is already initialized with a given
   * session ID (`_initialized` is private), so the client's stored `initialize` request and its
   * `notifications/initialized` are replayed into a fresh transport + McpServer with
   * `handleRequest` (the generator returns the stored ID). That gives the server the client's
   * protocol version, capabilities and info exactly as on the first replica; the answers to the
   * replay are discarded and not stored as events (`muted`).
   */
  const rebuild = async (request: Request, id: string): Promise<SessionEntry<Live> | undefined> => {
    const record = await store.load(id);
    if (!record) return undefined;
    const release = sessions.reserve();
    try {
      const events = store.eventStore(id);
      events.muted = true;
      const { live, transport, added } = await options.openStreamable(id, events, record);
      const replay = (headers: Record<string, string>, parsedBody: unknown) =>
        transport.handleRequest(
          new Request(request.url, {
            method: "POST",
            headers: {
              accept: "application/json, text/event-stream",
              "content-type": "application/json",
              ...headers,
            },
          }),
          { parsedBody },
        );
      await (await replay({}, record.initialize)).text();
      const entry = added();
      if (!entry) {
        await live.server.close();
        return undefined;
      }
      await (await replay({ "mcp-session-id": id }, {
        jsonrpc: "2.0",
        method: "notifications/initialized",
      })).text();
      events.muted = false;
      log.debug("MCP session adopted", { session: id.slice(0, 8) });
      return entry;
    } finally {
      release();
    }
  };

  return {
    async entry(request, id) {
      const local = sessions.get(id);
      if (!local) return await adopt(request, id);
      const record = local.value.kind === "streamable" ? local.value.record : undefined;
      if (!record) return local;
      let goesOn = true;
      try {
        goesOn = await store.touch(id, record);
      } catch {
        // Redis is down: the session this replica holds goes on (the outage is logged once).
      }
      if (goesOn) return local;
      await local.value.server.close();
      return undefined;
    },
    /**
     * The record goes first (no replica adopts it afterwards, and the ones holding it end it at
     * their next request), then this replica's copy if it has one.
     */
    async end(request, id) {
      const existed = await store.remove(id);
      const local = sessions.get(id);
      if (local?.value.kind === "streamable") {
        return await local.value.transport.handleRequest(request);
      }
      if (!existed) throw unknownSession();
      return new Response(null, { status: 200 });
    },
  };
}
