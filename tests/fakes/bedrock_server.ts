/**
 * A local Bedrock Runtime server: `POST /model/{modelId}/converse` (JSON) and
 * `/model/{modelId}/converse-stream` in the AWS event-stream framing built with
 * `@smithy/eventstream-codec`, AWS's error shape (`x-amzn-ErrorType`), and in-stream exception
 * events after HTTP 200, all scripted per call with {@linkcode FakePlan}s.
 * @module
 */
import { EventStreamCodec, type MessageHeaders } from "@smithy/eventstream-codec";
import { DEFAULT_PLAN, type FakePlan, type FakeServer, frameStream, startFake } from "./_fake.ts";

export type { FakeCall, FakePlan, FakeServer } from "./_fake.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const codec = new EventStreamCodec((bytes) => decoder.decode(bytes), (s) => encoder.encode(s));

function str(value: string) {
  return { type: "string" as const, value };
}

/** One event-stream frame: an `event` (`messageStart`, ...) or an `exception`. */
export function eventFrame(
  kind: "event" | "exception",
  type: string,
  payload: unknown,
): Uint8Array {
  const headers: MessageHeaders = {
    ":message-type": str(kind),
    [kind === "event" ? ":event-type" : ":exception-type"]: str(type),
    ":content-type": str("application/json"),
  };
  return codec.encode({ headers, body: encoder.encode(JSON.stringify(payload)) });
}

function errorResponse(status: number, plan: FakePlan): Response {
  const name = plan.error ?? "InternalServerException";
  return Response.json({ message: plan.message ?? `Fake ${name}` }, {
    status,
    headers: {
      "x-amzn-errortype": `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      "x-amzn-requestid": crypto.randomUUID(),
      ...(plan.headers ?? {}),
    },
  });
}

/** The model ID of a call's path, decoded (`/model/us.anthropic...:0/converse`). */
export function modelIdOf(path: string): string | undefined {
  return path.match(/^\/model\/(.+)\/converse(?:-stream)?$/)?.[1];
}

/**
 * Starts the fake on a free port; point `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` at its `url`.
 * @example
 * ```ts
 * await using fake = await startFakeBedrock();
 * fake.plan({ pieces: ["Hi", "!"], failAfter: 1, failWith: "modelStreamErrorException" });
 * ```
 */
export function startFakeBedrock(): Promise<FakeServer> {
  return startFake((request, call, plan, markAborted) => {
    const modelId = modelIdOf(call.path);
    if (!modelId || request.method !== "POST") {
      return Promise.resolve(errorResponse(404, { error: "UnknownOperationException" }));
    }
    if (plan.status) return Promise.resolve(errorResponse(plan.status, plan));
    const pieces = plan.pieces ?? DEFAULT_PLAN.pieces;
    const usage = plan.usage ?? DEFAULT_PLAN.usage;
    const usageBody = {
      inputTokens: usage.input,
      outputTokens: usage.output,
      totalTokens: usage.input + usage.output,
    };
    const headers = { "x-amzn-requestid": crypto.randomUUID(), ...(plan.headers ?? {}) };

    if (call.path.endsWith("/converse")) {
      return Promise.resolve(Response.json({
        output: { message: { role: "assistant", content: [{ text: pieces.join("") }] } },
        stopReason: "end_turn",
        usage: usageBody,
        metrics: { latencyMs: 42 },
      }, { headers }));
    }

    const body = frameStream(async (send, close) => {
      send(eventFrame("event", "messageStart", { role: "assistant", p: "abcd" }));
      for (const [i, piece] of pieces.entries()) {
        if (plan.failAfter === i) {
          if (plan.failWith === "cut") return close();
          send(eventFrame("exception", plan.failWith ?? "modelStreamErrorException", {
            message: plan.message ?? "The model failed while streaming",
          }));
          return close();
        }
        send(eventFrame("event", "contentBlockDelta", {
          contentBlockIndex: 0,
          delta: { text: piece },
          p: "abcd",
        }));
        if (i === 0 && plan.hold) await plan.hold;
      }
      send(eventFrame("event", "contentBlockStop", { contentBlockIndex: 0, p: "abcd" }));
      send(eventFrame("event", "messageStop", { stopReason: "end_turn", p: "abcd" }));
      send(eventFrame("event", "metadata", { usage: usageBody, metrics: { latencyMs: 42 } }));
      close();
    }, markAborted);
    return Promise.resolve(
      new Response(body, {
        headers: { "content-type": "application/vnd.amazon.eventstream", ...headers },
      }),
    );
  });
}
