import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { freePort, parseChallenge, postJson, startTestServerB } from "../_helpers.ts";
import { type OidcProvider, startOidcProvider } from "../fakes/oidc_provider.ts";
import { startOAuthServerB } from "./_setup.ts";
import { startTestToolbox } from "../_toolbox.ts";
import {
  Client,
  ClientCredentialsProvider,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { initializeBody } from "../mcp/_harness.ts";

const INITIALIZE = initializeBody();
const MCP_HEADERS = { accept: "application/json, text/event-stream" };
const STATIC = "a-static-token-of-32-characters!";

/** A real OpenID provider and a Server B that accepts its tokens (scope `mcp` required). */
async function setup(env: Record<string, string> = {}) {
  const s = await startOAuthServerB("mcp", { OAUTH_CLOCK_TOLERANCE_SECONDS: "0", ...env });
  const { b } = s;
  const models = (token?: string) =>
    fetch(`${b.url}/models`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { ...s, models };
}

async function challengeOf(response: Response) {
  await response.body?.cancel();
  const { scheme, params } = parseChallenge(response.headers.get("www-authenticate") ?? "");
  assertEquals(scheme, "Bearer");
  return params;
}

function goodToken(idp: OidcProvider, resource: string): Promise<string> {
  return idp.token(idp.basic, { scope: "mcp", resource });
}

Deno.test("OAuth: Server B accepts a valid access token on its API and on /mcp", async () => {
  await using s = await setup();
  const token = await goodToken(s.idp, s.resource);
  const answer = await s.models(token);
  assertEquals(answer.status, 200);
  assertEquals((await answer.json()).provider, "mock");
  const mcp = await postJson(`${s.b.url}/mcp`, INITIALIZE, {
    ...MCP_HEADERS,
    authorization: `Bearer ${token}`,
  });
  assertEquals(mcp.status, 200);
  assertEquals((await mcp.json()).result.serverInfo.name, "ai-responder-server");
});

Deno.test("OAuth: a request without a token gets 401 naming the metadata document and scope", async () => {
  await using s = await setup();
  for (
    const response of [await s.models(), await postJson(`${s.b.url}/mcp`, INITIALIZE, MCP_HEADERS)]
  ) {
    assertEquals(response.status, 401);
    assertEquals(await challengeOf(response), {
      realm: "mcpcomm",
      resource_metadata: `${s.resource}/.well-known/oauth-protected-resource`,
      scope: "mcp",
    });
  }
});

Deno.test("OAuth: the protected resource metadata document (RFC 9728) names the issuer", async () => {
  await using s = await setup();
  for (const path of ["", "/mcp"]) {
    const response = await fetch(`${s.b.url}/.well-known/oauth-protected-resource${path}`);
    assertEquals(response.status, 200, path);
    assertEquals(response.headers.get("access-control-allow-origin"), "*");
    assertEquals(await response.json(), {
      resource: s.resource,
      authorization_servers: [s.idp.issuer],
      bearer_methods_supported: ["header"],
      scopes_supported: ["mcp"],
    });
  }
  const other = await fetch(`${s.b.url}/.well-known/oauth-authorization-server`);
  await other.body?.cancel();
  assertEquals(other.status, 401, "no 'this server has no OAuth' 404 while OAuth is on");
});

Deno.test("OAuth: an expired token is refused with 401 invalid_token", async () => {
  await using s = await setup();
  const token = await s.idp.token(s.idp.shortLived, { scope: "mcp", resource: s.resource });
  const exp = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).exp;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 1100));
  const response = await s.models(token);
  assertEquals(response.status, 401);
  assertEquals(await challengeOf(response), {
    realm: "mcpcomm",
    error: "invalid_token",
    error_description: "The access token has expired",
    resource_metadata: `${s.resource}/.well-known/oauth-protected-resource`,
    scope: "mcp",
  });
});

