/**
 * Starting an HTTP server the way every mcpcomm server does: `Deno.serve` behind the connection
 * guard of `conn_guard.ts` (read timeout, connections per address), wait for the listening
 * address, show it as a URL, and name the setting when the address cannot be bound.
 * @module
 */
import {
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_READ_TIMEOUT_SECONDS,
  serveGuarded,
} from "./_conn_guard.ts";
import { ConfigError, type Logger } from "../core/mod.ts";
import { isLoopbackHost } from "./hosts.ts";
import { type TlsFiles, withTlsErrors } from "./tls.ts";

/** What {@linkcode listen} binds. */
export interface ListenOptions {
  hostname: string;
  port: number;
  /** The setting the port comes from, e.g. `HTTP_PORT`: named when binding fails. */
  portSetting: string;
  /** The setting the host comes from, e.g. `HTTP_HOST`: named when the address is not local. */
  hostSetting?: string | undefined;
  /** Certificate and key (PEM) to serve HTTPS; a pair that does not fit names both settings. */
  tls?: TlsFiles | undefined;
  signal?: AbortSignal | undefined;
  onError?: ((error: unknown) => Response | Promise<Response>) | undefined;
  /** Seconds a request's headers, its body or an idle connection may take (`READ_TIMEOUT_SECONDS`). */
  readTimeoutSeconds?: number | undefined;
  /** Most connections from one client address (`MAX_CONNECTIONS_PER_ADDRESS`). */
  maxConnectionsPerAddress?: number | undefined;
  /** Where the guard logs refused connections. */
  log?: Logger | undefined;
}

/** A server that listens. */
export interface Listening {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** The bound address (the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Whether the connection guard stands in front of `Deno.serve`. */
  guarded: boolean;
  /** Base URL to show and connect to, e.g. `http://127.0.0.1:8000` for a `0.0.0.0` bind. */
  url: string;
}

/** The host part of a URL for a bound address: `0.0.0.0` shows as `127.0.0.1`, IPv6 in brackets. */
export function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

function bindError(error: unknown, options: ListenOptions): unknown {
  const where = `${displayHost(options.hostname)}:${options.port}`;
  const change = `choose another port with ${options.portSetting}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new ConfigError(
      `${options.portSetting}: ${where} is already in use (another process listens there); ${change}`,
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new ConfigError(
      `${
        options.hostSetting ?? "The host"
      }: cannot listen on ${where}, an address this machine does not have`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied && options.port > 0 && options.port < 1024) {
    return new ConfigError(
      `${options.portSetting}: port ${options.port} needs privileges to bind; ${change} (1024 or above)`,
    );
  }
  return error;
}

/**
 * Serves `handler` and resolves once it listens. A port in use (or another bind failure) throws a
 * {@linkcode ConfigError} naming `portSetting` and the address. The connection guard stands in
 * front on a non-loopback bind, where remote clients can reach the port, unless both
 * `readTimeoutSeconds` and `maxConnectionsPerAddress` are 0 (e.g. behind nginx); a loopback bind
 * serves only local processes, which it would not limit, so it goes without the guard's cost.
 * @example
 * ```ts
 * const { server, url } = await listen(
 *   { hostname: "127.0.0.1", port: 0, portSetting: "HTTP_PORT" },
 *   () => new Response("ok"),
 * );
 * ```
 */
export async function listen(
  options: ListenOptions,
  handler: Deno.ServeHandler<Deno.NetAddr>,
): Promise<Listening> {
  const readTimeoutSeconds = options.readTimeoutSeconds ?? DEFAULT_READ_TIMEOUT_SECONDS;
  const maxPerAddress = options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const scheme = options.tls ? "https" : "http";
  if (!isLoopbackHost(options.hostname) && (readTimeoutSeconds > 0 || maxPerAddress > 0)) {
    const { tls, hostname, port } = options;
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname, port });
    } catch (error) {
      throw bindError(error, options);
    }
    let tlsListener: Deno.TlsListener | undefined;
    try {
      tlsListener = withTlsErrors(tls, () =>
        tls &&
        Deno.listenTls({ ...tls, hostname: "127.0.0.1", port: 0, alpnProtocols: ["http/1.1"] }));
    } catch (error) {
      listener.close();
      throw error;
    }
    const server = await serveGuarded({
      listener,
      tlsListener,
      readTimeoutMs: readTimeoutSeconds * 1000,
      maxPerAddress,
      log: options.log,
      signal: options.signal,
      onError: options.onError,
    }, handler);
    const addr = server.addr;
    return {
      server,
      addr,
      guarded: true,
      url: `${scheme}://${displayHost(addr.hostname)}:${addr.port}`,
    };
  }
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = withTlsErrors(options.tls, () =>
      Deno.serve({
        ...(options.tls ?? {}),
        hostname: options.hostname,
        port: options.port,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
        onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
      }, handler));
  } catch (error) {
    throw bindError(error, options);
  }
  const addr = await listening.promise;
  return {
    server,
    addr,
    guarded: false,
    url: `${scheme}://${displayHost(addr.hostname)}:${addr.port}`,
  };
}
