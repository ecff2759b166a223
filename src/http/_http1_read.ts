/**
 * Reading an HTTP/1.1 answer from a connection for `http1.ts`: the head, then
 * the body by Content-Length, chunks, or up to the connection's end.
 * @module
 */
import { concatBytes } from "./body.ts";

/** The connection ended before a whole answer arrived. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
}

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
export class Reader {
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
export async function readAnswer(
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