Deno.test("OAuth: a token for another audience is refused with 401 invalid_token", async () => {
  await using s = await setup();
  const token = await s.idp.token(s.idp.basic, {
    scope: "mcp",
    resource: "https://elsewhere.example",
  });
  const response = await s.models(token);
  assertEquals(response.status, 401);
  const params = await challengeOf(response);
  assertEquals(params.error, "invalid_token");
  assertEquals(
    params.error_description,
    "The access token was not issued for this server (audience)",
  );
  assertEquals(params.resource_metadata, `${s.resource}/.well-known/oauth-protected-resource`);
});

Deno.test("OAuth: a token without the required scope is refused with 403 insufficient_scope", async () => {
  await using s = await setup();
  const token = await s.idp.token(s.idp.basic, { scope: "other", resource: s.resource });
  for (
    const response of [
      await s.models(token),
      await postJson(`${s.b.url}/mcp`, INITIALIZE, {
        ...MCP_HEADERS,
        authorization: `Bearer ${token}`,
      }),
    ]
  ) {
    assertEquals(response.status, 403);
    assertEquals(await challengeOf(response), {
      realm: "mcpcomm",
      error: "insufficient_scope",
      error_description: "The access token lacks the scope mcp",
      resource_metadata: `${s.resource}/.well-known/oauth-protected-resource`,
      scope: "mcp",
    });
  }
});

Deno.test("OAuth: after a JWKS rotation, a token of the old key is refused and one of the new key accepted", async () => {
  await using s = await setup();
  const before = await goodToken(s.idp, s.resource);
  const first = await s.models(before);
  await first.body?.cancel();
  assertEquals(first.status, 200);
  await s.idp.rotate();
  const after = await goodToken(s.idp, s.resource);
  const fresh = await s.models(after);
  await fresh.body?.cancel();
  assertEquals(fresh.status, 200, "the unknown key made Server B fetch the JWKS again");
  const old = await s.models(before);
  assertEquals(old.status, 401);
  assertEquals(
    (await challengeOf(old)).error_description,
    "The access token is signed by a key the issuer does not publish",
  );
});

Deno.test("OAuth: the static token keeps working next to OAuth; a wrong one gets the OAuth challenge", async () => {
  await using s = await setup({ MCPCOMM_AUTH_TOKEN: STATIC });
  const byStatic = await s.models(STATIC);
  await byStatic.body?.cancel();
  assertEquals(byStatic.status, 200);
  const byOAuth = await s.models(await goodToken(s.idp, s.resource));
  await byOAuth.body?.cancel();
  assertEquals(byOAuth.status, 200);
  const wrong = await s.models("not-the-static-token-nor-a-jwt");
  assertEquals(wrong.status, 401);
  const params = await challengeOf(wrong);
  assertEquals(params.error, "invalid_token");
  assertEquals(params.resource_metadata, `${s.resource}/.well-known/oauth-protected-resource`);
});

Deno.test("OAuth off: the static token alone, and OAuth probe paths still say to send it", async () => {
  await using b = await startTestServerB({ MCPCOMM_AUTH_TOKEN: STATIC });
  const ok = await fetch(`${b.url}/models`, { headers: { authorization: `Bearer ${STATIC}` } });
  await ok.body?.cancel();
  assertEquals(ok.status, 200);
  const probe = await fetch(`${b.url}/.well-known/oauth-protected-resource`);
  assertEquals(probe.status, 404);
  assertMatch((await probe.json()).error.message, /has no OAuth/);
});

