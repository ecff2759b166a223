/**
 * The connection guard in front of every mcpcomm HTTP server bound to a non-loopback address
 * (`READ_TIMEOUT_SECONDS`, `MAX_CONNECTIONS_PER_ADDRESS`; `listen()` in `serve.ts` decides). `Deno.serve` has no read timeout and no connection hook, so a
 * client sending a byte a second, or a chunked body that never ends, held a connection for ever.
 *
 * Design: the public address is bound here with `Deno.listen`. `Deno.serve` listens on a free
 * loopback port (127.0.0.1) and every accepted connection is copied both ways to one connection of
 * its own to that port, with a reused buffer per direction (`read`/`write`: measured no slower than
 * `pipeTo`, and a Unix socket inside was no faster). The guard's outbound local port names the
 * client connection: the handler wrapper maps `info.remoteAddr.port` back to it, passes the real
 * client address on as `info.remoteAddr`, and answers 403 to any connection it did not open
 * itself, so the loopback port is no way around the guard for local processes. (A Unix socket
 * would hide other local users but makes every internal connection look alike, so the real address
 * would have to travel in a header the guard writes into each request, a header to trust.)
 * With TLS, TLS ends in the guard (HTTP/1.1 only) on a second loopback listener that the raw public
 * connection is piped to first: closing a `Deno.TlsConn` whose handshake has not finished leaves
 * its socket open, closing the raw connection does not.
 *
 * The guard follows HTTP/1.1 framing on the client's side only: the request line and headers to
 * the blank line, then a `Content-Length` or chunked body, then the next request. A header block
 * must be complete within the timeout of its first byte and a body within the timeout after its
 * headers; a request that misses it is answered 408 (when no answer has begun) and closed. A
 * connection with no request in progress and nothing being answered is closed after the timeout
 * too, and so is one whose client does not take an answer's bytes for as long. After a `101`
 * answer (WebSocket) the bytes pass through unread and untimed. A client address with
 * `maxPerAddress` connections open has more refused with a 503 (logged once a minute per address).
 * Loopback clients are not counted: any local process can pick among 2^24 127.x source addresses,
 * so a per-address limit there protects nothing and would only refuse a local proxy (nginx), a
 * Server A on the same machine, or a load test.
 * Deadlines are checked by one sweep a few times per timeout, not by a timer per request.
 * @module
 */
import type { ErrorCode } from "../core/errors.ts";
import { isLoopbackHost } from "./hosts.ts";
import type { Logger } from "../core/log.ts";

/** The default of `READ_TIMEOUT_SECONDS`: nginx's `client_header_timeout` and `client_body_timeout`. */
export const DEFAULT_READ_TIMEOUT_SECONDS = 60;
/** The default of `MAX_CONNECTIONS_PER_ADDRESS`. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;

/** A server behind the guard: `addr` is the public address. */
export interface GuardedServer extends Deno.HttpServer<Deno.NetAddr> {
  /** The loopback address `Deno.serve` listens on, which answers 403 to anyone but the guard. */
  internalAddr: Deno.NetAddr;
}

/** What {@linkcode serveGuarded} enforces and where it serves. */
export interface ConnGuardOptions {
  /** The bound public listener. */
  listener: Deno.TcpListener;
  /**
   * With TLS: a loopback TLS listener (HTTP/1.1 only) that the raw public connections are relayed
   * to, TLS ends in, and the guard then reads from.
   */
  tlsListener?: Deno.TlsListener | undefined;
  /** Milliseconds a header block, a body or an idle connection may take; 0 = no limit. */
  readTimeoutMs: number;
  /** Most connections open at once from one client address; 0 = no limit. */
  maxPerAddress: number;
  /** Count loopback clients against `maxPerAddress` too (default false). */
  limitLoopback?: boolean | undefined;
  log?: Logger | undefined;
  signal?: AbortSignal | undefined;
  onError?: ((error: unknown) => Response | Promise<Response>) | undefined;
}

const INTERNAL_HOST = "127.0.0.1";
const BUFFER_BYTES = 16 * 1024;
const LINE_KEPT = 1024;
const DRAIN_GRACE_MS = 1000;
const REFUSE_GRACE_MS = 2000;
const LOG_EVERY_MS = 60_000;

const IDLE = 0;
const HEAD = 1;
const BODY = 2;
const UPGRADING = 3;
const RAW = 4;

const CHUNK_SIZE = 0;
const CHUNK_EXT = 1;
const CHUNK_DATA = 2;
const CHUNK_DATA_END = 3;
const CHUNK_TRAILER = 4;

