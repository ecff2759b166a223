/**
 * Settings of Server B: its AI provider and where it listens.
 * @module
 */
import { z } from "zod";
import { nonNegativeInt, port, positiveInt, setting, text, url } from "./_setting.ts";

/** Server B's AI provider, bind address, port and history size. */
export const SERVER_B_SETTINGS = {
  AI_PROVIDER: setting(
    z.enum(["mock", "openai", "bedrock"]).default("mock"),
    "one of mock, openai, bedrock",
    "AI provider Server B answers with",
  ),
  OPENAI_API_KEY: text("an API key", "OpenAI API key", true),
  OPENAI_DEFAULT_MODEL: setting(
    z.string().min(1).default("gpt-4"),
    "a model name",
    "Default OpenAI model",
  ),
  OPENAI_BASE_URL: url(
    "OpenAI-compatible server (Ollama, vLLM, LM Studio), e.g. http://localhost:11434/v1",
  ),
  AWS_ACCESS_KEY_ID: text("an access key ID", "AWS access key ID", true),
  AWS_SECRET_ACCESS_KEY: text(
    "a secret access key",
    "AWS secret access key",
    true,
  ),
  AWS_SESSION_TOKEN: text("a session token", "AWS session token", true),
  AWS_PROFILE: text("a profile name", "AWS profile (instead of keys)"),
  AWS_REGION: setting(
    z.string().min(1).default("us-east-1"),
    "a region name",
    "AWS region for Bedrock",
  ),
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url(
    "Bedrock Runtime endpoint override",
  ),
  AWS_ENDPOINT_URL: url("AWS endpoint override"),
  BEDROCK_DEFAULT_MODEL: setting(
    z.string().min(1).default("anthropic.claude-3-5-sonnet-20241022-v2:0"),
    "a model ID or short name",
    "Default Bedrock model",
  ),
  AI_TEMPERATURE: setting(
    z.coerce.number().min(0).max(2).default(0.7),
    "a number from 0 to 2",
    "Default sampling temperature",
  ),
  AI_MAX_TOKENS: setting(
    z.coerce.number().int().min(1).max(200000).default(1000),
    "an integer from 1 to 200000",
    "Default max tokens per response",
  ),
  MOCK_DELAY_MS: setting(
    nonNegativeInt.max(600000).default(0),
    "milliseconds from 0 to 600000",
    "Simulated latency of the mock provider",
  ),
  HTTP_HOST: setting(
    z.string().min(1).default("0.0.0.0"),
    "a host name or address",
    "Server B bind address",
  ),
  HTTP_PORT: setting(port.default(8000), "a port number (0-65535)", "Server B port"),
  MAX_STORED_MESSAGES: setting(
    positiveInt.default(1000),
    "a positive integer",
    "Messages kept for history, in memory or in the ledger database (totals stay exact)",
  ),
} as const;
