/**
 * Every setting of mcpcomm, validated once at start-up by one zod schema.
 * Precedence: command-line flags, then the environment, then `.env` in the working directory,
 * then the defaults below. Nothing else in mcpcomm reads the environment.
 * @module
 */
import { z } from "zod";
import { ConfigError } from "./errors.ts";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1);
const nonNegativeInt = z.coerce.number().int().min(0);
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
const httpUrl = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
});

interface SettingSpec<T extends z.ZodType> {
  schema: T;
  accepts: string;
  help: string;
  secret?: boolean;
}

function setting<T extends z.ZodType>(
  schema: T,
  accepts: string,
  help: string,
  secret = false,
): SettingSpec<T> {
  return { schema, accepts, help, secret };
}

/** The table of settings: environment name, schema with default, what it accepts, what it does. */
export const SETTINGS = {
  AI_PROVIDER: setting(
    z.enum(["mock", "openai", "bedrock"]).default("mock"),
    "one of mock, openai, bedrock",
    "AI provider Server B answers with",
  ),
  OPENAI_API_KEY: setting(z.string().optional(), "an API key", "OpenAI API key", true),
  OPENAI_DEFAULT_MODEL: setting(
    z.string().min(1).default("gpt-4"),
    "a model name",
    "Default OpenAI model",
  ),
  OPENAI_BASE_URL: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "OpenAI-compatible server (Ollama, vLLM, LM Studio), e.g. http://localhost:11434/v1",
  ),
  AWS_ACCESS_KEY_ID: setting(z.string().optional(), "an access key ID", "AWS access key ID", true),
  AWS_SECRET_ACCESS_KEY: setting(
    z.string().optional(),
    "a secret access key",
    "AWS secret access key",
    true,
  ),
  AWS_SESSION_TOKEN: setting(z.string().optional(), "a session token", "AWS session token", true),
  AWS_PROFILE: setting(z.string().optional(), "a profile name", "AWS profile (instead of keys)"),
  AWS_REGION: setting(
    z.string().min(1).default("us-east-1"),
    "a region name",
    "AWS region for Bedrock",
  ),
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "Bedrock Runtime endpoint override",
  ),
  AWS_ENDPOINT_URL: setting(httpUrl.optional(), "an http(s) URL", "AWS endpoint override"),
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
  SERVER_B_URL: setting(
    z.string().default("http://localhost:8000").pipe(list).pipe(z.array(httpUrl).min(1)),
    "one or more comma-separated http(s) URLs",
    "URL(s) Server A uses to reach Server B",
  ),
  SERVER_A_HOST: setting(
    z.string().min(1).default("127.0.0.1"),
    "a host name or address",
    "Server A bind address with --transport http",
  ),
  SERVER_A_PORT: setting(
    port.default(8001),
    "a port number (0-65535)",
    "Server A port with --transport http",
  ),
  TIMEOUT_SECONDS: setting(
    z.coerce.number().positive().max(3600).default(120),
    "seconds, more than 0 and at most 3600",
    "Timeout of one request attempt (A->B and B->provider)",
  ),
  RETRY_ATTEMPTS: setting(
    positiveInt.max(10).default(3),
    "an integer from 1 to 10",
    "Attempts per request, the first included",
  ),
  MCPCOMM_AUTH_TOKEN: setting(
    z.string().min(16).optional(),
    "a token of at least 16 characters",
    "Shared secret between the machines (Bearer token)",
    true,
  ),
  OAUTH_ISSUER: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "OAuth authorization server whose access tokens this server accepts (JWKS from its discovery)",
  ),
  OAUTH_RESOURCE: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "This server's public URL as clients reach it (RFC 9728 resource); required with OAUTH_ISSUER",
  ),
  OAUTH_AUDIENCE: setting(
    list.optional(),
    "comma-separated audience values",
    "Token audiences accepted (default: OAUTH_RESOURCE)",
  ),
  OAUTH_REQUIRED_SCOPES: setting(
    list.optional(),
    "comma-separated scopes",
    "Scopes every access token must carry (403 insufficient_scope otherwise)",
  ),
  OAUTH_CLOCK_TOLERANCE_SECONDS: setting(
    z.coerce.number().min(0).max(600).default(5),
    "seconds from 0 to 600",
    "Clock skew allowed when checking a token's expiry",
  ),
  OAUTH_JWKS_MIN_REFRESH_SECONDS: setting(
    z.coerce.number().min(0).max(3600).default(30),
    "seconds from 0 to 3600",
    "Least time between two JWKS fetches for a token signed by an unknown key (rotation)",
  ),
  OAUTH_INTROSPECTION_URL: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "RFC 7662 endpoint for opaque (non-JWT) access tokens",
  ),
  OAUTH_INTROSPECTION_CLIENT_ID: setting(
    z.string().min(1).optional(),
    "a client ID",
    "Client ID this server introspects with",
  ),
  OAUTH_INTROSPECTION_CLIENT_SECRET: setting(
    z.string().min(1).optional(),
    "a client secret",
    "Client secret this server introspects with",
    true,
  ),
  SERVER_B_OAUTH_ISSUER: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "Authorization server Server A gets its tokens for Server B from (token endpoint discovered)",
  ),
  SERVER_B_OAUTH_TOKEN_URL: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "Token endpoint for Server A's client credentials (instead of discovery)",
  ),
  SERVER_B_OAUTH_CLIENT_ID: setting(
    z.string().min(1).optional(),
    "a client ID",
    "Server A's client ID at the authorization server",
  ),
  SERVER_B_OAUTH_CLIENT_SECRET: setting(
    z.string().min(1).optional(),
    "a client secret",
    "Server A's client secret (client_secret_basic/post)",
    true,
  ),
  SERVER_B_OAUTH_PRIVATE_KEY_FILE: setting(
    z.string().min(1).optional(),
    "a file path",
    "PKCS#8 PEM private key for private_key_jwt client authentication",
  ),
  SERVER_B_OAUTH_AUTH_METHOD: setting(
    z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]).optional(),
    "one of client_secret_basic, client_secret_post, private_key_jwt",
    "How Server A authenticates at the token endpoint (default: from the secret or key set)",
  ),
  SERVER_B_OAUTH_SCOPE: setting(
    z.string().min(1).optional(),
    "space-separated scopes",
    "Scopes Server A requests for Server B",
  ),
  SERVER_B_OAUTH_RESOURCE: setting(
    httpUrl.optional(),
    "an http(s) URL",
    "RFC 8707 resource Server A requests tokens for (default: the first SERVER_B_URL)",
  ),
  MCPCOMM_INSECURE_NO_AUTH: setting(
    z.stringbool().default(false),
    "true or false",
    "Serve openai/bedrock (Server B), run_command (toolbox) on a non-loopback bind without a token",
  ),
  MCP_ALLOWED_HOSTS: setting(
    list.optional(),
    "comma-separated host names",
    "Host names accepted besides loopback ones, on MCP routes and Server B's HTTP API",
  ),
  MCP_ALLOWED_ORIGINS: setting(
    list.optional(),
    "comma-separated origins",
    "Origins accepted on MCP routes and Server B's HTTP API",
  ),
  MCP_SESSION_IDLE_MINUTES: setting(
    z.coerce.number().positive().default(30),
    "minutes, more than 0",
    "Idle MCP sessions expire after this",
  ),
  MCP_DIRECT_CALLS: setting(
    z.stringbool().default(true),
    "true or false",
    "Answer calls of simple tools without a progress token as one JSON response, not an SSE stream",
  ),
  MCP_MAX_SESSIONS: setting(
    positiveInt.default(10000),
    "a positive integer",
    "Concurrent MCP sessions cap",
  ),
  MAX_BODY_BYTES: setting(
    positiveInt.default(1048576),
    "a positive integer (bytes)",
    "Largest accepted request body",
  ),
  RATE_LIMIT_PER_MINUTE: setting(
    nonNegativeInt.default(0),
    "a non-negative integer (0 = off)",
    "Requests per minute per client",
  ),
  READ_TIMEOUT_SECONDS: setting(
    z.coerce.number().min(0).max(3600).default(60),
    "seconds from 0 to 3600 (0 = off)",
    "Time a request's headers, its body, or an idle connection may take before it is closed",
  ),
  MAX_CONNECTIONS_PER_ADDRESS: setting(
    nonNegativeInt.default(64),
    "a non-negative integer (0 = off)",
    "Connections open at once from one client address; more are refused with 503",
  ),
  TLS_CERT_FILE: setting(z.string().optional(), "a file path", "Server B TLS certificate (PEM)"),
  TLS_KEY_FILE: setting(z.string().optional(), "a file path", "Server B TLS private key (PEM)"),
  SERVER_B_CA_CERT: setting(
    z.string().optional(),
    "a file path",
    "CA certificate (PEM) Server A trusts for Server B",
  ),
  UPSTREAMS: setting(
    z.string().optional(),
    "NAME=TARGET pairs separated by ;",
    "MCP servers Server A aggregates",
  ),
  UPSTREAMS_FILE: setting(
    z.string().optional(),
    "a file path",
    "More upstreams from a JSON file in the Claude Desktop mcpServers shape",
  ),
  UPSTREAM_HEADERS: setting(
    z.string().optional(),
    "NAME=Header: value items separated by ;",
    "Headers sent to one upstream each; ${VAR} in a value is read from the environment",
    true,
  ),
  PIPELINES: setting(
    z.string().optional(),
    "NAME=TOOL>TOOL... items separated by ;",
    "Server A gateway tools that pass a message through upstream tools in order",
  ),
  MCPCOMM_DB: setting(
    z.string().refine((db) => {
      if (!/^postgres(ql)?:/i.test(db)) return true;
      try {
        return /^postgres(ql)?:\/\/[^/]/i.test(db) && new URL(db).hostname !== "";
      } catch {
        return false;
      }
    }).optional(),
    "a file path, :memory: or postgres://user:password@host/database",
    "Ledger database: a SQLite file (default: server-a.db / server-b.db in the user's data " +
      "directory), :memory:, or a PostgreSQL URL shared by replicas",
  ),
  MCPCOMM_DB_SYNC: setting(
    z.enum(["full", "normal"]).default("full"),
    "one of full, normal",
    "When ledger commits reach the disk: full at each commit, normal at checkpoints (faster)",
  ),
  MCPCOMM_REDIS: setting(
    z.string().refine((s) => {
      try {
        const url = new URL(s);
        return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
      } catch {
        return false;
      }
    }).optional(),
    "a redis:// or rediss:// URL",
    "Redis the replicas share 2025-era MCP sessions, their resumable events and the rate limit in",
    true,
  ),
  LEDGER_MAX_AGE_DAYS: setting(
    z.coerce.number().min(0).default(0),
    "days, 0 or more (0 = no age limit)",
    "Ledger database entries older than this are dropped (totals stay exact)",
  ),
  LOG_LEVEL: setting(
    z.enum(["debug", "info", "warn", "error"]).default("info"),
    "one of debug, info, warn, error",
    "Least severe log level written (stderr)",
  ),
  SHUTDOWN_TIMEOUT_SECONDS: setting(
    z.coerce.number().min(0).default(10),
    "seconds, 0 or more",
    "How long in-flight work may finish on SIGTERM",
  ),
} as const;

