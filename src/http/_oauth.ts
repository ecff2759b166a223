/**
 * OAuth access tokens (`OAUTH_*`, verified by `../oauth/resource.ts`): the resource built from the
 * settings, the challenges that point clients at it, and the RFC 9728 metadata document.
 * @module
 */
import { getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/server";
import { ConfigError, HttpError } from "../core/mod.ts";
import type { Authenticator } from "./_authenticator.ts";
import { bearerToken, quoted, tokensMatch } from "./_bearer.ts";
import { methodNotAllowed } from "./respond.ts";
import {
  createTokenVerifier,
  protectedResourceMetadata,
  TokenRefused,
  type TokenVerifier,
  VerifierUnavailable,
} from "../oauth/mod.ts";

/** What {@linkcode createAuthenticator} needs besides the static token. */
export interface OAuthResourceOptions {
  issuer: string;
  /** This server's public URL (RFC 9728 `resource`). */
  resource: string;
  audiences: string[];
  requiredScopes: string[];
  verifier: TokenVerifier;
}

/** The `OAUTH_*` settings {@linkcode oauthResourceOf} reads, named as in `Config`. */
export interface OAuthSettings {
  readonly OAUTH_ISSUER?: string | undefined;
  readonly OAUTH_RESOURCE?: string | undefined;
  readonly OAUTH_AUDIENCE?: string[] | undefined;
  readonly OAUTH_REQUIRED_SCOPES?: string[] | undefined;
  readonly OAUTH_CLOCK_TOLERANCE_SECONDS: number;
  readonly OAUTH_JWKS_MIN_REFRESH_SECONDS: number;
  readonly OAUTH_INTROSPECTION_URL?: string | undefined;
  readonly OAUTH_INTROSPECTION_CLIENT_ID?: string | undefined;
  readonly OAUTH_INTROSPECTION_CLIENT_SECRET?: string | undefined;
}

/**
 * The OAuth resource the settings describe, `undefined` without `OAUTH_ISSUER`; throws
 * {@linkcode ConfigError} for an incomplete setup.
 */
export function oauthResourceOf(config: OAuthSettings): OAuthResourceOptions | undefined {
  if (config.OAUTH_ISSUER) {
    if (!config.OAUTH_RESOURCE) {
      throw new ConfigError(
        "OAUTH_ISSUER is set but OAUTH_RESOURCE is not: set it to this server's public URL as " +
          "clients reach it, e.g. https://machine-b:8000",
      );
    }
    const id = config.OAUTH_INTROSPECTION_CLIENT_ID;
    const secret = config.OAUTH_INTROSPECTION_CLIENT_SECRET;
    if ((id === undefined) !== (secret === undefined)) {
      throw new ConfigError(
        "OAUTH_INTROSPECTION_CLIENT_ID and OAUTH_INTROSPECTION_CLIENT_SECRET go together: set both",
      );
    }
    const audiences = config.OAUTH_AUDIENCE ?? [config.OAUTH_RESOURCE];
    const requiredScopes = config.OAUTH_REQUIRED_SCOPES ?? [];
    return {
      issuer: config.OAUTH_ISSUER,
      resource: config.OAUTH_RESOURCE,
      audiences,
      requiredScopes,
      verifier: createTokenVerifier({
        issuer: config.OAUTH_ISSUER,
        audiences,
        requiredScopes,
        clockToleranceSeconds: config.OAUTH_CLOCK_TOLERANCE_SECONDS,
        jwksMinRefreshMs: config.OAUTH_JWKS_MIN_REFRESH_SECONDS * 1000,
        introspection: id && secret
          ? { url: config.OAUTH_INTROSPECTION_URL, clientId: id, clientSecret: secret }
          : undefined,
      }),
    };
  } else if (config.OAUTH_RESOURCE || config.OAUTH_REQUIRED_SCOPES || config.OAUTH_AUDIENCE) {
    throw new ConfigError(
      "OAUTH_RESOURCE, OAUTH_AUDIENCE, OAUTH_REQUIRED_SCOPES need OAUTH_ISSUER",
    );
  }
  return undefined;
}

const PRM_PATH = "/.well-known/oauth-protected-resource";
const PRM_SUFFIXES = ["", "/mcp", "/sse", "/messages", "/ws"];

function challenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${k}=${quoted(v!)}`
  );
  return `Bearer ${parts.join(", ")}`;
}

/** The authenticator for an OAuth resource that also accepts the static `token` when set. */
export function oauthAuthenticator(
  token: string | undefined,
  oauth: OAuthResourceOptions,
): Authenticator {
  const resourceUrl = new URL(oauth.resource);
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(resourceUrl);
  const resourcePath = resourceUrl.pathname.replace(/\/+$/, "");
  const metadataPaths = new Set(
    PRM_SUFFIXES.flatMap((suffix) => [PRM_PATH + suffix, PRM_PATH + resourcePath + suffix]),
  );
  const scope = oauth.requiredScopes.length ? oauth.requiredScopes.join(" ") : undefined;
  const document = protectedResourceMetadata(oauth.resource, oauth.issuer, oauth.requiredScopes);
  const refuse = (status: 401 | 403, error?: string, description?: string): HttpError =>
    new HttpError(
      status,
      status === 403 ? "forbidden" : "unauthorized",
      description ??
        "Missing Authorization: Bearer token (an OAuth access token or MCPCOMM_AUTH_TOKEN)",
      {
        "www-authenticate": challenge({
          realm: "mcpcomm",
          error,
          error_description: description,
          resource_metadata: metadataUrl,
          scope,
        }),
      },
    );
  return {
    required: true,
    async authenticate(request) {
      const given = bearerToken(request);
      if (given === undefined) throw refuse(401);
      if (token !== undefined && tokensMatch(given, token)) return { via: "static", scopes: [] };
      try {
        return await oauth.verifier.verify(given);
      } catch (error) {
        if (error instanceof TokenRefused) {
          throw refuse(error.code === "insufficient_scope" ? 403 : 401, error.code, error.message);
        }
        if (error instanceof VerifierUnavailable) {
          throw new HttpError(503, "unavailable", error.message, { "retry-after": "5" });
        }
        throw error;
      }
    },
    wellKnown(request) {
      const path = new URL(request.url).pathname;
      if (!metadataPaths.has(path)) return undefined;
      const cors = { "access-control-allow-origin": "*" };
      if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
      if (request.method !== "GET" && request.method !== "HEAD") {
        return methodNotAllowed(["GET"]).toResponse();
      }
      return Response.json(document, { headers: { ...cors, "cache-control": "max-age=3600" } });
    },
  };
}
