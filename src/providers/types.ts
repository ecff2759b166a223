/**
 * The one interface every AI provider implements.
 * @module
 */
import type { Usage } from "../wire.ts";

/** One completion request, with every default already applied. */
export interface CompletionRequest {
  message: string;
  context?: string | undefined;
  /** Model name as given (short or full); the provider resolves it. */
  model: string;
  temperature: number;
  maxTokens: number;
  signal?: AbortSignal | undefined;
}

/** A finished completion. */
export interface Completion {
  text: string;
  /** The model that answered, as the provider names it. */
  model: string;
  usage: Usage;
}

/** What a stream yields: text deltas as they arrive, then exactly one `done`. */
export type StreamChunk =
  | { type: "delta"; text: string }
  | { type: "done"; completion: Completion };

/** Whether a provider can be used, and why not. */
export interface ProviderStatus {
  configured: boolean;
  reason?: string;
}

/** An AI provider: mock, OpenAI or Bedrock. Clients are created lazily, on first use. */
export interface Provider {
  readonly name: "mock" | "openai" | "bedrock";
  /** Default model from the settings. */
  readonly defaultModel: string;
  /** Answers one request. Throws {@linkcode ProviderError} on failure. */
  complete(request: CompletionRequest): Promise<Completion>;
  /** Streams one request. Throws {@linkcode ProviderError}, also mid-stream. */
  stream(request: CompletionRequest): AsyncIterable<StreamChunk>;
  /** Models this provider offers. */
  models(): string[];
  /** Whether credentials and settings are present. */
  status(): ProviderStatus;
}
