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
 * The pieces: `_relay.ts` (the relayed connections, the handler wrapper and the sweep),
 * `_guarded.ts` (one connection's framing state), `_address_limit.ts`, `_tls_pipe.ts`.
 * @module
 */
import { addressLimit } from "./_address_limit.ts";
import { closeQuietly, INTERNAL_HOST } from "./_conn_io.ts";
import { relays } from "./_relay.ts";
import { tlsPipes } from "./_tls_pipe.ts";
import type { Logger } from "../core/mod.ts";

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

const DRAIN_GRACE_MS = 1000;

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
  const { listener, readTimeoutMs } = options;
  let accepting = true;
  let drained: PromiseWithResolvers<void> | undefined;
  const settle = () => {
    if (table.conns.size === 0 && tls.pipes.size === 0) drained?.resolve();
  };
  const { admit, release } = addressLimit(options);
  const table = relays({ readTimeoutMs, settle });
  const { relay } = table;
  const tls = tlsPipes({ release, settle, relay });

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const inner = Deno.serve({
    hostname: INTERNAL_HOST,
    port: 0,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, table.wrap(handler));
  const internalAddr = await listening.promise;
  table.internalPort = internalAddr.port;

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
      if (tlsAddr) void tls.pipeToTls(client, tlsAddr);
      else void relay(client, remoteAddr, () => release(remoteAddr.hostname));
    }),
    tlsListener ? acceptEach(tlsListener, (conn) => void tls.fromTls(conn)) : undefined,
  ]);

  const finished = inner.finished.then(async () => {
    stopAccepting();
    await acceptLoops;
    if (table.conns.size > 0 || tls.pipes.size > 0) {
      drained = Promise.withResolvers();
      const grace = setTimeout(() => drained?.resolve(), DRAIN_GRACE_MS);
      await drained.promise;
      clearTimeout(grace);
      for (const conn of [...table.conns]) table.close(conn);
      for (const pipe of tls.pipes) closeQuietly(pipe);
    }
    table.stop();
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
