/**
 * Who may call the servers: the shared-secret token between the machines (`MCPCOMM_AUTH_TOKEN`,
 * compared in constant time) and/or OAuth access tokens (`OAUTH_ISSUER`, `./oauth/resource.ts`),
 * behind one {@linkcode Authenticator} every edge calls; the RFC 9728 metadata document; and the
 * warning or refusal for an exposed bind.
 * @module
 */
import { getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/server";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Config } from "../core/config.ts";
import { ConfigError, HttpError } from "../core/errors.ts";
import { isLoopbackHost } from "./hosts.ts";
import { methodNotAllowed } from "./respond.ts";
import type { Logger } from "../core/log.ts";
import { oauthProbeAnswer } from "../mcp/guards.ts";
import {
  createTokenVerifier,
  protectedResourceMetadata,
  TokenRefused,
  type TokenVerifier,
  type VerifiedToken,
  VerifierUnavailable,
} from "../oauth/resource.ts";

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/**
 * Whether `given` equals `expected`, in time that depends on neither value (both are hashed
 * first, so lengths leak nothing either).
 */
export function tokensMatch(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i);
  return match?.[1];
}

/** An RFC 7230 quoted-string: `value` in double quotes, `"` and `\\` escaped. */
function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Throws 401 `unauthorized` unless the request carries `Authorization: Bearer <token>`; does
 * nothing when `token` is unset. `WWW-Authenticate` names the problem (RFC 6750 `error` and
 * `error_description`), so OAuth clients report it instead of starting discovery. The answer
 * never contains the expected or the given token.
 * @example
 * ```ts
 * requireBearer(request, config.MCPCOMM_AUTH_TOKEN); // throws HttpError(401) on a bad token
 * ```
 */
export function requireBearer(request: Request, token: string | undefined): void {
  if (!token) return;
  const given = bearerToken(request);
  if (given !== undefined && tokensMatch(given, token)) return;
  const description = given === undefined
    ? "Missing bearer token: this server requires MCPCOMM_AUTH_TOKEN"
    : "Invalid bearer token";
  throw new HttpError(
    401,
    "unauthorized",
    given === undefined
      ? "Missing Authorization: Bearer token (this server requires MCPCOMM_AUTH_TOKEN)"
      : "Invalid bearer token",
    {
      "www-authenticate": `Bearer realm="mcpcomm", error="invalid_token", error_description=${
        quoted(description)
      }`,
    },
  );
}

/** Checks requests at the edge of every server; built once per settings object. */
export interface Authenticator {
  /** Whether a token of any kind is required. */
  readonly required: boolean;
  /**
   * Resolves to who the request speaks for (`undefined` when nothing is required); throws
   * {@linkcode HttpError} 401 (missing or invalid token), 403 `insufficient_scope`, or 503 when
   * the authorization server cannot be asked. Challenges carry `resource_metadata` and `scope`
   * when OAuth is on.
   */
  authenticate(request: Request): Promise<VerifiedToken | undefined>;
  /**
   * The answer for a path no route serves: with OAuth, the RFC 9728 metadata document at
   * `/.well-known/oauth-protected-resource` (and its `/mcp`, `/sse`, `/messages`, `/ws`
   * variants); without, the 404 "send the bearer token" on OAuth probe paths; else `undefined`.
   */
  wellKnown(request: Request): Response | undefined;
}

/** What {@linkcode createAuthenticator} needs besides the static token. */
export interface OAuthResourceOptions {
  issuer: string;
  /** This server's public URL (RFC 9728 `resource`). */
  resource: string;
  audiences: string[];
  requiredScopes: string[];
  verifier: TokenVerifier;
}

const PRM_PATH = "/.well-known/oauth-protected-resource";
const PRM_SUFFIXES = ["", "/mcp", "/sse", "/messages", "/ws"];

function challenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) =>
    `${k}=${quoted(v!)}`
  );
  return `Bearer ${parts.join(", ")}`;
}

/**
 * The authenticator for a static token and/or an OAuth resource; with neither, every request
 * passes.
 */
