/**
 * A lean HTTP/1.1 client for small request/answer exchanges with one origin, over a pool of
 * keep-alive connections (TCP, or TLS for `https:`). It costs about a third of `fetch`'s CPU per
 * call (`deno task bench`), which matters on Server A's single-threaded relay path. Answers are
 * read whole (Content-Length, chunked, or up to the connection's end) and returned as a
 * `Response`; event streams stay with `fetch`. A reused connection that fails before any byte of
 * its answer (the server closed it while idle) is replaced once by a new one. No proxy support:
 * use `fetch` behind a proxy.
 * @module
 */
import { concatBytes } from "./body.ts";

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

/** The connection ended before a whole answer arrived. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLFCRLF = [13, 10, 13, 10];
const READ_SIZE = 16 * 1024;

function indexOfSequence(buffer: Uint8Array, sequence: number[], from: number): number {
  const last = buffer.length - sequence.length;
  outer: for (let i = Math.max(0, from); i <= last; i++) {
    for (let j = 0; j < sequence.length; j++) {
      if (buffer[i + j] !== sequence[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** Bytes read from one connection into one growing buffer, consumed from the front. */
class Reader {
  #buffer = new Uint8Array(READ_SIZE);
  #start = 0;
  #end = 0;
  /** Whether any byte of the answer has arrived (a failure before that may be retried). */
  received = false;

  constructor(readonly conn: Deno.Conn, readonly limit: number) {}

  get available(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /** Reads more bytes; false at the end of the connection. */
  async fill(): Promise<boolean> {
    if (this.#end === this.#buffer.length) {
      const kept = this.#end - this.#start;
      if (kept >= this.limit) throw new Error(`the answer is larger than ${this.limit} bytes`);
      const target = kept * 2 > this.#buffer.length
        ? new Uint8Array(Math.min(this.#buffer.length * 2, this.limit + 1))
        : this.#buffer;
      target.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = target;
      this.#start = 0;
      this.#end = kept;
    }
    const n = await this.conn.read(this.#buffer.subarray(this.#end));
    if (n === null) return false;
    this.received = true;
    this.#end += n;
    return true;
  }

  take(n: number): Uint8Array {
    const out = this.#buffer.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Bytes up to (and without) `sequence`, which is consumed too. */
  async until(sequence: number[]): Promise<Uint8Array> {
    let searched = 0;
    for (;;) {
      const at = indexOfSequence(this.available, sequence, searched);
      if (at >= 0) {
        const out = this.take(at);
        this.take(sequence.length);
        return out;
      }
      searched = Math.max(0, this.available.length - sequence.length + 1);
      if (!(await this.fill())) {
        throw new ConnectionClosedError("connection closed before the answer was complete");
      }
    }
  }

  async exactly(n: number): Promise<Uint8Array> {
    while (this.available.length < n) {
      if (!(await this.fill())) {
        throw new ConnectionClosedError("connection closed before the answer was complete");
      }
    }
    return this.take(n).slice();
  }

  async rest(): Promise<Uint8Array> {
    while (await this.fill()) { /* read to the end */ }
    return this.take(this.available.length).slice();
  }
}

interface Head {
  status: number;
  statusText: string;
  headers: Headers;
}

function parseHead(bytes: Uint8Array): Head {
  const lines = decoder.decode(bytes).split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!match) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(lines[0]?.slice(0, 80))}`);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Error(`a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), statusText: match[2] ?? "", headers };
}

async function readChunked(reader: Reader): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const line = decoder.decode(await reader.until([13, 10]));
    const size = parseInt(line.split(";")[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) {
      throw new Error(`a malformed chunk size ${JSON.stringify(line)}`);
    }
    if (size === 0) {
      while ((await reader.until([13, 10])).length > 0) { /* trailers */ }
      break;
    }
    total += size;
    if (total > reader.limit) throw new Error(`the answer is larger than ${reader.limit} bytes`);
    parts.push(await reader.exactly(size));
    await reader.until([13, 10]);
  }
  return concatBytes(parts, total);
}

/** Reads one answer; `reusable` says whether the connection may carry another request. */
async function readAnswer(
  reader: Reader,
  method: string,
): Promise<{ response: Response; reusable: boolean }> {
  let head: Head;
  do {
    head = parseHead(await reader.until(CRLFCRLF));
  } while (head.status >= 100 && head.status < 200);
  const { status, headers } = head;
  let reusable = !/\bclose\b/i.test(headers.get("connection") ?? "");
  let body: Uint8Array | null;
  if (method === "HEAD" || status === 204 || status === 304) {
    body = null;
  } else if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) {
    body = await readChunked(reader);
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!Number.isSafeInteger(length) || length < 0) throw new Error("a malformed Content-Length");
    if (length > reader.limit) throw new Error(`the answer is larger than ${reader.limit} bytes`);
    body = await reader.exactly(length);
  } else {
    body = await reader.rest();
    reusable = false;
  }
  if (reader.available.length > 0) reusable = false;
  const response = new Response(body as BodyInit | null, {
    status,
    statusText: head.statusText,
    headers,
  });
  return { response, reusable };
}

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
