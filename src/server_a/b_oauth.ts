/**
 * Server A's OAuth client credentials for Server B, from the `SERVER_B_OAUTH_*` settings: one
 * token source per settings object, shared by every Server B client (the balancer's too). Tokens
 * come only from Server A's own credentials: nothing a downstream MCP client sends is passed on.
 * @module
 */
import type { Config } from "../core/config.ts";
import { ConfigError } from "../core/errors.ts";
import { publicUrl } from "../http/hosts.ts";
import {
  type ClientAuthMethod,
  createClientCredentialsSource,
} from "../oauth/client_credentials.ts";

type Authorization = (renew?: { stale: string }) => Promise<string>;

const built = new WeakMap<Config, Authorization>();

function readKey(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `SERVER_B_OAUTH_PRIVATE_KEY_FILE: cannot read ${path} (${
        error instanceof Error ? error.message : error
      })`,
    );
  }
}

/**
 * The `Authorization` provider for Server B when `SERVER_B_OAUTH_CLIENT_ID` is set, else
 * `undefined`; throws {@linkcode ConfigError} for an incomplete setup.
 */
export function serverBTokenSource(config: Config): Authorization | undefined {
  const clientId = config.SERVER_B_OAUTH_CLIENT_ID;
  if (!clientId) return undefined;
  const existing = built.get(config);
  if (existing) return existing;
  if (!config.SERVER_B_OAUTH_TOKEN_URL && !config.SERVER_B_OAUTH_ISSUER) {
    throw new ConfigError(
      "SERVER_B_OAUTH_CLIENT_ID is set but neither SERVER_B_OAUTH_TOKEN_URL nor " +
        "SERVER_B_OAUTH_ISSUER: set one so Server A knows where to get tokens",
    );
  }
  const privateKeyPem = config.SERVER_B_OAUTH_PRIVATE_KEY_FILE
    ? readKey(config.SERVER_B_OAUTH_PRIVATE_KEY_FILE)
    : undefined;
  const method: ClientAuthMethod = config.SERVER_B_OAUTH_AUTH_METHOD ??
    (privateKeyPem ? "private_key_jwt" : "client_secret_basic");
  if (method === "private_key_jwt" && !privateKeyPem) {
    throw new ConfigError(
      "SERVER_B_OAUTH_AUTH_METHOD=private_key_jwt needs SERVER_B_OAUTH_PRIVATE_KEY_FILE",
    );
  }
  if (method !== "private_key_jwt" && !config.SERVER_B_OAUTH_CLIENT_SECRET) {
    throw new ConfigError(
      `SERVER_B_OAUTH_AUTH_METHOD=${method} needs SERVER_B_OAUTH_CLIENT_SECRET`,
    );
  }
  const source = createClientCredentialsSource({
    tokenUrl: config.SERVER_B_OAUTH_TOKEN_URL,
    issuer: config.SERVER_B_OAUTH_ISSUER,
    clientId,
    clientSecret: config.SERVER_B_OAUTH_CLIENT_SECRET,
    privateKeyPem,
    method,
    scope: config.SERVER_B_OAUTH_SCOPE,
    resource: config.SERVER_B_OAUTH_RESOURCE ??
      publicUrl(config.SERVER_B_URL[0]!).replace(/\/+$/, ""),
  });
  const authorization: Authorization = (renew) => source.authorization(renew);
  built.set(config, authorization);
  return authorization;
}
