import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { freePort, tempFile, testConfig } from "../_helpers.ts";
import { startOidcProvider } from "../fakes/oidc_provider.ts";
import { startOAuthServerB } from "../oauth/_setup.ts";
import { createServerBPool } from "../../src/server_a/b_pool.ts";
import { serverBPoolOptions } from "../../src/server_a/mod.ts";
import type { Config } from "../../src/core/config.ts";
import { UpstreamError } from "../../src/core/errors.ts";
import { createClientCredentialsSource } from "../../src/oauth/client_credentials.ts";
import { startHttpServerA, type ToolAnswer } from "./_server_a.ts";

const clientOf = (config: Config) => createServerBPool(serverBPoolOptions(config));

const DOWNSTREAM = "downstream-token-of-32-characters";

/** A real OpenID provider and a Server B that accepts only its tokens (scope `ai`). */
function setup() {
  return startOAuthServerB("ai");
}

Deno.test("Server A calls Server B with a client-credentials token, cached, and renews it once after B's 401", async () => {
  await using s = await setup();
  await using serverA = await startHttpServerA({
    SERVER_B_URL: s.b.url,
    MCPCOMM_AUTH_TOKEN: DOWNSTREAM,
    SERVER_B_OAUTH_ISSUER: s.idp.issuer,
    SERVER_B_OAUTH_CLIENT_ID: s.idp.basic.id,
    SERVER_B_OAUTH_CLIENT_SECRET: s.idp.basic.secret,
    SERVER_B_OAUTH_SCOPE: "ai",
  });
  const client = new Client({ name: "b-oauth-test", version: "0.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(serverA.mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${DOWNSTREAM}` } },
    }),
  );
  try {
    const send = async (message: string) =>
      (await client.callTool({ name: "send_message_to_ai", arguments: { message } })) as ToolAnswer;
    for (const message of ["first", "second"]) {
      const answer = await send(message);
      assert(!answer.isError, JSON.stringify(answer));
    }
    assertEquals(s.idp.tokenRequests, 1, "one token for both calls (cached)");
    // The downstream client's token is never passed on: Server B accepts only OAuth tokens.
    await s.idp.rotate();
    // A token of the new key makes Server B fetch the JWKS again, which lists only that key now.
    const fresh = await s.idp.token(s.idp.basic, { scope: "ai" });
    const seen = await fetch(`${s.b.url}/models`, {
      headers: { authorization: `Bearer ${fresh}` },
    });
    await seen.body?.cancel();
    assertEquals(seen.status, 200);
    const before = s.idp.tokenRequests;
    const answer = await send("after rotation");
    assert(!answer.isError, JSON.stringify(answer));
    assertEquals(
      s.idp.tokenRequests - before,
      1,
      "B's 401 for the old key's token: exactly one renewal and retry",
    );
  } finally {
    await client.close();
  }
});

Deno.test("Server B client: client_secret_post and private_key_jwt (token URL set) get tokens", async (t) => {
  await using s = await setup();
  const keyFile = await tempFile({ suffix: ".pem" });
  await Deno.writeTextFile(keyFile, s.idp.privateKeyJwt.privateKeyPem);
  const cases: [string, Record<string, string>][] = [
    ["client_secret_post", {
      SERVER_B_OAUTH_CLIENT_ID: s.idp.post.id,
      SERVER_B_OAUTH_CLIENT_SECRET: s.idp.post.secret,
      SERVER_B_OAUTH_AUTH_METHOD: "client_secret_post",
    }],
    ["private_key_jwt", {
      SERVER_B_OAUTH_CLIENT_ID: s.idp.privateKeyJwt.id,
      SERVER_B_OAUTH_PRIVATE_KEY_FILE: keyFile,
    }],
  ];
  for (const [name, env] of cases) {
    await t.step(name, async () => {
      const config = testConfig({
        SERVER_B_URL: s.b.url,
        SERVER_B_OAUTH_TOKEN_URL: s.idp.tokenUrl,
        SERVER_B_OAUTH_SCOPE: "ai",
        ...env,
      });
      const b = clientOf(config);
      try {
        assertEquals((await b.models()).provider, "mock");
      } finally {
        b.close();
      }
    });
  }
  await Deno.remove(keyFile);
});

Deno.test("Server B client: refused client credentials become one error naming the token endpoint, without the secret", async () => {
  await using s = await setup();
  const secret = "wrong-secret-that-must-not-leak";
  const b = clientOf(testConfig({
    SERVER_B_URL: s.b.url,
    SERVER_B_OAUTH_TOKEN_URL: s.idp.tokenUrl,
    SERVER_B_OAUTH_CLIENT_ID: s.idp.basic.id,
    SERVER_B_OAUTH_CLIENT_SECRET: secret,
  }));
  try {
    const error = await assertRejects(() => b.models(), UpstreamError);
    assertMatch(
      error.message,
      /^Server B at .* was not called: no access token for it \(The token endpoint .*\/token refused the client credentials \(invalid_client/,
    );
    assert(!error.message.includes(secret));
    assertEquals(s.idp.tokenRequests, 1, "not retried");
  } finally {
    b.close();
  }
});

Deno.test("Server B client: SERVER_B_OAUTH_CLIENT_ID without a token URL or issuer is a one-line setting error", () => {
  let message = "";
  try {
    clientOf(testConfig({ SERVER_B_OAUTH_CLIENT_ID: "a" }));
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^SERVER_B_OAUTH_CLIENT_ID is set but neither SERVER_B_OAUTH_TOKEN_URL/);
});

Deno.test("Server A's own /mcp takes OAuth tokens and challenges like Server B", async () => {
  const port = freePort();
  const resource = `http://127.0.0.1:${port}`;
  await using idp = await startOidcProvider({ defaultResource: resource });
  await using serverA = await startHttpServerA({
    SERVER_A_PORT: String(port),
    OAUTH_ISSUER: idp.issuer,
    OAUTH_RESOURCE: resource,
  });
  const refused = await fetch(serverA.mcpUrl, { method: "POST" });
  await refused.body?.cancel();
  assertEquals(refused.status, 401);
  assertMatch(
    refused.headers.get("www-authenticate") ?? "",
    /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/,
  );
  const client = new Client({ name: "a-oauth-test", version: "0.0.0" });
  const token = await idp.token(idp.basic, { resource });
  await client.connect(
    new StreamableHTTPClientTransport(serverA.mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  try {
    const { tools } = await client.listTools();
    assert(tools.length > 0);
  } finally {
    await client.close();
  }
});

Deno.test("client credentials: concurrent callers share one token request; renew asks once per stale token", async () => {
  await using s = await setup();
  const source = createClientCredentialsSource({
    tokenUrl: s.idp.tokenUrl,
    clientId: s.idp.basic.id,
    clientSecret: s.idp.basic.secret,
    method: "client_secret_basic",
    scope: "ai",
  });
  const headers = await Promise.all([1, 2, 3, 4, 5].map(() => source.authorization()));
  assertEquals(new Set(headers).size, 1);
  assertEquals(s.idp.tokenRequests, 1);
  const renewed = await Promise.all(
    [1, 2, 3].map(() => source.authorization({ stale: headers[0]! })),
  );
  assertEquals(new Set(renewed).size, 1);
  assert(renewed[0] !== headers[0]);
  assertEquals(s.idp.tokenRequests, 2);
  assertEquals(await source.authorization({ stale: headers[0]! }), renewed[0]);
  assertEquals(s.idp.tokenRequests, 2, "a renewal for an already replaced token asks nothing");
});
