/**
 * What every edge of a server calls to check a request: one per settings object.
 * @module
 */
import type { VerifiedToken } from "../oauth/mod.ts";

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
