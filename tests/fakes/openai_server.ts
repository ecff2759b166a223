/**
 * A local OpenAI-compatible server: `POST /v1/chat/completions`, plain JSON and SSE streaming
 * (with `stream_options.include_usage`), OpenAI's error bodies, in-stream errors and cut
 * connections, all scripted per call with {@linkcode FakePlan}s.
 * @module
 */
import { DEFAULT_PLAN, type FakePlan, type FakeServer, frameStream, startFake } from "./_fake.ts";

export type { FakeCall, FakePlan, FakeServer } from "./_fake.ts";

/** Options of {@linkcode startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** When set, any other bearer token gets OpenAI's 401 `invalid_api_key`. */
  apiKey?: string;
}

const encoder = new TextEncoder();

function errorType(status: number, code: string | undefined): string {
  if (code === "insufficient_quota") return "insufficient_quota";
  if (status === 401) return "invalid_request_error";
  if (status === 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

function errorResponse(status: number, plan: FakePlan): Response {
  const code = plan.error ?? null;
  return Response.json({
    error: {
      message: plan.message ?? `Fake failure ${status}`,
      type: errorType(status, plan.error),
      param: null,
      code,
    },
  }, { status, headers: plan.headers ?? {} });
}

/**
 * Starts the fake on a free port; point the SDK at `${url}/v1`.
 * @example
 * ```ts
 * await using fake = await startFakeOpenAI();
 * fake.plan({ status: 429, error: "rate_limit_exceeded", headers: { "retry-after": "0" } });
 * ```
 */
export function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeServer> {
  return startFake((request, call, plan, markAborted) => {
    if (call.path !== "/v1/chat/completions" || request.method !== "POST") {
      return Promise.resolve(Response.json({ error: { message: "Not found" } }, { status: 404 }));
    }
    const auth = request.headers.get("authorization") ?? "";
    if (options.apiKey && auth !== `Bearer ${options.apiKey}`) {
      const given = auth.replace(/^Bearer /, "");
      return Promise.resolve(errorResponse(401, {
        error: "invalid_api_key",
        message: `Incorrect API key provided: ${given.slice(0, 3)}*****${
          given.slice(-4)
        }. You can find your API key at https://platform.openai.com/account/api-keys.`,
      }));
    }
    if (plan.status) return Promise.resolve(errorResponse(plan.status, plan));

    const model = String(call.body?.model ?? "gpt-4o-mini");
    const pieces = plan.pieces ?? DEFAULT_PLAN.pieces;
    const usage = plan.usage ?? DEFAULT_PLAN.usage;
    const usageBody = {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    };
    const id = `chatcmpl-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);

    if (!call.body?.stream) {
      return Promise.resolve(Response.json({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: pieces.join(""), refusal: null },
          logprobs: null,
          finish_reason: "stop",
        }],
        usage: usageBody,
      }, { headers: plan.headers ?? {} }));
    }

    const includeUsage = call.body?.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra = {}) =>
      encoder.encode(
        `data: ${
          JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
            ...extra,
          })
        }\n\n`,
      );
    const body = frameStream(async (send, close) => {
      send(chunk({ role: "assistant", content: "" }, null));
      for (const [i, piece] of pieces.entries()) {
        if (plan.failAfter === i) {
          if (plan.failWith === "cut") return close();
          send(encoder.encode(
            `data: ${
              JSON.stringify({
                error: {
                  message: plan.message ?? "The server had an error while processing your request.",
                  type: "server_error",
                  param: null,
                  code: null,
                },
              })
            }\n\n`,
          ));
          return close();
        }
        send(chunk({ content: piece }, null));
        if (i === 0 && plan.hold) await plan.hold;
      }
      send(chunk({}, "stop"));
      if (includeUsage) {
        send(encoder.encode(
          `data: ${
            JSON.stringify({
              id,
              object: "chat.completion.chunk",
              created,
              model,
              choices: [],
              usage: usageBody,
            })
          }\n\n`,
        ));
      }
      send(encoder.encode("data: [DONE]\n\n"));
      close();
    }, markAborted);
    return Promise.resolve(
      new Response(body, {
        headers: { "content-type": "text/event-stream", ...(plan.headers ?? {}) },
      }),
    );
  });
}
