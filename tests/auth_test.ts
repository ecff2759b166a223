import { bearerToken, requireBearer, tokensMatch, warnIfExposed } from "../src/auth.ts";
import { HttpError } from "../src/errors.ts";
import { createLogger, setLogSink } from "../src/log.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "./_assert.ts";

const TOKEN = "tok-Ab3Cd5Ef7Gh9Ij1Kl";

const withAuth = (value?: string) =>
  new Request("http://b/process", value === undefined ? {} : { headers: { authorization: value } });

Deno.test("requireBearer() accepts the right token and refuses others with 401", async (t) => {
  await t.step("the right token passes, the scheme in any case", () => {
    requireBearer(withAuth(`Bearer ${TOKEN}`), TOKEN);
    requireBearer(withAuth(`bearer ${TOKEN}`), TOKEN);
  });
  await t.step("no token setting: everything passes", () => {
    requireBearer(withAuth(), undefined);
  });
  for (
    const [name, header] of [
      ["missing", undefined],
      ["wrong", `Bearer ${TOKEN}x`],
      ["a prefix of it", `Bearer ${TOKEN.slice(0, -1)}`],
      ["empty", "Bearer "],
      ["Basic", `Basic ${TOKEN}`],
      ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
    ] as const
  ) {
    await t.step(`${name}: 401 without the token in the answer`, async () => {
      const error = assertThrows(() => requireBearer(withAuth(header), TOKEN), HttpError);
      const response = (error as HttpError).toResponse();
      assertEquals(response.status, 401);
      assertEquals(response.headers.get("www-authenticate"), 'Bearer realm="mcpcomm"');
      const body = await response.text();
      assertEquals(JSON.parse(body).error.code, "unauthorized");
      assert(!body.includes(TOKEN.slice(3, 10)), body);
    });
  }
});

Deno.test("tokensMatch() and bearerToken() compare and extract exactly", () => {
  assert(tokensMatch(TOKEN, TOKEN));
  assert(!tokensMatch(TOKEN, `${TOKEN}!`));
  assert(!tokensMatch("", TOKEN));
  assertEquals(bearerToken(withAuth(`Bearer\t${TOKEN} `)), TOKEN);
  assertEquals(bearerToken(withAuth("Bearer")), undefined);
});

Deno.test("warnIfExposed() warns once for a non-loopback bind without a token, else stays quiet", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    const log = createLogger("test");
    const info = { server: "Server X", port: 9000, exposed: ["POST /thing", "MCP at /mcp"] };
    assert(warnIfExposed(log, { ...info, bindHost: "0.0.0.0", token: undefined }));
    assert(!warnIfExposed(log, { ...info, bindHost: "0.0.0.0", token: TOKEN }));
    assert(!warnIfExposed(log, { ...info, bindHost: "127.0.0.1", token: undefined }));
    assert(!warnIfExposed(log, { ...info, bindHost: "::1", token: undefined }));
  } finally {
    restore();
  }
  assertEquals(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assertEquals(line.level, "warn");
  assertMatch(
    line.msg,
    /^Server X listens on 0\.0\.0\.0:9000 without MCPCOMM_AUTH_TOKEN: anyone who can reach this port can use POST \/thing, MCP at \/mcp\./,
  );
});
