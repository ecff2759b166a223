/**
 * TLS in the connection guard: a raw public connection is piped to the loopback TLS listener and
 * the pipe's local port names it there; the TLS connection accepted there is then relayed as the
 * client's. Closing the raw side is what ends a client that never finishes its handshake (closing
 * a `Deno.TlsConn` before its handshake leaves the socket open).
 * @module
 */
import {
  BUFFER_BYTES,
  closeQuietly,
  INTERNAL_HOST,
  REFUSE_GRACE_MS,
  writeAll,
} from "./_conn_io.ts";

/** What {@linkcode tlsPipes} hands the connections to. */
export interface TlsPipeOptions {
  /** Uncounts a closed public connection of `host`. */
  release(host: string): void;
  /** Called whenever a pipe closes. */
  settle(): void;
  /** Relays a client connection (here: a TLS one) until either side ends. */
  relay(client: Deno.Conn, remoteAddr: Deno.NetAddr, onClose: () => void): Promise<void>;
}

/** The raw public connections piped to the TLS listener. */
export interface TlsPipes {
  /** Raw public connections being piped. */
  readonly pipes: Set<Deno.Conn>;
  /** Pipes a raw public connection to the loopback TLS listener at `tlsAddr`. */
  pipeToTls(client: Deno.Conn, tlsAddr: Deno.NetAddr): Promise<void>;
  /** Takes a connection accepted by the TLS listener: relayed when a pipe names it, else closed. */
  fromTls(tlsConn: Deno.TlsConn): Promise<void>;
}

/** No pipes yet. */
export function tlsPipes(options: TlsPipeOptions): TlsPipes {
  const { release, settle, relay } = options;
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

  return { pipes, pipeToTls, fromTls };
}
