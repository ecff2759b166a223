/**
 * The AWS Bedrock provider: Converse and ConverseStream through
 * `npm:@aws-sdk/client-bedrock-runtime`. Credentials: explicit keys, else `AWS_PROFILE`, else the
 * SDK's default chain (instance or container role). The SDK never retries (`maxAttempts: 1`):
 * Server B's service is the one layer that does.
 * @module
 */
import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  ConverseCommand,
  type ConverseCommandInput,
  ConverseStreamCommand,
  type ConverseStreamOutput,
  type TokenUsage,
} from "@aws-sdk/client-bedrock-runtime";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { describeError, ProviderError, type ProviderErrorKind } from "../core/mod.ts";
import { BEDROCK_MODEL_IDS, pricedModels } from "./pricing.ts";
import { abortWhenAbandoned, incompleteStream } from "./_stream.ts";
import type { Completion, CompletionRequest, Provider } from "./types.ts";

/** The full Bedrock model ID of a short name (`claude-3.5-haiku`); other names pass unchanged. */
export function resolveBedrockModel(model: string): string {
  return Object.hasOwn(BEDROCK_MODEL_IDS, model) ? BEDROCK_MODEL_IDS[model]! : model;
}

const kinds: Record<string, ProviderErrorKind> = {
  ThrottlingException: "rate_limit",
  ServiceUnavailableException: "unavailable",
  InternalServerException: "unavailable",
  ModelNotReadyException: "unavailable",
  ModelStreamErrorException: "unavailable",
  ModelErrorException: "other",
  ModelTimeoutException: "timeout",
  ServiceQuotaExceededException: "quota",
  ValidationException: "bad_request",
  ResourceNotFoundException: "bad_request",
  ConflictException: "bad_request",
  AccessDeniedException: "auth",
  UnrecognizedClientException: "auth",
  InvalidSignatureException: "auth",
  SignatureDoesNotMatch: "auth",
  ExpiredTokenException: "auth",
  IncompleteSignatureException: "auth",
  CredentialsProviderError: "auth",
};

type StreamException = Exclude<
  ConverseStreamOutput,
  | ConverseStreamOutput.MessageStartMember
  | ConverseStreamOutput.ContentBlockStartMember
  | ConverseStreamOutput.ContentBlockDeltaMember
  | ConverseStreamOutput.ContentBlockStopMember
  | ConverseStreamOutput.MessageStopMember
  | ConverseStreamOutput.MetadataMember
  | ConverseStreamOutput.$UnknownMember
>;

const streamExceptions = [
  "internalServerException",
  "modelStreamErrorException",
  "validationException",
  "throttlingException",
  "serviceUnavailableException",
] as const;

function usageOf(usage: TokenUsage | undefined) {
  const promptTokens = usage?.inputTokens ?? 0;
  const completionTokens = usage?.outputTokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    totalTokens: usage?.totalTokens ?? promptTokens + completionTokens,
  };
}

/** What the Bedrock provider reads from the settings (`AWS_*`, `BEDROCK_DEFAULT_MODEL`). */
export interface BedrockOptions {
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  /** A named profile of `~/.aws`, used when no keys are set. */
  profile?: string | undefined;
  /** Another endpoint than the region's (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `AWS_ENDPOINT_URL`). */
  endpoint?: string | undefined;
  defaultModel: string;
  /** Timeout of one request. */
  timeoutMs: number;
}

/**
 * Creates the Bedrock provider. The SDK client is made on first use; missing credentials show in
 * `status()` and fail calls with a {@linkcode ProviderError} that names the settings to fix.
 * @example
 * ```ts
 * const bedrock = createBedrockProvider({ region: "us-east-1", profile: "work", defaultModel: "claude-3.5-haiku", timeoutMs: 120_000 });
 * const { text } = await bedrock.complete({ message: "Hi", model: "claude-3.5-haiku", temperature: 0.7, maxTokens: 100 });
 * ```
 */
