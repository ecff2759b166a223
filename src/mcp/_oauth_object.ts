/**
 * A server's `oauth` object in a servers file: client credentials or a pre-registered client of
 * the interactive flow.
 * @module
 */
import { redactSecret } from "../core/mod.ts";
import { type ClientAuthMethod, MachineOAuthProvider, signingAlgorithm } from "../oauth/mod.ts";
import type { TargetOAuth } from "./targets.ts";
import { isObject, jsonPath, readFailure } from "./_json_path.ts";
import { type Environment, expandVariables, VARIABLE } from "./_target_values.ts";

const AUTH_METHODS: readonly ClientAuthMethod[] = [
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
];
const OAUTH_KEYS = [
  "grant",
  "clientId",
  "clientSecret",
  "scope",
  "issuer",
  "tokenUrl",
  "authMethod",
  "privateKeyFile",
];

/**
 * Reads a server's `oauth` object, `${VAR}` expanded in every value: client credentials
 * (`clientId`, `clientSecret` or `privateKeyFile`, `authMethod`, `scope`, `issuer`,
 * `tokenUrl`), or with `"grant": "authorization_code"` the pre-registered client (`clientId`,
 * `clientSecret`) of the interactive flow. The secret and the key are registered for
 * redaction. `fail` reports a problem at a JSON path below `path`, never quoting a value.
 */
export function parseOAuthObject(
  value: unknown,
  path: readonly (string | number)[],
  env: Environment,
  fail: (path: readonly (string | number)[], message: string) => never,
): TargetOAuth {
  if (!isObject(value)) return fail(path, "expected an object with clientId");
  const where = (key: string) => `${jsonPath([...path, key])}`;
  for (const key of Object.keys(value)) {
    if (!OAUTH_KEYS.includes(key)) {
      fail([...path, key], `unknown key (use ${OAUTH_KEYS.join(", ")})`);
    }
  }
  const text = (key: string): string | undefined => {
    const raw = value[key];
    if (raw === undefined) return undefined;
    if (typeof raw !== "string" || raw.trim() === "") {
      return fail([...path, key], "expected a non-empty string");
    }
    let expanded: string;
    try {
      expanded = expandVariables(raw, env, where(key)).trim();
    } catch (error) {
      return fail([], (error as Error).message);
    }
    for (const [, name] of raw.matchAll(VARIABLE)) redactSecret(env[name!]);
    return expanded;
  };
  const url = (key: string): string | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol === "https:" || parsed.protocol === "http:") return raw;
    } catch {
      // reported below
    }
    return fail([...path, key], "expected an http(s) URL");
  };
  const clientId = text("clientId") ?? fail([...path, "clientId"], "is required");
  const clientSecret = text("clientSecret");
  redactSecret(clientSecret);
  const grant = text("grant") ?? "client_credentials";
  if (grant === "authorization_code") {
    for (const key of ["privateKeyFile", "authMethod", "tokenUrl", "issuer", "scope"]) {
      if (value[key] !== undefined) fail([...path, key], "applies to client_credentials only");
    }
    return { clientId, clientSecret };
  }
  if (grant !== "client_credentials") {
    fail([...path, "grant"], "expected client_credentials or authorization_code");
  }
  const keyFile = text("privateKeyFile");
  let privateKeyPem: string | undefined;
  if (keyFile !== undefined) {
    try {
      privateKeyPem = Deno.readTextFileSync(keyFile);
      signingAlgorithm(privateKeyPem);
    } catch (error) {
      fail(
        [...path, "privateKeyFile"],
        `cannot use ${keyFile} as a PEM private key (${readFailure(error)})`,
      );
    }
    redactSecret(privateKeyPem);
  }
  const method = text("authMethod") ?? (privateKeyPem ? "private_key_jwt" : "client_secret_basic");
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    fail([...path, "authMethod"], `expected one of ${AUTH_METHODS.join(", ")}`);
  }
  if (method === "private_key_jwt" && !privateKeyPem) {
    fail([...path, "privateKeyFile"], "is required for private_key_jwt");
  }
  if (method !== "private_key_jwt" && !clientSecret) {
    fail([...path, "clientSecret"], `is required for ${method}`);
  }
  return new MachineOAuthProvider({
    clientId,
    clientSecret,
    privateKeyPem,
    authMethod: method as ClientAuthMethod,
    scope: text("scope"),
    issuer: url("issuer"),
    tokenUrl: url("tokenUrl"),
  });
}
