/**
 * Settings every server shares: inbound auth, HTTP and MCP limits, TLS, logs and shutdown.
 * @module
 */
import { z } from "zod";
import {
  clientId,
  clientSecret,
  list,
  nonNegativeInt,
  positiveInt,
  setting,
  text,
  url,
} from "./_setting.ts";

/** Which tokens a server accepts: the shared secret or OAuth access tokens. */
export const AUTH_SETTINGS = {
  MCPCOMM_AUTH_TOKEN: setting(
    z.string().min(16).optional(),
    "a token of at least 16 characters",
    "Shared secret between the machines (Bearer token)",
    true,
  ),
  OAUTH_ISSUER: url(
    "OAuth authorization server whose access tokens this server accepts (JWKS from its discovery)",
  ),
  OAUTH_RESOURCE: url(
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
  OAUTH_INTROSPECTION_URL: url(
    "RFC 7662 endpoint for opaque (non-JWT) access tokens",
  ),
  OAUTH_INTROSPECTION_CLIENT_ID: clientId("Client ID this server introspects with"),
  OAUTH_INTROSPECTION_CLIENT_SECRET: clientSecret("Client secret this server introspects with"),
} as const;

/** Host and origin checks, MCP sessions, request limits and TLS. */
export const SERVING_SETTINGS = {
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
    "Answer calls of simple tools without a progress token as one JSON response, not an SSE stream (and over stdio without the SDK's dispatch)",
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
  TLS_CERT_FILE: text("a file path", "Server B TLS certificate (PEM)"),
  TLS_KEY_FILE: text("a file path", "Server B TLS private key (PEM)"),
} as const;

/** Log level and shutdown. */
export const PROCESS_SETTINGS = {
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