Deno.test("OAuth: opaque tokens are checked by introspection (RFC 7662)", async () => {
  await using s = await setup();
  // The secret is only known once the provider runs: a second Server B with it.
  await using b = await startTestServerB({
    OAUTH_ISSUER: s.idp.issuer,
    OAUTH_RESOURCE: s.resource,
    OAUTH_REQUIRED_SCOPES: "mcp",
    OAUTH_INTROSPECTION_CLIENT_ID: s.idp.introspector.id,
    OAUTH_INTROSPECTION_CLIENT_SECRET: s.idp.introspector.secret,
  });
  const opaque = await s.idp.token(s.idp.opaque, { scope: "mcp", resource: s.resource });
  assert(!opaque.includes("."), "the provider issued an opaque token");
  const ok = await fetch(`${b.url}/models`, { headers: { authorization: `Bearer ${opaque}` } });
  await ok.body?.cancel();
  assertEquals(ok.status, 200);
  const bad = await fetch(`${b.url}/models`, {
    headers: { authorization: "Bearer notAnIssuedOpaqueTokenAtAll123" },
  });
  assertEquals(bad.status, 401);
  assertEquals((await challengeOf(bad)).error_description, "The access token is not active");
});

Deno.test("OAuth: OAUTH_ISSUER without OAUTH_RESOURCE stops start-up with one line naming it", async () => {
  let message = "";
  try {
    await using _b = await startTestServerB({ OAUTH_ISSUER: "http://127.0.0.1:9" });
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^OAUTH_ISSUER is set but OAUTH_RESOURCE is not/);
});

Deno.test("OAuth: the toolbox's /ws, /sse and /mcp take the same tokens and challenges", async (t) => {
  const port = freePort();
  const resource = `http://127.0.0.1:${port}`;
  await using idp = await startOidcProvider({ defaultResource: resource });
  await using box = await startTestToolbox("oauth", {
    port,
    env: {
      OAUTH_ISSUER: idp.issuer,
      OAUTH_RESOURCE: resource,
      OAUTH_REQUIRED_SCOPES: "mcp",
    },
  });
  const good = await goodToken(idp, resource);
  const narrow = await idp.token(idp.basic, { scope: "other", resource });
  const wsHandshake = (token?: string) =>
    fetch(`${box.url}/ws`, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": "mcp",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
  const sse = (token?: string) =>
    fetch(`${box.url}/sse`, {
      headers: {
        accept: "text/event-stream",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
  await t.step("no token: 401 with resource_metadata", async () => {
    for (const response of [await wsHandshake(), await sse()]) {
      assertEquals(response.status, 401);
      assertEquals(
        (await challengeOf(response)).resource_metadata,
        `${resource}/.well-known/oauth-protected-resource`,
      );
    }
  });
  await t.step("a token without the scope: 403 insufficient_scope", async () => {
    for (const response of [await wsHandshake(narrow), await sse(narrow)]) {
      assertEquals(response.status, 403);
      assertEquals((await challengeOf(response)).error, "insufficient_scope");
    }
  });
  await t.step("a good token: /sse opens, /mcp initializes", async () => {
    const stream = await sse(good);
    assertEquals(stream.status, 200);
    await stream.body?.cancel();
    const mcp = await postJson(`${box.url}/mcp`, INITIALIZE, {
      ...MCP_HEADERS,
      authorization: `Bearer ${good}`,
    });
    assertEquals(mcp.status, 200);
    await mcp.body?.cancel();
  });
  await t.step("the metadata document has the /ws variant", async () => {
    const response = await fetch(`${box.url}/.well-known/oauth-protected-resource/ws`);
    assertEquals((await response.json()).resource, resource);
  });
});

Deno.test("OAuth: an SDK v2 client with only client credentials discovers the authorization server from Server B's 401", async () => {
  await using s = await setup();
  const client = new Client({ name: "discovery-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${s.b.url}/mcp`), {
      authProvider: new ClientCredentialsProvider({
        clientId: s.idp.basic.id,
        clientSecret: s.idp.basic.secret,
        scope: "mcp",
        expectedIssuer: s.idp.issuer,
      }),
    }),
  );
  try {
    const { tools } = await client.listTools();
    assert(tools.some((tool) => tool.name === "process_message"), JSON.stringify(tools));
    assertEquals(s.idp.tokenRequests, 1);
  } finally {
    await client.close();
  }
});
