/**
 * Starting an HTTP server the way every mcpcomm server does: `Deno.serve`, wait for the listening
 * address, show it as a URL, and name the setting when the address cannot be bound.
 * @module
 */
import { ConfigError } from "./errors.ts";
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
}

/** A server that listens. */
export interface Listening {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** The bound address (the real port when 0 was asked). */
  addr: Deno.NetAddr;
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
 * {@linkcode ConfigError} naming `portSetting` and the address.
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
  const scheme = options.tls ? "https" : "http";
  return { server, addr, url: `${scheme}://${displayHost(addr.hostname)}:${addr.port}` };
}
