/**
 * The error of an interactive authorization that did not complete.
 * @module
 */

/** An authorization did not complete: the user refused, the state did not match, time ran out. */
export class AuthorizationError extends Error {
  override name = "AuthorizationError";
}
