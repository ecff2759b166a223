/**
 * The table of live MCP sessions: cryptographically random IDs, a cap on how many exist at once
 * (503 with `Retry-After` past it), and idle expiry that closes a session with its resources.
 * A session is idle while none of its streams is open and no request has come for `idleMs`.
 * @module
 */
import { HttpError } from "../core/mod.ts";

/** A new session ID: 160 random bits from the system CSPRNG, as 40 hex digits. */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One cap on live sessions shared by every transport of a server (Streamable HTTP, legacy SSE,
 * WebSocket): each transport registers how many sessions it holds, and a new one is refused with
 * 503 and `Retry-After` once their sum reaches `max`.
 */
export class SessionLimit {
  readonly max: number;
  readonly #holders = new Set<{ count: () => number; retryAfterMs?: () => number | undefined }>();

  constructor(max: number) {
    this.max = max;
  }

  /** Counts `count()` sessions against the cap; `retryAfterMs` tells when one may end. */
  track(count: () => number, retryAfterMs?: () => number | undefined): void {
    this.#holders.add(retryAfterMs ? { count, retryAfterMs } : { count });
  }

  /** Sessions held now, over every transport. */
  get used(): number {
    let used = 0;
    for (const holder of this.#holders) used += holder.count();
    return used;
  }

  /** Throws 503 with `Retry-After` when no place is left; the caller takes the place at once. */
  check(): void {
    if (this.used < this.max) return;
    let soonest: number | undefined;
    for (const holder of this.#holders) {
      const ms = holder.retryAfterMs?.();
      if (ms !== undefined) soonest = Math.min(soonest ?? ms, ms);
    }
    const seconds = Math.min(3600, Math.max(1, Math.ceil((soonest ?? 60_000) / 1000)));
    throw new HttpError(
      503,
      "unavailable",
      `Too many MCP sessions (the limit is ${this.max}); retry in ${seconds} s`,
      { "retry-after": String(seconds) },
    );
  }
}

/** One live session as the table keeps it. */
export interface SessionEntry<T> {
  readonly id: string;
  readonly value: T;
  /** When the last request or stream of this session ended (ms, table clock). */
  lastActive: number;
  /** Streams of this session still open. */
  streams: number;
}

/** Options of {@linkcode SessionTable}. */
export interface SessionTableOptions<T> {
  /** A session with no open stream and no request for this long is closed. */
  idleMs: number;
  /** Most sessions at once, over this table and every other holder of `limit`. */
  maxSessions: number;
  /** A cap shared with the server's other transports; by default one of the table's own. */
  limit?: SessionLimit | undefined;
  /** Closes a session's resources (its MCP server and transport). */
  close: (value: T, id: string, reason: "expired" | "closed") => Promise<void>;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Live sessions by ID with a cap and idle expiry. The expiry sweep runs only while the table
 * holds sessions, so an empty table leaves no timer behind.
 */
export class SessionTable<T> {
  readonly #entries = new Map<string, SessionEntry<T>>();
  readonly #options: SessionTableOptions<T>;
  readonly #now: () => number;
  readonly #limit: SessionLimit;
  #reserved = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: SessionTableOptions<T>) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#limit = options.limit ?? new SessionLimit(options.maxSessions);
    this.#limit.track(() => this.#entries.size + this.#reserved, () => this.#retryAfterMs());
  }

  /** Sessions alive now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Holds a place for a session being created, or throws 503 with `Retry-After` when the table
   * is full. Call the returned function once the session is added or abandoned.
   */
  reserve(): () => void {
    if (this.#closed) throw new HttpError(503, "unavailable", "The server is shutting down");
    this.#limit.check();
    this.#reserved += 1;
    let released = false;
    return () => {
      if (!released) this.#reserved -= 1;
      released = true;
    };
  }

  #retryAfterMs(): number {
    const now = this.#now();
    let soonest = this.#options.idleMs;
    for (const entry of this.#entries.values()) {
      if (entry.streams === 0) {
        soonest = Math.min(soonest, entry.lastActive + this.#options.idleMs - now);
      }
    }
    return soonest;
  }

  /** Adds a session (after {@linkcode reserve}). */
  add(id: string, value: T): SessionEntry<T> {
    const entry: SessionEntry<T> = { id, value, lastActive: this.#now(), streams: 0 };
    this.#entries.set(id, entry);
    this.#startSweeping();
    return entry;
  }

  /** The session with this ID, marked active now; `undefined` when unknown, ended or expired. */
  get(id: string): SessionEntry<T> | undefined {
    const entry = this.#entries.get(id);
    if (entry) entry.lastActive = this.#now();
    return entry;
  }

  /** Counts an open stream of `entry`; the returned function (idempotent) counts it closed. */
  openStream(entry: SessionEntry<T>): () => void {
    entry.streams += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.streams -= 1;
      entry.lastActive = this.#now();
    };
  }

  /** Forgets a session whose transport has closed (its resources are already released). */
  remove(id: string): void {
    this.#entries.delete(id);
    if (this.#entries.size === 0) this.#stopSweeping();
  }

  /** Closes every session idle for longer than `idleMs`; resolves how many it closed. */
  async sweep(): Promise<number> {
    const now = this.#now();
    const expired = [...this.#entries.values()].filter((entry) =>
      entry.streams === 0 && now - entry.lastActive >= this.#options.idleMs
    );
    await Promise.all(expired.map((entry) => this.#end(entry, "expired")));
    return expired.length;
  }

  async #end(entry: SessionEntry<T>, reason: "expired" | "closed"): Promise<void> {
    if (this.#entries.get(entry.id) !== entry) return;
    this.remove(entry.id);
    await this.#options.close(entry.value, entry.id, reason).catch(() => {});
  }

  /** Closes every session and stops the expiry sweep; later reservations answer 503. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    this.#stopSweeping();
    await Promise.all([...this.#entries.values()].map((entry) => this.#end(entry, "closed")));
  }

  #startSweeping(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const every = Math.min(30_000, Math.max(25, this.#options.idleMs / 4));
    const timer = setInterval(() => void this.sweep(), every);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopSweeping(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The 404 for a session this server does not hold (any more). */
export function unknownSession(): HttpError {
  return new HttpError(
    404,
    "not_found",
    "Unknown or ended MCP session; start a new one with an initialize request",
  );
}

/** Counts `response` as an open stream of a session until its body ends or is cancelled. */
export function trackStream(response: Response, done: () => void): Response {
  const body = response.body;
  if (!body || !response.headers.get("content-type")?.includes("text/event-stream")) {
    done();
    return response;
  }
  const reader = body.getReader();
  const tracked = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const step = await reader.read();
        if (step.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(step.value);
        }
      } catch (error) {
        done();
        controller.error(error);
      }
    },
    cancel(reason) {
      done();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(tracked, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
