/**
 * The shutdown side of `observe.ts`: tracks requests and their event streams so that a shutdown
 * lets them finish (up to a deadline), then ends streams with a final event and answers what is
 * left with 503.
 * @module
 */
import { describeError, type Logger } from "../core/mod.ts";
import { sseEvent } from "./sse.ts";

/** A request or event stream in progress. */
export interface Tracked {
  /** GET event streams and MCP `subscriptions/listen`: streams that never end by themselves. */
  subscription: boolean;
  /** Ends the stream with the final event; for a request, answers it with 503. */
  cut(): void;
}

/** How long connections may take to close after the deadline's final answers (a client still
 * uploading a refused body keeps its connection open for as long as it likes). */
const CLOSE_GRACE_MS = 2000;

/** How a tracked event stream ended. */
export type StreamEnd = "finished" | "cancelled" | "cut";

/** Tracks work in progress for {@linkcode Drain.shutdown}. */
export interface Drain {
  /** Whether {@linkcode Drain.shutdown} has begun. */
  readonly stopping: boolean;
  /** Requests and streams in progress. */
  readonly active: number;
  track(item: Tracked): void;
  untrack(item: Tracked): void;
  /** `response` with its event stream tracked; `done` is called once when it ends. */
  observeStream(
    response: Response,
    subscription: boolean,
    done: (how: StreamEnd) => void,
  ): Response;
  /** Stops `server`: what is tracked gets `timeoutMs` to finish, then is cut. */
  shutdown(server: Deno.HttpServer, timeoutMs: number): Promise<void>;
}

/** Creates the tracker of one server; `shutdownMessage` is the final `event: error`'s message. */
export function createDrain(log: Logger, shutdownMessage?: string): Drain {
  const tracked = new Set<Tracked>();
  let work = 0;
  let idleWaiters: (() => void)[] = [];
  let stopping = false;
  const finalEvent = () =>
    sseEvent({
      error: {
        code: "unavailable",
        message: shutdownMessage ?? "The server is shutting down",
      },
    }, "error");

  const track = (item: Tracked) => {
    tracked.add(item);
    if (!item.subscription) work++;
  };
  const untrack = (item: Tracked) => {
    if (!tracked.delete(item)) return;
    if (!item.subscription) work--;
    if (work === 0 && idleWaiters.length > 0) { for (const wake of idleWaiters.splice(0)) wake(); }
  };
  const whenIdle = () =>
    work === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));

  const observeStream = (
    response: Response,
    subscription: boolean,
    done: (how: StreamEnd) => void,
  ): Response => {
    const reader = response.body!.getReader();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let ended = false;
    const item: Tracked = {
      subscription,
      cut() {
        if (ended) return;
        ended = true;
        try {
          controller.enqueue(finalEvent());
          controller.close();
        } catch {
          // the consumer is already gone
        }
        reader.cancel(new Error("shutdown")).catch(() => {});
        untrack(item);
        done("cut");
      },
    };
    track(item);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      async pull(c) {
        let step: ReadableStreamReadResult<Uint8Array>;
        try {
          step = await reader.read();
        } catch (error) {
          if (ended) return;
          ended = true;
          untrack(item);
          done("finished");
          c.error(error);
          return;
        }
        if (ended) return;
        if (step.done) {
          ended = true;
          c.close();
          untrack(item);
          done("finished");
          return;
        }
        c.enqueue(step.value);
      },
      cancel(reason) {
        if (!ended) {
          ended = true;
          untrack(item);
          done("cancelled");
        }
        return reader.cancel(reason);
      },
    });
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  return {
    get stopping() {
      return stopping;
    },
    get active() {
      return tracked.size;
    },
    track,
    untrack,
    observeStream,
    async shutdown(server: Deno.HttpServer, timeoutMs: number) {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", {
        inFlight: work,
        subscriptions: tracked.size - work,
        timeoutSeconds: timeoutMs / 1000,
      });
      const drained = server.shutdown();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([whenIdle().then(() => "idle" as const), timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        log.warn("shutdown deadline passed, ending what is left", { inFlight: work });
      }
      for (const item of [...tracked]) item.cut();
      idleWaiters = [];
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<"stuck">((resolve) => {
        graceTimer = setTimeout(() => resolve("stuck"), CLOSE_GRACE_MS);
      });
      try {
        const closed = await Promise.race([drained.then(() => "closed" as const), grace]);
        if (closed === "stuck") {
          log.warn("connections still open after the shutdown deadline; not waiting for them", {
            graceMs: CLOSE_GRACE_MS,
          });
        }
      } catch (error) {
        log.warn("server shutdown failed", { error: describeError(error) });
      } finally {
        clearTimeout(graceTimer);
      }
    },
  };
}