export function createBedrockProvider(config: BedrockOptions): Provider {
  const keyId = config.accessKeyId;
  const secret = config.secretAccessKey;
  const { endpoint, region } = config;
  const partialKeys = Boolean(keyId) !== Boolean(secret);
  let client: BedrockRuntimeClient | undefined;

  const clientOf = (): BedrockRuntimeClient => {
    if (partialKeys) {
      throw new ProviderError(
        "auth",
        keyId
          ? "AWS_SECRET_ACCESS_KEY is not set but AWS_ACCESS_KEY_ID is: set both, or neither"
          : "AWS_ACCESS_KEY_ID is not set but AWS_SECRET_ACCESS_KEY is: set both, or neither",
      );
    }
    if (client) return client;
    const options: BedrockRuntimeClientConfig = {
      region,
      maxAttempts: 1,
      requestHandler: new FetchHttpHandler({ requestTimeout: config.timeoutMs }),
    };
    if (endpoint) options.endpoint = endpoint;
    if (keyId && secret) {
      options.credentials = {
        accessKeyId: keyId,
        secretAccessKey: secret,
        ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
      };
    } else if (config.profile) {
      options.profile = config.profile;
    }
    return client = new BedrockRuntimeClient(options);
  };

  const toProviderError = (
    error: unknown,
    request: CompletionRequest,
    modelId: string,
  ): unknown => {
    if (error instanceof ProviderError) return error;
    if (request.signal?.aborted) return request.signal.reason;
    if (!(error instanceof Error)) return error;
    const name = error.name;
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    const detail = describeError(error);
    const options = { cause: error };
    if (name === "CredentialsProviderError") {
      return new ProviderError(
        "auth",
        `No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance role (${detail})`,
        options,
      );
    }
    if (kind === "auth") {
      return new ProviderError(
        "auth",
        `Bedrock refused the request for model "${modelId}" (${name}): ${detail}. Check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the account's access to this model in ${region}`,
        options,
      );
    }
    if (kind === "bad_request") {
      return new ProviderError(
        "bad_request",
        `Bedrock rejected the request for model "${modelId}" (${name}): ${detail}`,
        options,
      );
    }
    if (kind) return new ProviderError(kind, `Bedrock failed (${name}): ${detail}`, options);
    if (name === "TimeoutError") {
      return new ProviderError("timeout", `Bedrock did not answer in time: ${detail}`, options);
    }
    if (error instanceof TypeError) {
      return new ProviderError(
        "unavailable",
        `Cannot reach Bedrock at ${
          endpoint ?? `bedrock-runtime.${region}.amazonaws.com`
        }: ${detail}`,
        options,
      );
    }
    return new ProviderError("other", `Bedrock failed (${name}): ${detail}`, options);
  };

  const inputOf = (request: CompletionRequest, modelId: string): ConverseCommandInput => ({
    modelId,
    messages: [{ role: "user", content: [{ text: request.message }] }],
    ...(request.context ? { system: [{ text: request.context }] } : {}),
    inferenceConfig: { maxTokens: request.maxTokens, temperature: request.temperature },
  });

  return {
    name: "bedrock",
    defaultModel: config.defaultModel,
    async complete(request): Promise<Completion> {
      const modelId = resolveBedrockModel(request.model);
      try {
        const response = await clientOf().send(
          new ConverseCommand(inputOf(request, modelId)),
          request.signal ? { abortSignal: request.signal } : {},
        );
        const text = (response.output?.message?.content ?? [])
          .map((block) => block.text ?? "")
          .join("");
        return { text, model: modelId, usage: usageOf(response.usage) };
      } catch (error) {
        throw toProviderError(error, request, modelId);
      }
    },
    stream(request) {
      return abortWhenAbandoned(request.signal, async function* (signal) {
        const modelId = resolveBedrockModel(request.model);
        try {
          const response = await clientOf().send(
            new ConverseStreamCommand(inputOf(request, modelId)),
            { abortSignal: signal },
          );
          let text = "";
          let usage: TokenUsage | undefined;
          let stopped = false;
          for await (const event of response.stream ?? []) {
            for (const key of streamExceptions) {
              const exception = (event as Partial<StreamException>)[key as never] as
                | { message?: string }
                | undefined;
              if (exception) {
                const name = key[0]!.toUpperCase() + key.slice(1);
                const error = new Error(exception.message ?? name);
                error.name = name;
                throw error;
              }
            }
            const delta = event.contentBlockDelta?.delta?.text;
            if (delta) {
              text += delta;
              yield { type: "delta", text: delta };
            }
            if (event.messageStop) stopped = true;
            if (event.metadata?.usage) usage = event.metadata.usage;
          }
          if (!stopped) {
            throw incompleteStream(
              "Bedrock ended the stream before the answer was complete (no messageStop event)",
            );
          }
          yield { type: "done", completion: { text, model: modelId, usage: usageOf(usage) } };
        } catch (error) {
          throw toProviderError(error, request, modelId);
        }
      });
    },
    models: () => [...Object.keys(BEDROCK_MODEL_IDS), ...pricedModels("anthropic.")],
    status: () => {
      if (partialKeys) {
        return {
          configured: false,
          reason: keyId ? "AWS_SECRET_ACCESS_KEY is not set" : "AWS_ACCESS_KEY_ID is not set",
        };
      }
      if (keyId && secret) return { configured: true };
      if (config.profile) {
        return { configured: true, reason: `AWS_PROFILE ${config.profile}` };
      }
      return {
        configured: true,
        reason: "no AWS keys or AWS_PROFILE set: using the instance or container role",
      };
    },
  };
}
