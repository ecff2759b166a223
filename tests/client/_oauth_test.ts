import { assert, assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { startOAuthServerB } from "../oauth/_setup.ts";
import { setLogLevel } from "../../src/core/log.ts";
import { ServerRegistry } from "../../src/client/_registry.ts";
import { tokenFilePath } from "../../src/client/_oauth.ts";
import { parseTarget } from "../../src/mcp/targets.ts";
import { tempDir } from "../_helpers.ts";

/** A real OpenID provider (registration, code + PKCE, refresh) and a Server B that needs its tokens. */
async function setup(accessTokenTtl = 3600) {
  setLogLevel("error");
  const s = await startOAuthServerB("ai", { OAUTH_CLOCK_TOLERANCE_SECONDS: "0" }, {
    authorizationCode: true,
    accessTokenTtl,
  });
  const dir = await tempDir({ prefix: "oauth-client-" });
  return {
    idp: s.idp,
    b: s.b,
    dir: `${dir}/tokens`,
    registry: () =>
      new ServerRegistry({
        clientName: "oauth-test",
        version: "0",
        timeoutMs: 20_000,
        oauth: { dir: `${dir}/tokens`, browser: "auto" },
      }),
    async [Symbol.asyncDispose]() {
      await s[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("mcpcomm client authorizes on the 401: registration, code with PKCE, tokens stored 0600 in a 0700 directory and used again", async () => {
  await using s = await setup();
  const target = parseTarget(`${s.b.url}/mcp`);
  {
    await using servers = s.registry();
    await servers.add("b", target);
    assert((await servers.tools("b")).length > 0);
  }
  assertEquals([s.idp.registrations, s.idp.authorizations, s.idp.tokenRequests], [1, 1, 1]);
  const file = await tokenFilePath(s.dir, target.kind === "http" ? target.url : new URL("x:"));
  if (Deno.build.os !== "windows") {
    assertEquals((await Deno.stat(s.dir)).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
  }
  const stored = JSON.parse(await Deno.readTextFile(file));
  assertEquals(stored.server, `${s.b.url}/mcp`);
  assert(stored.tokens.access_token && stored.tokens.refresh_token, "access and refresh token");
  assertMatch(stored.client.client_id, /\S/);
  // A second run finds the stored tokens: no registration, no authorization, no token request.
  {
    await using servers = s.registry();
    await servers.add("b", target);
    assert((await servers.tools("b")).length > 0);
  }
  assertEquals([s.idp.registrations, s.idp.authorizations, s.idp.tokenRequests], [1, 1, 1]);
});

Deno.test("mcpcomm client refreshes an expired access token with its refresh token, without a new authorization", async () => {
  await using s = await setup(1);
  const target = parseTarget(`${s.b.url}/mcp`);
  await using servers = s.registry();
  await servers.add("b", target);
  const file = await tokenFilePath(s.dir, new URL(`${s.b.url}/mcp`));
  const first = JSON.parse(await Deno.readTextFile(file)).tokens.access_token;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert((await servers.tools("b")).length > 0);
  assertEquals(s.idp.authorizations, 1, "no second authorization");
  assertEquals(s.idp.tokenRequests, 2, "the code exchange and one refresh");
  const second = JSON.parse(await Deno.readTextFile(file)).tokens.access_token;
  assert(second !== first, "the refreshed token is stored");
});

Deno.test("mcpcomm client without OAuth fails a 401 with an error naming the server", async () => {
  await using s = await setup();
  await using servers = new ServerRegistry({ clientName: "t", version: "0", timeoutMs: 20_000 });
  const error = await assertRejects(() => servers.add("b", parseTarget(`${s.b.url}/mcp`)));
  assertMatch((error as Error).message, /^Cannot connect to http:\/\/127\.0\.0\.1:\d+\/mcp: /);
  assertEquals(s.idp.authorizations, 0);
});