export function createAuthenticator(
  token: string | undefined,
  oauth?: OAuthResourceOptions,
): Authenticator {
  if (!oauth) {
    return {
      required: token !== undefined,
      authenticate(request) {
        requireBearer(request, token);
        return Promise.resolve(token ? { via: "static", scopes: [] } : undefined);
      },
      wellKnown: (request) => oauthProbeAnswer(new URL(request.url).pathname, token),
    };
  }
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

const built = new WeakMap<Config, Authenticator>();

/**
 * The one authenticator of a settings object (`MCPCOMM_AUTH_TOKEN`, `OAUTH_*`), built on first
 * use and shared by every edge of the process; throws {@linkcode ConfigError} for an incomplete
 * OAuth setup.
 */
export function authenticatorFor(config: Config): Authenticator {
  let auth = built.get(config);
  if (auth) return auth;
  let oauth: OAuthResourceOptions | undefined;
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
    oauth = {
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
  auth = createAuthenticator(config.MCPCOMM_AUTH_TOKEN, oauth);
  built.set(config, auth);
  return auth;
}

/**
 * Checks a request with an authenticator, or with a bare static token (older call sites);
 * throws {@linkcode HttpError} 401/403/503.
 */
export function authenticate(
  request: Request,
  auth: Authenticator | string | undefined,
): Promise<VerifiedToken | undefined> {
  if (typeof auth === "object") return auth.authenticate(request);
  try {
    requireBearer(request, auth);
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve(auth ? { via: "static", scopes: [] } : undefined);
}

/** A stand-in for `MCPCOMM_AUTH_TOKEN` in exposure checks: set when any token is required. */
export function guardOf(config: Config): string | undefined {
  return config.MCPCOMM_AUTH_TOKEN ?? config.OAUTH_ISSUER;
}

/** What {@linkcode warnIfExposed} needs to say what is exposed. */
export interface ExposureInfo {
  /** The server's name, e.g. `Server B`. */
  server: string;
  /** The bound address. */
  bindHost: string;
  port: number;
  token: string | undefined;
  /** What anyone reaching the port can do, e.g. `POST /process (spends AI provider credit)`. */
  exposed: string[];
}

/**
 * Logs one warning when a server binds a non-loopback address without a token, naming what is
 * then open to anyone who reaches the port. Returns whether it warned.
 */
export function warnIfExposed(log: Logger, info: ExposureInfo): boolean {
  if (info.token || isLoopbackHost(info.bindHost)) return false;
  log.warn(
    `${info.server} listens on ${info.bindHost}:${info.port} without MCPCOMM_AUTH_TOKEN: anyone ` +
      `who can reach this port can use ${info.exposed.join(", ")}. Set MCPCOMM_AUTH_TOKEN ` +
      `(--auth-token) or bind 127.0.0.1.`,
  );
  return true;
}

/** What {@linkcode refuseOpenBind} needs to decide, and to say how to get out. */
export interface OpenBind {
  /** What anyone reaching the port could use, e.g. `the openai provider` or `run_command`. */
  serving: string;
  /** The bound address. */
  bindHost: string;
  /** The settings or flags that choose the address, e.g. `HTTP_HOST, --host`. */
  hostSetting: string;
  token: string | undefined;
  /** `MCPCOMM_INSECURE_NO_AUTH`: the operator accepts the risk. */
  insecure: boolean;
}

/**
 * Throws {@linkcode ConfigError} when `serving` would be open on a non-loopback address without
 * MCPCOMM_AUTH_TOKEN and without MCPCOMM_INSECURE_NO_AUTH, naming the three ways out.
 * @example
 * ```ts
 * refuseOpenBind({ serving: "run_command", bindHost: "0.0.0.0", hostSetting: "--host",
 *   token: undefined, insecure: false }); // throws
 * ```
 */
export function refuseOpenBind(bind: OpenBind): void {
  if (bind.token || bind.insecure || isLoopbackHost(bind.bindHost)) return;
  throw new ConfigError(
    `Refusing to serve ${bind.serving} on ${bind.bindHost} without a token: set ` +
      `MCPCOMM_AUTH_TOKEN (--auth-token), or bind 127.0.0.1 (${bind.hostSetting}), or accept ` +
      `the risk with MCPCOMM_INSECURE_NO_AUTH=true (--insecure-no-auth)`,
  );
}