const LF = 10;
const CR = 13;
const COLON = 58;
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

function rawAnswer(status: string, code: ErrorCode, message: string): Uint8Array {
  const body = JSON.stringify({ error: { code, message } });
  return encoder.encode(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** One client connection and the state of its requests. */
class Guarded {
  internal: Deno.TcpConn | undefined;
  internalPort = 0;
  phase = IDLE;
  /** When the current phase began (coarse clock). */
  since: number;
  /** When the connection last became idle: no request being read, none being answered. */
  idleFrom: number;
  /** Handler calls whose answers are not yet fully sent. */
  inFlight = 0;
  /** Of those, the ones whose handler has returned (their answer has begun). */
  answered = 0;
  /** When the current write to the client began; -1 when none is pending. */
  writingSince = -1;
  closed = false;
  /** Set once the guard answers this client itself; that answer's write closes the connection. */
  answering = false;
  closeTimer: ReturnType<typeof setTimeout> | undefined;

  line = new Uint8Array(LINE_KEPT);
  lineKept = 0;
  sawRequestLine = false;
  contentLength = -1;
  chunked = false;
  upgrade = false;
  connectionUpgrade = false;
  remaining = 0;
  chunkState = CHUNK_SIZE;
  chunkLine = 0;

  constructor(
    readonly client: Deno.Conn,
    readonly remoteAddr: Deno.NetAddr,
    readonly onClose: () => void,
    now: number,
  ) {
    this.since = now;
    this.idleFrom = now;
  }

  /** Follows the request framing through `bytes`. */
  scan(bytes: Uint8Array, now: number): void {
    let pos = 0;
    while (pos < bytes.length) {
      switch (this.phase) {
        case IDLE:
          this.startHead(now);
          break;
        case HEAD:
          pos = this.scanHead(bytes, pos, now);
          break;
        case BODY:
          pos = this.chunked ? this.scanChunked(bytes, pos, now) : this.scanLength(bytes, pos);
          if (this.phase === BODY && this.remaining === 0 && !this.chunked) this.endRequest(now);
          break;
        default:
          return;
      }
    }
  }

  private startHead(now: number): void {
    this.phase = HEAD;
    this.since = now;
    this.lineKept = 0;
    this.sawRequestLine = false;
    this.contentLength = -1;
    this.chunked = false;
    this.upgrade = false;
    this.connectionUpgrade = false;
  }

  private scanHead(bytes: Uint8Array, from: number, now: number): number {
    let pos = from;
    while (pos < bytes.length) {
      const lf = bytes.indexOf(LF, pos);
      const stop = lf === -1 ? bytes.length : lf;
      const room = LINE_KEPT - this.lineKept;
      if (room > 0) {
        const take = bytes.subarray(pos, Math.min(stop, pos + room));
        this.line.set(take, this.lineKept);
        this.lineKept += take.length;
      }
      if (lf === -1) return bytes.length;
      pos = lf + 1;
      let length = this.lineKept;
      if (length > 0 && this.line[length - 1] === CR) length--;
      this.lineKept = 0;
      if (length === 0) {
        if (!this.sawRequestLine) continue;
        this.endHead(now);
        return pos;
      }
      if (!this.sawRequestLine) this.sawRequestLine = true;
      else this.headerLine(length);
    }
    return pos;
  }

  private headerLine(length: number): void {
    const colon = this.line.subarray(0, length).indexOf(COLON);
    if (colon !== 7 && colon !== 10 && colon !== 14 && colon !== 17) return;
    const name = latin1.decode(this.line.subarray(0, colon)).toLowerCase();
    const value = () => latin1.decode(this.line.subarray(colon + 1, length)).trim().toLowerCase();
    if (name === "content-length") {
      const parsed = Number(value());
      this.contentLength = Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : 0;
    } else if (name === "transfer-encoding") {
      if (value().includes("chunked")) this.chunked = true;
    } else if (name === "upgrade") {
      this.upgrade = true;
    } else if (name === "connection") {
      if (value().split(",").some((token) => token.trim() === "upgrade")) {
        this.connectionUpgrade = true;
      }
    }
  }

  private endHead(now: number): void {
    if (this.chunked) {
      this.phase = BODY;
      this.chunkState = CHUNK_SIZE;
      this.remaining = 0;
      this.since = now;
    } else if (this.contentLength > 0) {
      this.phase = BODY;
      this.remaining = this.contentLength;
      this.since = now;
    } else {
      this.endRequest(now);
    }
  }

  private endRequest(now: number): void {
    this.phase = this.upgrade && this.connectionUpgrade ? UPGRADING : IDLE;
    this.since = now;
    this.idleFrom = now;
  }

  private scanLength(bytes: Uint8Array, pos: number): number {
    const take = Math.min(this.remaining, bytes.length - pos);
    this.remaining -= take;
    return pos + take;
  }

  private scanChunked(bytes: Uint8Array, from: number, now: number): number {
    let pos = from;
    while (pos < bytes.length) {
      if (this.chunkState === CHUNK_DATA) {
        const take = Math.min(this.remaining, bytes.length - pos);
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.chunkState = CHUNK_DATA_END;
        continue;
      }
      const byte = bytes[pos++]!;
      switch (this.chunkState) {
        case CHUNK_SIZE: {
          const digit = hexValue(byte);
          if (digit >= 0) this.remaining = this.remaining * 16 + digit;
          else if (byte === LF) this.endSizeLine();
          else if (byte !== CR) this.chunkState = CHUNK_EXT;
          break;
        }
        case CHUNK_EXT:
          if (byte === LF) this.endSizeLine();
          break;
        case CHUNK_DATA_END:
          if (byte === LF) this.chunkState = CHUNK_SIZE;
          break;
        case CHUNK_TRAILER:
          if (byte === LF) {
            if (this.chunkLine === 0) {
              this.endRequest(now);
              return pos;
            }
            this.chunkLine = 0;
          } else if (byte !== CR) this.chunkLine++;
          break;
      }
    }
    return pos;
  }

  private endSizeLine(): void {
    if (this.remaining === 0) {
      this.chunkState = CHUNK_TRAILER;
      this.chunkLine = 0;
    } else {
      this.chunkState = CHUNK_DATA;
    }
  }
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch { /* already closed */ }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * Serves `handler` with `Deno.serve` behind the guard on `options.listener`; the returned server's
 * `addr` is the public address and `shutdown()` stops both.
 * @example
 * ```ts
 * const listener = Deno.listen({ hostname: "0.0.0.0", port: 8000 });
 * const server = await serveGuarded(
 *   { listener, readTimeoutMs: 60_000, maxPerAddress: 64 },
 *   () => new Response("ok"),
 * );
 * ```
 */
export async function serveGuarded(
  options: ConnGuardOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Promise<GuardedServer> {
  const { listener, readTimeoutMs, maxPerAddress, log } = options;
  const conns = new Set<Guarded>();
  const byPort = new Map<number, Guarded>();
  const perAddress = new Map<string, number>();
  const refusalLogged = new Map<string, number>();
  let now = performance.now();
  let accepting = true;
  let drained: PromiseWithResolvers<void> | undefined;

  const timedOut = rawAnswer(
    "408 Request Timeout",
    "request_timeout",
    `The request was not received within ${readTimeoutMs / 1000} s`,
  );
  const tooMany = rawAnswer(
    "503 Service Unavailable",
    "too_many_connections",
    `Too many connections from your address (at most ${maxPerAddress}); close one and retry`,
  );

  const release = (host: string) => {
    const left = (perAddress.get(host) ?? 1) - 1;
    if (left > 0) perAddress.set(host, left);
    else perAddress.delete(host);
  };
  const settle = () => {
    if (conns.size === 0 && pipes.size === 0) drained?.resolve();
  };

  const close = (conn: Guarded) => {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.closeTimer);
    closeQuietly(conn.client);
    if (conn.internal) closeQuietly(conn.internal);
    if (byPort.get(conn.internalPort) === conn) byPort.delete(conn.internalPort);
    conns.delete(conn);
    conn.onClose();
    settle();
  };

  const answerAndClose = (conn: Guarded, bytes: Uint8Array) => {
    conn.answering = true;
    if (conn.internal) closeQuietly(conn.internal);
    conn.closeTimer = setTimeout(() => close(conn), REFUSE_GRACE_MS);
    writeAll(conn.client, bytes).catch(() => {}).finally(() => close(conn));
  };

  const sweep = () => {
    now = performance.now();
    for (const conn of conns) {
      if (conn.closed || conn.answering || conn.phase === RAW) continue;
      if (conn.writingSince >= 0 && now - conn.writingSince > readTimeoutMs) {
        close(conn);
      } else if (conn.phase === HEAD || conn.phase === BODY) {
        if (now - conn.since <= readTimeoutMs) continue;
        const own = conn.phase === BODY ? 1 : 0;
        if (conn.answered === 0 && conn.inFlight <= own) answerAndClose(conn, timedOut);
        else close(conn);
      } else if (conn.inFlight === 0 && now - conn.idleFrom > readTimeoutMs) {
        close(conn);
      }
    }
  };
  const tick = readTimeoutMs > 0 ? Math.min(1000, Math.max(50, readTimeoutMs / 4)) : 0;
  const sweeper = tick > 0 ? setInterval(sweep, tick) : undefined;
  if (sweeper !== undefined) Deno.unrefTimer(sweeper);

  const counted = (host: string) =>
    options.limitLoopback === true ||
    !(isLoopbackHost(host) || host.toLowerCase().startsWith("::ffff:127."));

  const refuse = (client: Deno.Conn, host: string) => {
    const t = performance.now();
    if (t - (refusalLogged.get(host) ?? -Infinity) >= LOG_EVERY_MS) {
      if (refusalLogged.size >= 10_000) {
        for (const [key, at] of refusalLogged) {
          if (t - at >= LOG_EVERY_MS) refusalLogged.delete(key);
        }
      }
      refusalLogged.set(host, t);
      log?.warn("connections refused: too many from one address", {
        remote: host,
        limit: maxPerAddress,
      });
    }
    const timer = setTimeout(() => closeQuietly(client), REFUSE_GRACE_MS);
    writeAll(client, tooMany).catch(() => {}).finally(() => {
      clearTimeout(timer);
      closeQuietly(client);
    });
  };

  /** Counts a new public connection against its address, or refuses it. */
  const admit = (client: Deno.Conn): boolean => {
    const host = (client.remoteAddr as Deno.NetAddr).hostname;
    const open = perAddress.get(host) ?? 0;
    if (maxPerAddress > 0 && open >= maxPerAddress && counted(host)) {
      refuse(client, host);
      return false;
    }
    perAddress.set(host, open + 1);
    return true;
  };

  const toServer = async (conn: Guarded, internal: Deno.TcpConn) => {
    const buffer = new Uint8Array(BUFFER_BYTES);
    for (;;) {
      const n = await conn.client.read(buffer);
      if (n === null) {
        await internal.closeWrite();
        return await new Promise<void>(() => {});
      }
      const bytes = buffer.subarray(0, n);
      if (tick > 0 && conn.phase !== RAW) conn.scan(bytes, now);
      const written = await internal.write(bytes);
      if (written < n) await writeAll(internal, bytes.subarray(written));
    }
  };

  const toClient = async (conn: Guarded, internal: Deno.TcpConn) => {
    const buffer = new Uint8Array(BUFFER_BYTES);
    for (;;) {
      const n = await internal.read(buffer);
      if (n === null) return;
      conn.writingSince = now;
      const written = await conn.client.write(buffer.subarray(0, n));
      if (written < n) await writeAll(conn.client, buffer.subarray(written, n));
      conn.writingSince = -1;
    }
  };

  const relay = async (client: Deno.Conn, remoteAddr: Deno.NetAddr, onClose: () => void) => {
    const conn = new Guarded(client, remoteAddr, onClose, now);
    conns.add(conn);
    try {
      const internal = await Deno.connect({ hostname: INTERNAL_HOST, port: internalPort });
      conn.internal = internal;
      conn.internalPort = (internal.localAddr as Deno.NetAddr).port;
      if (conn.closed) return internal.close();
      byPort.set(conn.internalPort, conn);
      await Promise.race([toServer(conn, internal), toClient(conn, internal)]).catch(() => {});
    } catch {
      // The internal server is gone (shutting down): nothing to relay to.
    } finally {
      if (!conn.answering) close(conn);
    }
  };

  // With TLS, a raw public connection is piped to the loopback TLS listener; the pipe's local port
  // names it there. Closing the raw side is what ends a client that never finishes its handshake
  // (closing a TlsConn before its handshake leaves the socket open).
  const pipes = new Set<Deno.Conn>();
  const meetings = new Map<number, PromiseWithResolvers<Deno.Conn>>();
  const meeting = (port: number) => {
    let met = meetings.get(port);
    if (!met) meetings.set(port, met = Promise.withResolvers());
    return met;
  };

  const pipeRaw = async (from: Deno.Conn, to: Deno.Conn, half: boolean) => {
    const buffer = new Uint8Array(BUFFER_BYTES);
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      await writeAll(to, buffer.subarray(0, n));
    }
    if (!half) return;
    await to.closeWrite();
    await new Promise<void>(() => {});
  };

  const pipeToTls = async (client: Deno.Conn, tlsAddr: Deno.NetAddr) => {
    pipes.add(client);
    let internal: Deno.TcpConn | undefined;
    let port = 0;
    try {
      internal = await Deno.connect({ hostname: INTERNAL_HOST, port: tlsAddr.port });
      port = (internal.localAddr as Deno.NetAddr).port;
      meeting(port).resolve(client);
      await Promise.race([pipeRaw(client, internal, true), pipeRaw(internal, client, false)]);
    } catch {
      // Either side went away.
    } finally {
      if (meetings.get(port)) meetings.delete(port);
      closeQuietly(client);
      if (internal) closeQuietly(internal);
      release((client.remoteAddr as Deno.NetAddr).hostname);
      pipes.delete(client);
      settle();
    }
  };

  const fromTls = async (tlsConn: Deno.TlsConn) => {
    const peer = tlsConn.remoteAddr as Deno.NetAddr;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const client = peer.hostname === INTERNAL_HOST
      ? await Promise.race([
        meeting(peer.port).promise,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), REFUSE_GRACE_MS);
        }),
      ])
      : undefined;
    clearTimeout(timer);
    meetings.delete(peer.port);
    if (client === undefined) return closeQuietly(tlsConn);
    void relay(tlsConn, client.remoteAddr as Deno.NetAddr, () => closeQuietly(client));
  };

  const forbidden = () =>
    Response.json({
      error: { code: "forbidden", message: "Connect through the server's public address" },
    }, { status: 403, headers: { connection: "close" } });

  const wrapped: Deno.ServeHandler<Deno.NetAddr> = async (request, info) => {
    const peer = info.remoteAddr;
    const conn = peer.hostname === INTERNAL_HOST ? byPort.get(peer.port) : undefined;
    if (conn === undefined) return forbidden();
    const completed = info.completed;
    let answered = false;
    conn.inFlight++;
    const done = () => {
      conn.inFlight--;
      if (answered) conn.answered--;
      if (conn.inFlight === 0) conn.idleFrom = now;
    };
    completed.then(done, done);
    const response = await handler(request, { remoteAddr: conn.remoteAddr, completed });
    answered = true;
    conn.answered++;
    if (conn.phase === UPGRADING) conn.phase = response.status === 101 ? RAW : IDLE;
    return response;
  };

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const inner = Deno.serve({
    hostname: INTERNAL_HOST,
    port: 0,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, wrapped);
  const internalAddr = await listening.promise;
  const internalPort = internalAddr.port;

  const { tlsListener } = options;
  const stopAccepting = () => {
    if (!accepting) return;
    accepting = false;
    closeQuietly(listener);
    if (tlsListener) closeQuietly(tlsListener);
  };
  options.signal?.addEventListener("abort", stopAccepting, { once: true });

  const acceptEach = async <C extends Deno.Conn>(
    from: Deno.Listener<C>,
    take: (conn: C) => void,
  ) => {
    while (accepting) {
      let conn: C;
      try {
        conn = await from.accept();
      } catch (error) {
        if (!accepting || error instanceof Deno.errors.BadResource) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      take(conn);
    }
  };
  const tlsAddr = tlsListener?.addr as Deno.NetAddr | undefined;
  const acceptLoops = Promise.all([
    acceptEach(listener, (client) => {
      if (!admit(client)) return;
      const remoteAddr = client.remoteAddr as Deno.NetAddr;
      if (tlsAddr) void pipeToTls(client, tlsAddr);
      else void relay(client, remoteAddr, () => release(remoteAddr.hostname));
    }),
    tlsListener ? acceptEach(tlsListener, (conn) => void fromTls(conn)) : undefined,
  ]);

  const finished = inner.finished.then(async () => {
    stopAccepting();
    await acceptLoops;
    if (conns.size > 0 || pipes.size > 0) {
      drained = Promise.withResolvers();
      const grace = setTimeout(() => drained?.resolve(), DRAIN_GRACE_MS);
      await drained.promise;
      clearTimeout(grace);
      for (const conn of [...conns]) close(conn);
      for (const pipe of pipes) closeQuietly(pipe);
    }
    clearInterval(sweeper);
  });

  const shutdown = async () => {
    stopAccepting();
    await inner.shutdown();
    await finished;
  };
  return {
    addr: listener.addr as Deno.NetAddr,
    internalAddr,
    finished,
    ref() {
      listener.ref();
      tlsListener?.ref();
      inner.ref();
    },
    unref() {
      listener.unref();
      tlsListener?.unref();
      inner.unref();
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
