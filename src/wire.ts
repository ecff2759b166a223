/**
 * The contract between Server A and Server B, as zod schemas both sides import.
 * Server B validates requests with them; Server A validates Server B's answers with them.
 * @module
 */
import { z } from "zod";

/** Body of `POST /process` and `POST /stream`; its fields are also the MCP tools' inputs. */
export const ProcessRequest = z.object({
  message: z.string({ error: '"message" must be a string' }).min(1, '"message" must not be empty'),
  context: z.string({ error: '"context" must be a string' }).optional(),
  model: z.string({ error: '"model" must be a string' }).min(1).optional(),
  temperature: z.number({ error: '"temperature" must be a number' })
    .min(0, '"temperature" must be between 0 and 2')
    .max(2, '"temperature" must be between 0 and 2')
    .optional(),
  max_tokens: z.number({ error: '"max_tokens" must be an integer' })
    .int('"max_tokens" must be an integer')
    .min(1, '"max_tokens" must be between 1 and 200000')
    .max(200000, '"max_tokens" must be between 1 and 200000')
    .optional(),
});
/** A validated {@linkcode ProcessRequest}. */
export type ProcessRequest = z.infer<typeof ProcessRequest>;

type ProcessFields = typeof ProcessRequest.shape;

/**
 * An MCP tool input shape made of `ProcessRequest` fields, each with the tool's description: the
 * fields named in `descriptions`, with the same checks as `POST /process`.
 * @example
 * ```ts
 * const shape = processShape({ model: "New default model" }); // { model: optional string }
 * ```
 */
export function processShape<K extends keyof ProcessFields>(
  descriptions: Record<K, string>,
): Pick<ProcessFields, K> {
  const fields = ProcessRequest.shape;
  return Object.fromEntries(
    (Object.keys(descriptions) as K[]).map((key) => [key, fields[key].describe(descriptions[key])]),
  ) as Pick<ProcessFields, K>;
}

/** Token counts as the provider reported them. */
export const Usage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
});
/** A validated {@linkcode Usage}. */
export type Usage = z.infer<typeof Usage>;

/** Answer of `POST /process`, and the payload of the final `done` event of `POST /stream`. */
export const ProcessResponse = z.object({
  aiResponse: z.string(),
  model: z.string(),
  provider: z.string(),
  usage: Usage,
  estimatedCost: z.number().nullable(),
  responseTime: z.number(),
  messageId: z.string(),
  status: z.literal("success"),
});
/** A validated {@linkcode ProcessResponse}. */
export type ProcessResponse = z.infer<typeof ProcessResponse>;

/** Data of each unnamed SSE event of `POST /stream`: one text delta. */
export const StreamDelta = z.object({ text: z.string() });
/** A validated {@linkcode StreamDelta}. */
export type StreamDelta = z.infer<typeof StreamDelta>;

/**
 * The JSON error body of every 4xx/5xx answer, and the data of `event: error` on a stream.
 * `retryable` says whether the same request may be sent again (Server B's own overload, a rate
 * limit with `Retry-After`); false once Server B has retried the provider itself. `attempts`
 * counts the provider calls Server B made. Older Server Bs send neither.
 */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean().optional(),
    attempts: z.number().int().min(0).optional(),
  }),
});
/** A validated {@linkcode ErrorBody}. */
export type ErrorBody = z.infer<typeof ErrorBody>;

/** SSE event names on `POST /stream` besides the unnamed delta events. */
export const STREAM_EVENTS = { done: "done", error: "error" } as const;

/** Answer of `GET /health`. */
export const HealthResponse = z.object({
  status: z.literal("healthy"),
  server: z.string(),
  provider: z.string(),
  messagesProcessed: z.number().int(),
  ai: z.object({
    configured: z.boolean(),
    status: z.string(),
    reason: z.string().optional(),
  }),
});
/** A validated {@linkcode HealthResponse}. */
export type HealthResponse = z.infer<typeof HealthResponse>;

/** Answer of `GET /models`. */
export const ModelsResponse = z.object({
  provider: z.string(),
  defaultModel: z.string(),
  models: z.array(z.string()),
});
/** A validated {@linkcode ModelsResponse}. */
export type ModelsResponse = z.infer<typeof ModelsResponse>;

/** Answer of `GET /config`: never a key or secret. */
export const ConfigResponse = z.object({
  provider: z.string(),
  defaultModel: z.string(),
  temperature: z.number(),
  maxTokens: z.number().int(),
  baseUrl: z.string().optional(),
  region: z.string().optional(),
});
/** A validated {@linkcode ConfigResponse}. */
export type ConfigResponse = z.infer<typeof ConfigResponse>;
