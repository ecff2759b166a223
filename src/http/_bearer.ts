/**
 * The shared-secret token between the machines (`MCPCOMM_AUTH_TOKEN`): reading it from
 * `Authorization: Bearer`, comparing it in constant time, and the 401 that names the problem.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../core/mod.ts";

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
export function quoted(value: string): string {
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

/** Where OAuth clients (`mcp-remote`) look for metadata and client registration after a 401. */
const OAUTH_PATHS =
  /^\/(?:\.well-known\/(?:oauth-protected-resource|oauth-authorization-server|openid-configuration)(?:\/.*)?|register|authorize|token)$/;

const NO_OAUTH = new HttpError(
  404,
  "not_found",
  "This server has no OAuth: send MCPCOMM_AUTH_TOKEN as the header Authorization: Bearer <token> " +
    '(mcp-remote: --header "Authorization: Bearer <token>")',
);

/**
 * With a token set, the 404 for the OAuth discovery and registration paths saying to send the
 * bearer token instead; `undefined` for other paths or without a token.
 */
export function oauthProbeAnswer(path: string, token: string | undefined): Response | undefined {
  return token && OAUTH_PATHS.test(path) ? NO_OAUTH.toResponse() : undefined;
}
