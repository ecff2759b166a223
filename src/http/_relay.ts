/**
 * The guard's table of relayed client connections: each one copied both ways to its own
 * connection to the inner loopback `Deno.serve`, named there by that connection's local port;
 * the handler wrapper that maps a request back to its client (403 to anyone else); and the
 * sweep, a few times per timeout, that answers 408 or closes what missed its deadline.
 * @module
 */
import { BODY, Guarded, HEAD, IDLE, RAW, UPGRADING } from "./_guarded.ts";
import {
  BUFFER_BYTES,
  closeQuietly,
  INTERNAL_HOST,
  rawAnswer,
  REFUSE_GRACE_MS,
  writeAll,
} from "./_conn_io.ts";

/** What {@linkcode relays} times and whom it tells. */
export interface RelayOptions {
  /** Milliseconds a header block, a body or an idle connection may take; 0 = no limit. */
  readTimeoutMs: number;
  /** Called whenever a connection closes. */
  settle: () => void;
}

/** The relayed connections of one guarded server. */
export interface Relays {
  /** Connections being relayed. */
  readonly conns: Set<Guarded>;
  /** The inner server's loopback port, set once it listens and before the first relay. */
  internalPort: number;
  /** Relays `client` (whose address is `remoteAddr`) until either side ends. */
  relay(client: Deno.Conn, remoteAddr: Deno.NetAddr, onClose: () => void): Promise<void>;
  /** Closes a relayed connection now. */
  close(conn: Guarded): void;
  /** `handler` behind the table: the real client as `remoteAddr`, 403 to unknown connections. */
  wrap(handler: Deno.ServeHandler<Deno.NetAddr>): Deno.ServeHandler<Deno.NetAddr>;
  /** Stops the sweep. */
  stop(): void;
}

/** An empty table, sweeping when `readTimeoutMs` is set. */
export function relays(options: RelayOptions): Relays {
  const { readTimeoutMs, settle } = options;
  const conns = new Set<Guarded>();
  const byPort = new Map<number, Guarded>();
  let now = performance.now();
  let internalPort = 0;

  const timedOut = rawAnswer(
    "408 Request Timeout",
    "request_timeout",
    `The request was not received within ${readTimeoutMs / 1000} s`,
  );

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

  const forbidden = () =>
    Response.json({
      error: { code: "forbidden", message: "Connect through the server's public address" },
    }, { status: 403, headers: { connection: "close" } });

  const wrap =
    (handler: Deno.ServeHandler<Deno.NetAddr>): Deno.ServeHandler<Deno.NetAddr> =>
    async (request, info) => {
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

  return {
    conns,
    get internalPort() {
      return internalPort;
    },
    set internalPort(port: number) {
      internalPort = port;
    },
    relay,
    close,
    wrap,
    stop: () => clearInterval(sweeper),
  };
}
