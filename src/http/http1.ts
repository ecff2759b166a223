/**
 * A lean HTTP/1.1 client for small request/answer exchanges with one origin, over a pool of
 * keep-alive connections (TCP, or TLS for `https:`). Against `fetch` it saves Server A 12-18% of
 * its CPU per tools/call (`deno task bench --ablations`) on its single-threaded relay path.
 * Answers are read whole (Content-Length, chunked, or up to the connection's end) and returned
 * as a `Response`; event streams stay with `fetch`. A reused connection that fails before any byte of
 * its answer (the server closed it while idle) is replaced once by a new one. No proxy support:
 * use `fetch` behind a proxy.
 * @module
 */
import { readAnswer, Reader } from "./_http1_read.ts";

export { ConnectionClosedError } from "./_http1_read.ts";

/** Options of {@linkcode createHttp1Pool}. */
export interface Http1PoolOptions {
  /** PEM CA certificates trusted for an `https:` origin, besides the system's. */
  caCerts?: string[] | undefined;
  /** Idle connections kept open (default 64). */
  maxIdle?: number;
  /** Largest answer read, in bytes (default 64 MiB). */
  maxAnswerBytes?: number;
}

/** What {@linkcode Http1Pool.request} sends. */
export interface Http1Request {
  method: string;
  /** Path and query, e.g. `/process`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal | undefined;
}

/** A pool of connections to one origin. */
export interface Http1Pool {
  /** Sends one request and reads its whole answer. Network errors reject as Deno's do. */
  request(request: Http1Request): Promise<Response>;
  /** Closes every connection, idle or busy. */
  close(): void;
}

const encoder = new TextEncoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * Creates a pool for the origin of `url` (`http:` or `https:`).
 * @example
 * ```ts
 * const pool = createHttp1Pool("http://127.0.0.1:8000");
 * const response = await pool.request({ method: "GET", path: "/health", headers: {} });
 * await response.json();
 * pool.close();
 * ```
 */
export function createHttp1Pool(url: string | URL, options: Http1PoolOptions = {}): Http1Pool {
  const origin = new URL(url);
  const tls = origin.protocol === "https:";
  if (!tls && origin.protocol !== "http:") throw new TypeError(`not an http(s) URL: ${origin}`);
  const hostname = origin.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(origin.port || (tls ? 443 : 80));
  const maxIdle = options.maxIdle ?? 64;
  const limit = options.maxAnswerBytes ?? 64 * 1024 * 1024;
  const idle: Deno.Conn[] = [];
  const open = new Set<Deno.Conn>();
  let closed = false;

  const connect = async (): Promise<Deno.Conn> => {
    const conn = tls
      ? await Deno.connectTls({
        hostname,
        port,
        ...(options.caCerts?.length ? { caCerts: options.caCerts } : {}),
      })
      : await Deno.connect({ hostname, port });
    if (!tls) (conn as Deno.TcpConn).setNoDelay(true);
    open.add(conn);
    return conn;
  };
  const discard = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  /** Connects, or rejects at once when `signal` aborts (a connection made later is closed). */
  const connectUnless = (signal: AbortSignal | undefined): Promise<Deno.Conn> => {
    const pending = connect();
    if (!signal) return pending;
    return new Promise((resolve, reject) => {
      const abort = () => {
        reject(signal.reason);
        pending.then(discard, () => {});
      };
      signal.addEventListener("abort", abort, { once: true });
      pending.then((conn) => {
        signal.removeEventListener("abort", abort);
        if (signal.aborted) discard(conn);
        else resolve(conn);
      }, (error) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      });
    });
  };
  const release = (conn: Deno.Conn) => {
    if (closed || idle.length >= maxIdle) discard(conn);
    else idle.push(conn);
  };

  const exchange = async (conn: Deno.Conn, bytes: Uint8Array, request: Http1Request) => {
    const reader = new Reader(conn, limit);
    const signal = request.signal;
    const abort = () => discard(conn);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      await writeAll(conn, bytes);
      const { response, reusable } = await readAnswer(reader, request.method);
      if (reusable) release(conn);
      else discard(conn);
      return response;
    } catch (error) {
      discard(conn);
      if (signal?.aborted) throw signal.reason;
      throw Object.assign(error as Error, { beforeAnswer: !reader.received });
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  };

  return {
    async request(request) {
      request.signal?.throwIfAborted();
      if (closed) throw new Error("the connection pool is closed");
      let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${origin.host}\r\n`;
      for (const [name, value] of Object.entries(request.headers)) {
        if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
          throw new TypeError(`header ${JSON.stringify(name)} holds a line break`);
        }
        head += `${name}: ${value}\r\n`;
      }
      const body = request.body === undefined ? undefined : encoder.encode(request.body);
      if (body) head += `content-length: ${body.length}\r\n`;
      head += "\r\n";
      const headBytes = encoder.encode(head);
      const bytes = body ? new Uint8Array(headBytes.length + body.length) : headBytes;
      if (body) {
        bytes.set(headBytes);
        bytes.set(body, headBytes.length);
      }
      const reused = idle.pop();
      if (reused) {
        try {
          return await exchange(reused, bytes, request);
        } catch (error) {
          if (request.signal?.aborted || !(error as { beforeAnswer?: boolean }).beforeAnswer) {
            throw error;
          }
        }
      }
      return await exchange(await connectUnless(request.signal), bytes, request);
    },
    close() {
      closed = true;
      idle.length = 0;
      for (const conn of [...open]) discard(conn);
    },
  };
}
