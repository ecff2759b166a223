/**
 * A fake Server B for Server A's tests: a small `Deno.serve` handler on a free loopback port
 * that records every request it receives.
 * @module
 */
import type { ProcessResponse } from "../../src/wire.ts";

/** One request as the fake received it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Headers;
  body: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/** A running fake Server B. */
export interface FakeB extends AsyncDisposable {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Handles the `n`th request (from 1) of the fake. */
export type FakeHandler = (
  request: Request,
  n: number,
  seen: SeenRequest,
) => Response | Promise<Response>;

/** Starts a fake Server B on a free loopback port (or `port`). */
export function startFakeB(handler: FakeHandler, port = 0): Promise<FakeB> {
  const requests: SeenRequest[] = [];
  const controller = new AbortController();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    signal: controller.signal,
    onListen: (addr) => listening.resolve(addr),
  }, async (request) => {
    const seen: SeenRequest = {
      method: request.method,
      path: new URL(request.url).pathname,
      headers: request.headers,
      body: await request.text(),
      at: performance.now(),
    };
    requests.push(seen);
    return handler(request, requests.length, seen);
  });
  return listening.promise.then((addr) => {
    const close = async () => {
      controller.abort();
      await server.finished;
    };
    return {
      url: `http://127.0.0.1:${addr.port}`,
      port: addr.port,
      requests,
      close,
      [Symbol.asyncDispose]: close,
    };
  });
}

/**
 * A fake Server B that never answers: `arrived` settles on the first request, `disconnected`
 * when its caller goes away.
 */
export async function startSilentFakeB(): Promise<
  FakeB & { arrived: Promise<void>; disconnected: Promise<void> }
> {
  const arrived = Promise.withResolvers<void>();
  const disconnected = Promise.withResolvers<void>();
  const fake = await startFakeB((request) => {
    arrived.resolve();
    request.signal.addEventListener("abort", () => disconnected.resolve());
    return new Promise<Response>(() => {});
  });
  return { ...fake, arrived: arrived.promise, disconnected: disconnected.promise };
}

export { freePort } from "../_helpers.ts";

/** A valid `POST /process` answer for `message`. */
export function answerFor(message: string, n = 1): ProcessResponse {
  return {
    aiResponse: `answer ${n} to ${message}`,
    model: "fake-model",
    provider: "fake",
    usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
    estimatedCost: 0.001,
    responseTime: 0.01,
    messageId: `m-${n}`,
    status: "success",
  };
}

/** A JSON error answer as Server B sends it; `advice` adds `retryable` and `attempts`. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  advice: { retryable?: boolean; attempts?: number } = {},
): Response {
  return Response.json({ error: { code, message, ...advice } }, { status, headers });
}

/** An SSE answer made of `events` (`[event name or "", data]`), optionally cut short. */
export function sseAnswer(events: [string, unknown][]): Response {
  const text = events.map(([event, data]) =>
    `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`
  ).join("");
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}
