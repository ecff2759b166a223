/**
 * Settings of Server A: how it reaches Server B and the upstreams it aggregates.
 * @module
 */
import { z } from "zod";
import {
  clientId,
  clientSecret,
  httpUrl,
  list,
  port,
  positiveInt,
  setting,
  text,
  url,
} from "./_setting.ts";

/** Server A's bind address, its Server B URLs, timeout and retries. */
export const SERVER_A_SETTINGS = {
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
} as const;

/** Server A's OAuth client for Server B. */
export const SERVER_A_OAUTH_SETTINGS = {
  SERVER_B_OAUTH_ISSUER: url(
    "Authorization server Server A gets its tokens for Server B from (token endpoint discovered)",
  ),
  SERVER_B_OAUTH_TOKEN_URL: url(
    "Token endpoint for Server A's client credentials (instead of discovery)",
  ),
  SERVER_B_OAUTH_CLIENT_ID: clientId("Server A's client ID at the authorization server"),
  SERVER_B_OAUTH_CLIENT_SECRET: clientSecret("Server A's client secret (client_secret_basic/post)"),
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
  SERVER_B_OAUTH_RESOURCE: url(
    "RFC 8707 resource Server A requests tokens for (default: the first SERVER_B_URL)",
  ),
} as const;

/** Server B's CA, the upstream MCP servers and pipelines of Server A. */
export const UPSTREAM_SETTINGS = {
  SERVER_B_CA_CERT: text(
    "a file path",
    "CA certificate (PEM) Server A trusts for Server B",
  ),
  UPSTREAMS: text(
    "NAME=TARGET pairs separated by ;",
    "MCP servers Server A aggregates",
  ),
  UPSTREAMS_FILE: text(
    "a file path",
    "More upstreams from a JSON file in the Claude Desktop mcpServers shape",
  ),
  UPSTREAM_HEADERS: text(
    "NAME=Header: value items separated by ;",
    "Headers sent to one upstream each; ${VAR} in a value is read from the environment",
    true,
  ),
  PIPELINES: text(
    "NAME=TOOL>TOOL... items separated by ;",
    "Server A gateway tools that pass a message through upstream tools in order",
  ),
} as const;
