/**
 * What the local provider servers share: a queue of scripted behaviours (plans), a record of
 * every call, and abort detection.
 * @module
 */

import { serveOnLoopback } from "../_serve.ts";

/** One scripted behaviour of a fake provider, used for one call. */
export interface FakePlan {
  /** The answer, sent in these pieces when streamed (joined otherwise). */
  pieces?: string[];
  /** Token counts the fake reports. */
  usage?: { input: number; output: number };
  /** Fail the call with this HTTP status. */
  status?: number;
  /** The error: OpenAI `error.code` (e.g. `insufficient_quota`), Bedrock exception name. */
  error?: string;
  /** The error's message. */
  message?: string;
  /** Extra response headers (e.g. `retry-after`). */
  headers?: Record<string, string>;
  /** Streaming: after the first piece, wait for this before sending the rest. */
  hold?: Promise<unknown>;
  /** Streaming: fail in the stream after this many pieces. */
  failAfter?: number;
  /**
   * How to fail in the stream: `"cut"` (the body ends early, without the end of the answer),
   * else OpenAI an SSE error event, Bedrock this exception event (`throttlingException`, ...).
   */
  failWith?: string;
  /** Send the headers, then nothing: the call ends only when the client gives up. */
  hang?: boolean;
}

/** One request the fake received. */
export interface FakeCall {
  path: string;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  /** Whether the client went away before the fake finished its answer. */
  aborted: boolean;
}

/** A running fake provider. */
export interface FakeServer extends AsyncDisposable {
  /** Base URL (`http://127.0.0.1:PORT`). */
  url: string;
  /** Every call, in order. */
  calls: FakeCall[];
  /** Queues plans, one per coming call; with the queue empty a call gets the default answer. */
  plan(...plans: FakePlan[]): void;
  /** Resolves with the first call the client abandons. */
  aborted(): Promise<FakeCall>;
  close(): Promise<void>;
}

/** The answer a fake gives when no plan is queued. */
export const DEFAULT_PLAN: Required<Pick<FakePlan, "pieces" | "usage">> = {
  pieces: ["Hello", " from", " the", " fake."],
  usage: { input: 1200, output: 340 },
};

/** What a fake's protocol module supplies to {@linkcode startFake}. */
export type FakeHandler = (
  request: Request,
  call: FakeCall,
  plan: FakePlan,
  markAborted: () => void,
) => Promise<Response>;

/** Starts a fake on a free loopback port with the protocol `handle`. */
export async function startFake(handle: FakeHandler): Promise<FakeServer> {
  const calls: FakeCall[] = [];
  const queue: FakePlan[] = [];
  const abortWaiter = Promise.withResolvers<FakeCall>();
  const served = await serveOnLoopback(async (request) => {
    const text = await request.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* kept as text */ }
    const call: FakeCall = {
      path: decodeURIComponent(new URL(request.url).pathname),
      headers: request.headers,
      body,
      aborted: false,
    };
    calls.push(call);
    const markAborted = () => {
      if (call.aborted) return;
      call.aborted = true;
      abortWaiter.resolve(call);
    };
    const plan = queue.shift() ?? {};
    if (plan.hang) {
      const stalled = frameStream(() => new Promise(() => {}), markAborted);
      return new Response(stalled, { headers: { "content-type": "application/json" } });
    }
    return await handle(request, call, plan, markAborted);
  });
  return {
    url: served.url,
    calls,
    plan: (...plans) => queue.push(...plans),
    aborted: () => abortWaiter.promise,
    close: served.stop,
    [Symbol.asyncDispose]: served.stop,
  };
}

/**
 * A streamed body whose bytes `produce` sends as it goes; `cancel` (the client went away) marks
 * the call aborted.
 */
export function frameStream(
  produce: (send: (bytes: Uint8Array) => void, close: () => void) => Promise<void>,
  markAborted: () => void,
): ReadableStream<Uint8Array> {
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (bytes: Uint8Array) => {
        if (!closed) controller.enqueue(bytes);
      };
      const close = () => {
        if (closed) return;
        closed = true;
        controller.close();
      };
      produce(send, close).catch((error) => {
        if (!closed) {
          closed = true;
          controller.error(error);
        }
      });
    },
    cancel() {
      closed = true;
      markAborted();
    },
  });
}
