/**
 * One guarded client connection and the HTTP/1.1 framing the guard follows on its side: the
 * request line and headers to the blank line, a `Content-Length` or chunked body, then the next
 * request, so the sweep knows which phase each connection is in and since when.
 * @module
 */

const LINE_KEPT = 1024;

/** No request in progress. */
export const IDLE = 0;
/** Reading a request line and headers. */
export const HEAD = 1;
/** Reading a request body. */
export const BODY = 2;
/** A request asked to upgrade; waiting for the answer's status. */
export const UPGRADING = 3;
/** After a `101`: bytes pass through unread and untimed. */
export const RAW = 4;

const CHUNK_SIZE = 0;
const CHUNK_EXT = 1;
const CHUNK_DATA = 2;
const CHUNK_DATA_END = 3;
const CHUNK_TRAILER = 4;

const LF = 10;
const CR = 13;
const COLON = 58;
const latin1 = new TextDecoder("latin1");

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** One client connection and the state of its requests. */
export class Guarded {
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
