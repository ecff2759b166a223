import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { postJson, readSse, startTestServerB, tempDir } from "../_helpers.ts";
import { spawnServer } from "../_spawn.ts";
import { type FakePlan, startFakeBedrock } from "../fakes/bedrock_server.ts";
import { sseReader, within } from "../fakes/sse_reader.ts";
import { errorOf, serverBOver } from "./_harness.ts";

const KEY_ID = "AKIDFAKEKEYS0001";
const SECRET = "fake/secret/access/key/0123456789";

async function setUp(env: Record<string, string> = {}) {
  const fake = await startFakeBedrock();
  return await serverBOver(fake, {
    AI_PROVIDER: "bedrock",
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_SESSION_TOKEN: "fake-session-token",
    AWS_REGION: "us-west-2",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
    BEDROCK_DEFAULT_MODEL: "claude-3.5-haiku",
    ...env,
  });
}

Deno.test("createBedrockProvider() answers /process with Converse, signed with the keys", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;

  await t.step("a short name resolves to the full ID; cost = tokens x price", async () => {
    fake.plan({ pieces: ["Hi ", "there"], usage: { input: 1000, output: 500 } });
    const response = await postJson(`${b.url}/process`, {
      message: "Hello",
      context: "Be brief.",
      temperature: 0.2,
      max_tokens: 64,
    });
    assertEquals(response.status, 200);
    const body = await response.json();
    assertEquals(body.aiResponse, "Hi there");
    assertEquals(body.provider, "bedrock");
    assertEquals(body.model, "anthropic.claude-3-5-haiku-20241022-v1:0");
    assertEquals(body.usage, { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    // Claude 3.5 Haiku on Bedrock: $0.0008 in, $0.004 out per 1K tokens
    assertEquals(body.estimatedCost, 0.0028);
    const call = fake.calls.at(-1)!;
    assertEquals(call.path, "/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse");
    assertMatch(
      call.headers.get("authorization") ?? "",
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${KEY_ID}/\\d{8}/us-west-2/bedrock/aws4_request`),
    );
    assertEquals(call.headers.get("x-amz-security-token"), "fake-session-token");
    assertEquals(call.body.messages, [{ role: "user", content: [{ text: "Hello" }] }]);
    assertEquals(call.body.system, [{ text: "Be brief." }]);
    assertEquals(call.body.inferenceConfig, { maxTokens: 64, temperature: 0.2 });
  });

  await t.step("inference-profile IDs are sent as they are and priced as their model", async () => {
    const model = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    fake.plan({ usage: { input: 2000, output: 1000 } });
    const body = await (await postJson(`${b.url}/process`, { message: "Hi", model })).json();
    assertEquals(fake.calls.at(-1)!.path, `/model/${model}/converse`);
    assertEquals(body.model, model);
    // Claude Sonnet 4: $0.003 in, $0.015 out per 1K tokens
    assertEquals(body.estimatedCost, 0.021);
  });

  await t.step("an unknown model costs null and is counted as unpriced", async () => {
    const before = await b.service.ledger.stats();
    const model = "meta.llama3-70b-instruct-v1:0";
    const body = await (await postJson(`${b.url}/process`, { message: "Hi", model })).json();
    assertEquals(body.estimatedCost, null);
    const after = await b.service.ledger.stats();
    assertEquals(after.unpricedRequests, before.unpricedRequests + 1);
    assertEquals(after.estimatedTotalCost, before.estimatedTotalCost);
    assertEquals(after.models[model]?.unpricedRequests, 1);
  });

  await t.step("/models lists short names and full IDs; /health is configured", async () => {
    const models = await (await fetch(`${b.url}/models`)).json();
    assertEquals(models.defaultModel, "claude-3.5-haiku");
    assert(models.models.includes("claude-sonnet-4.5"), JSON.stringify(models));
    assert(models.models.includes("anthropic.claude-3-5-sonnet-20241022-v2:0"));
    const health = await (await fetch(`${b.url}/health`)).json();
    assertEquals(health.ai, { configured: true, status: "healthy" });
  });
});

Deno.test("createBedrockProvider() streams ConverseStream deltas as they arrive", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;

  await t.step(
    "the first delta reaches the HTTP client while the fake holds the rest",
    async () => {
      const release = Promise.withResolvers<void>();
      fake.plan({
        pieces: ["One", " two", " three"],
        usage: { input: 3000, output: 1500 },
        hold: release.promise,
      });
      const response = await postJson(`${b.url}/stream`, {
        message: "Count",
        model: "claude-3.5-sonnet-v2",
      });
      assertEquals(response.status, 200);
      const events = sseReader(response);
      const first = await within(
        events.next(),
        15_000,
        "the first delta did not reach the client while the fake held the rest",
      );
      assertEquals(JSON.parse(first!.data), { text: "One" });
      release.resolve();
      const rest = await events.rest();
      assertEquals(rest.map((e) => e.event ?? "delta"), ["delta", "delta", "done"]);
      const result = JSON.parse(rest.at(-1)!.data);
      assertEquals(result.aiResponse, "One two three");
      assertEquals(result.model, "anthropic.claude-3-5-sonnet-20241022-v2:0");
      assertEquals(result.usage, { promptTokens: 3000, completionTokens: 1500, totalTokens: 4500 });
      // Claude 3.5 Sonnet v2: $0.003 in, $0.015 out per 1K tokens
      assertEquals(result.estimatedCost, 0.0315);
      assertEquals(
        fake.calls.at(-1)!.path,
        "/model/anthropic.claude-3-5-sonnet-20241022-v2:0/converse-stream",
      );
    },
  );

  const midStream: [string, string][] = [
    ["throttlingException", "provider_rate_limit"],
    ["modelStreamErrorException", "provider_unavailable"],
  ];
  for (const [exception, code] of midStream) {
    await t.step(`${exception} after HTTP 200 ends the SSE stream with event: error`, async () => {
      const calls = fake.calls.length;
      fake.plan({
        pieces: ["Part", " two", " three"],
        failAfter: 1,
        failWith: exception,
        message: `Fake ${exception}`,
      });
      const events = await readSse(await postJson(`${b.url}/stream`, { message: "Go" }));
      assertEquals(events.map((e) => e.event ?? "delta"), ["delta", "error"]);
      const error = JSON.parse(events[1]!.data).error;
      assertEquals(error.code, code);
      assertMatch(error.message, new RegExp(`Fake ${exception}`));
      assertEquals(fake.calls.length, calls + 1);
    });
  }

  await t.step("an in-stream throttlingException before any delta is retried", async () => {
    const calls = fake.calls.length;
    fake.plan({ failAfter: 0, failWith: "throttlingException" });
    const events = await readSse(await postJson(`${b.url}/stream`, { message: "Go" }));
    assertEquals(events.at(-1)!.event, "done");
    assertEquals(fake.calls.length, calls + 2);
  });

  await t.step("a stream without messageStop is an error, never a truncated success", async () => {
    fake.plan({ pieces: ["Part", " two"], failAfter: 1, failWith: "cut" });
    const events = await readSse(await postJson(`${b.url}/stream`, { message: "Go" }));
    assertEquals(events.map((e) => e.event ?? "delta"), ["delta", "error"]);
    assertMatch(JSON.parse(events[1]!.data).error.message, /before the answer was complete/);
  });

  await t.step("a client that disconnects cancels the upstream request", async () => {
    const release = Promise.withResolvers<void>();
    fake.plan({ pieces: ["Slow", " answer"], hold: release.promise });
    const events = sseReader(await postJson(`${b.url}/stream`, { message: "Go" }));
    assertEquals(JSON.parse((await events.next())!.data), { text: "Slow" });
    const call = fake.calls.at(-1)!;
    assertEquals(call.aborted, false);
    await events.cancel();
    assertEquals(await fake.aborted(), call);
    release.resolve();
  });
});

Deno.test("createBedrockProvider() maps each Bedrock exception, retried by Server B only", async (t) => {
  await using env = await setUp();
  const { fake, b } = env;
  const fail = (status: number, error: string): FakePlan => ({
    status,
    error,
    message: `Fake ${error}`,
  });
  const cases: {
    name: string;
    plans: FakePlan[];
    status: number;
    code: string;
    calls: number;
    message?: RegExp;
  }[] = [
    {
      name: "ThrottlingException is retried, then 429",
      plans: [1, 2, 3].map(() => fail(429, "ThrottlingException")),
      status: 429,
      code: "provider_rate_limit",
      calls: 3,
    },
    {
      name: "ServiceUnavailableException is retried, then 502",
      plans: [1, 2, 3].map(() => fail(503, "ServiceUnavailableException")),
      status: 502,
      code: "provider_unavailable",
      calls: 3,
    },
    {
      name: "ModelTimeoutException is retried, then 504",
      plans: [1, 2, 3].map(() => fail(408, "ModelTimeoutException")),
      status: 504,
      code: "provider_timeout",
      calls: 3,
    },
    {
      name: "ValidationException is not retried and names the cause",
      plans: [fail(400, "ValidationException")],
      status: 400,
      code: "provider_bad_request",
      calls: 1,
      message: /ValidationException.*Fake ValidationException/,
    },
    {
      name: "AccessDeniedException is not retried and names the cause and settings",
      plans: [fail(403, "AccessDeniedException")],
      status: 502,
      code: "provider_auth",
      calls: 1,
      message: /AccessDeniedException.*Fake AccessDeniedException.*AWS_ACCESS_KEY_ID/,
    },
    {
      name: "ServiceQuotaExceededException is not retried",
      plans: [fail(400, "ServiceQuotaExceededException")],
      status: 502,
      code: "provider_quota",
      calls: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const before = fake.calls.length;
      fake.plan(...c.plans);
      const response = await postJson(`${b.url}/process`, { message: "Hi" });
      assertEquals(response.status, c.status);
      const text = await response.text();
      const error = JSON.parse(text).error;
      assertEquals(error.code, c.code);
      if (c.message) assertMatch(error.message, c.message);
      assert(!text.includes(SECRET), text);
      assertEquals(fake.calls.length - before, c.calls);
    });
  }

  await t.step("ThrottlingException twice, then an answer", async () => {
    const before = fake.calls.length;
    fake.plan(fail(429, "ThrottlingException"), fail(429, "ThrottlingException"));
    const response = await postJson(`${b.url}/process`, { message: "Hi" });
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assertEquals(fake.calls.length - before, 3);
  });
});

Deno.test("createBedrockProvider() reports half-set keys at /health and names them on calls", async () => {
  await using b = await startTestServerB({
    AI_PROVIDER: "bedrock",
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: "http://127.0.0.1:9",
  });
  const health = await (await fetch(`${b.url}/health`)).json();
  assertEquals(health.ai, {
    configured: false,
    status: "not configured",
    reason: "AWS_SECRET_ACCESS_KEY is not set",
  });
  const response = await postJson(`${b.url}/process`, { message: "Hi" });
  assertEquals(response.status, 502);
  const error = await errorOf(response);
  assertEquals(error.code, "provider_auth");
  assertMatch(error.message, /AWS_SECRET_ACCESS_KEY is not set/);
});

function startChildServerB(env: Record<string, string>) {
  return spawnServer(["server-b"], {
    env: {
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      HTTP_HOST: "127.0.0.1",
      HTTP_PORT: "0",
      ...env,
    },
    ...(env.HOME ? { cwd: env.HOME } : {}),
  });
}

Deno.test("createBedrockProvider() signs with the keys of AWS_PROFILE from ~/.aws/credentials", async () => {
  await using fake = await startFakeBedrock();
  const home = await tempDir();
  await Deno.mkdir(`${home}/.aws`);
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    "[default]\naws_access_key_id = AKIDDEFAULTWRONG\naws_secret_access_key = nope\n\n" +
      "[work]\naws_access_key_id = AKIDPROFILEWORK1\naws_secret_access_key = profile-secret\n",
  );
  try {
    await using b = await startChildServerB({
      HOME: home,
      AI_PROVIDER: "bedrock",
      AWS_PROFILE: "work",
      AWS_REGION: "eu-central-1",
      AWS_ENDPOINT_URL: fake.url,
    });
    const health = await (await fetch(`${b.url}/health`)).json();
    assertEquals(health.ai.configured, true);
    const response = await postJson(`${b.url}/process`, { message: "Hi" });
    assertEquals(response.status, 200);
    await response.body?.cancel();
    assertMatch(
      fake.calls.at(-1)!.headers.get("authorization") ?? "",
      /Credential=AKIDPROFILEWORK1\/\d{8}\/eu-central-1\/bedrock\//,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("createBedrockProvider() falls back to the container role of the SDK's default chain", async () => {
  await using fake = await startFakeBedrock();
  const credentialCalls: string[] = [];
  await using roleServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    credentialCalls.push(new URL(req.url).pathname);
    return Response.json({
      AccessKeyId: "ASIAROLECREDS0001",
      SecretAccessKey: "role-secret",
      Token: "role-session-token",
      Expiration: new Date(Date.now() + 3600_000).toISOString(),
    });
  });
  const home = await tempDir();
  try {
    await using b = await startChildServerB({
      HOME: home,
      AI_PROVIDER: "bedrock",
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${roleServer.addr.port}/role`,
    });
    const response = await postJson(`${b.url}/process`, { message: "Hi" });
    assertEquals(response.status, 200);
    await response.body?.cancel();
    const call = fake.calls.at(-1)!;
    assertMatch(call.headers.get("authorization") ?? "", /Credential=ASIAROLECREDS0001\//);
    assertEquals(call.headers.get("x-amz-security-token"), "role-session-token");
    assertEquals(credentialCalls, ["/role"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("createBedrockProvider() without any credentials names the settings to fix", async () => {
  await using fake = await startFakeBedrock();
  const home = await tempDir();
  try {
    await using b = await startChildServerB({
      HOME: home,
      AI_PROVIDER: "bedrock",
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: fake.url,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    const response = await postJson(`${b.url}/process`, { message: "Hi" });
    assertEquals(response.status, 502);
    const error = await errorOf(response);
    assertEquals(error.code, "provider_auth");
    assertMatch(error.message, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    assertEquals(fake.calls.length, 0);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
