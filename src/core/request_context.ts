/**
 * The request being served, as code it calls sees it: its ID and trace span, carried through
 * async calls (`AsyncLocalStorage`), and the `traceparent` of calls made while serving it.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { formatTraceparent, startSpan, type TraceContext } from "./trace.ts";

/** The request being served, as seen from code it calls. */
export interface RequestContext {
  requestId: string;
  /** This server's span; its `spanId` is the parent of any call made while serving. */
  trace: TraceContext;
  /** The caller's span, when it sent a valid `traceparent`. */
  parentSpanId?: string | undefined;
}

/** The IDs of `context` as log fields: requestId, traceId, spanId and, when known, parentSpanId. */
export function contextFields(context: RequestContext): Record<string, string> {
  return {
    requestId: context.requestId,
    traceId: context.trace.traceId,
    spanId: context.trace.spanId,
    ...(context.parentSpanId ? { parentSpanId: context.parentSpanId } : {}),
  };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request whose handling is running now, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * The `traceparent` for a call made now: a child of the request being served, or the root of a
 * new trace when there is none (stdio).
 */
export function outgoingTraceparent(): string {
  return formatTraceparent(currentRequest()?.trace ?? startSpan());
}

/**
 * Runs `fn` in a new span: a child of the request being served, or the root of a new trace (a
 * stdio tool call). Calls made inside send this span as their `traceparent` parent.
 */
export function runInSpan<T>(
  fn: (context: RequestContext) => Promise<T>,
): Promise<T> {
  const parent = currentRequest();
  const context: RequestContext = {
    requestId: parent?.requestId ?? crypto.randomUUID(),
    trace: startSpan(parent?.trace),
    parentSpanId: parent?.trace.spanId,
  };
  return storage.run(context, () => fn(context));
}

/** Runs `fn` with `context` as the request being served. */
export function runInContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}