/** The name of a setting, as in the environment and `.env`. */
export type SettingName = keyof typeof SETTINGS;

type Settings = typeof SETTINGS;
/** The validated settings object, keyed by environment name. */
export type Config = { [K in SettingName]: z.output<Settings[K]["schema"]> };

const schema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, v.schema])) as {
    [K in SettingName]: Settings[K]["schema"];
  },
);

/** Where settings come from, strongest last. */
export interface ConfigSources {
  /** Parsed `.env` content. */
  dotenv?: Record<string, string>;
  /** The process environment. */
  env?: Record<string, string>;
  /** Settings given as command-line flags. */
  flags?: Partial<Record<SettingName, string>>;
}

/**
 * Validates the merged sources; throws one {@linkcode ConfigError} naming the first bad setting.
 * Empty values count as unset.
 * @example
 * ```ts
 * const config = loadConfig({ env: { HTTP_PORT: "9000" } });
 * config.HTTP_PORT; // 9000
 * ```
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const merged: Record<string, string> = {};
  for (const source of [sources.dotenv, sources.env, sources.flags]) {
    for (const [key, value] of Object.entries(source ?? {})) {
      if (Object.hasOwn(SETTINGS, key) && value !== undefined && value !== "") merged[key] = value;
    }
  }
  const result = schema.safeParse(merged);
  if (result.success) return result.data as Config;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0]) as SettingName;
  const spec = SETTINGS[name];
  const shown = spec.secret
    ? "(hidden)"
    : JSON.stringify(merged[name])?.replace(/(\/\/[^/@:"]*:)[^@/"]*@/g, "$1***@");
  throw new ConfigError(`Invalid setting ${name}=${shown}: expected ${spec.accepts}`);
}

/** The values of every secret setting that is set, and passwords inside URLs, for log redaction. */
export function secretValues(config: Config): string[] {
  const secrets = (Object.keys(SETTINGS) as SettingName[])
    .filter((k) => SETTINGS[k].secret)
    .map((k) => config[k]);
  const urls = [
    config.OPENAI_BASE_URL,
    config.AWS_ENDPOINT_URL,
    config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
    config.OAUTH_INTROSPECTION_URL,
    config.SERVER_B_OAUTH_TOKEN_URL,
    config.MCPCOMM_REDIS,
    ...config.SERVER_B_URL,
    ...(/^postgres(ql)?:\/\//i.test(config.MCPCOMM_DB ?? "") ? [config.MCPCOMM_DB] : []),
  ];
  const dbPassword = /^postgres(ql)?:\/\//i.test(config.MCPCOMM_DB ?? "")
    ? new URL(config.MCPCOMM_DB!).searchParams.get("password")
    : null;
  const passwords = urls.flatMap((url) => {
    const password = url ? new URL(url).password : "";
    try {
      return [password, decodeURIComponent(password)];
    } catch {
      return [password];
    }
  });
  return [...new Set([...secrets, ...passwords, dbPassword])].filter((v): v is string =>
    typeof v === "string" && v !== ""
  );
}
