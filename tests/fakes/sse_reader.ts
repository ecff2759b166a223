/**
 * Reads an SSE response event by event with `eventsource-parser`, so a test can act between
 * events (`readSse` in tests/_helpers.ts reads the whole body at once).
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** An SSE response read one event at a time. */
export interface SseReader {
  /** The next event, or `undefined` at the end of the body. */
  next(): Promise<EventSourceMessage | undefined>;
  /** Every remaining event. */
  rest(): Promise<EventSourceMessage[]>;
  /** Stops reading and closes the connection. */
  cancel(): Promise<void>;
}

/** Wraps a streaming `Response` in an {@linkcode SseReader}. */
export function sseReader(response: Response): SseReader {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const ready: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => ready.push(event) });
  let ended = false;
  const next = async (): Promise<EventSourceMessage | undefined> => {
    while (ready.length === 0 && !ended) {
      const { done, value } = await reader.read();
      if (done) ended = true;
      else parser.feed(decoder.decode(value, { stream: true }));
    }
    return ready.shift();
  };
  return {
    next,
    async rest() {
      const events: EventSourceMessage[] = [];
      for (let e = await next(); e; e = await next()) events.push(e);
      return events;
    },
    cancel: () => reader.cancel(),
  };
}

/**
 * Resolves as `promise` does, or rejects with `message` after `ms`: turns "never happens" (a
 * buffered stream) into a failure instead of a hung test. The bound is generous, not a timing.
 */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
