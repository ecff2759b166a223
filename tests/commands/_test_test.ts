import type { TestReport } from "../../src/commands/_test.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runCli, startTestServerB, tempDirSync } from "../_helpers.ts";
import { answerFor, errorAnswer, freePort, startFakeB } from "../server_a/_fake_b.ts";

Deno.test("mcpcomm test proves the chain against a real Server B and exits 0", async () => {
  await using b = await startTestServerB();
  const { code, stdout, stderr } = await runCli(["test", "--server-b-url", b.url]);
  assertEquals(code, 0, stderr);
  for (
    const line of [
      "[1] Checking Server B health",
      "✓ Server B is healthy",
      "Provider: mock",
      "[2] Listing available models on Server B...",
      'Models: ["mock-model"]',
      '[3] Sending message: "What is Python?"',
      "AI Response : [MOCK RESPONSE #1] You said: 'What is Python?'.",
      '[4] Sending message: "Explain AI in one sentence"',
      "AI Response : [MOCK RESPONSE #2] You said: 'Explain AI in one sentence'.",
      "Model       : mock-model",
      "Status      : success",
      "✓ PROOF: Server A communicated with Server B successfully!",
    ]
  ) {
    assert(stdout.includes(line), `missing ${JSON.stringify(line)} in:\n${stdout}`);
  }
  const received = (await b.service.ledger.recent()).map((e) => e.message);
  assertEquals(received, ["What is Python?", "Explain AI in one sentence"]);
});

Deno.test("mcpcomm test --json prints one machine-readable result", async () => {
  await using b = await startTestServerB();
  const { code, stdout } = await runCli(["test", "--json"], { env: { SERVER_B_URL: b.url } });
  assertEquals(code, 0);
  assertEquals(stdout.trim().split("\n").length, 1);
  const report = JSON.parse(stdout) as TestReport;
  assertEquals(report.ok, true);
  assertEquals(report.serverBUrl, b.url);
  assertEquals(report.steps.map((s) => [s.step, s.name, s.ok]), [
    [1, "health", true],
    [2, "models", true],
    [3, "message", true],
    [4, "message", true],
  ]);
  const ids = (await b.service.ledger.recent()).map((e) => e.messageId);
  assertEquals(report.steps.slice(2).map((s) => s.messageId), ids);
  assertEquals(report.steps[2]!.tokens, (await b.service.ledger.recent())[0]!.usage.totalTokens);
});

Deno.test("mcpcomm test with Server B unreachable fails at step 1, naming the URL", async (t) => {
  const url = `http://127.0.0.1:${freePort()}`;
  await t.step("report", async () => {
    const { code, stdout } = await runCli(["test", "--server-b-url", url]);
    assertEquals(code, 1);
    assertMatch(stdout, /\[1\] Checking Server B health/);
    assertMatch(
      stdout,
      new RegExp(
        `✗ FAILED at step \\[1\\]: Server B at ${url} refused the connection after 3 attempts`,
      ),
    );
    assert(!stdout.includes("[2]"), stdout);
  });
  await t.step("--json", async () => {
    const { code, stdout } = await runCli(["test", "--server-b-url", url, "--json"]);
    assertEquals(code, 1);
    const report = JSON.parse(stdout) as TestReport;
    assertEquals(report.ok, false);
    assertMatch(report.error!, /^Step 1 \(health\) failed: Server B at .* refused the connection/);
    assertEquals(report.steps.map((s) => [s.ok, s.skipped ?? false]), [
      [false, false],
      [false, true],
      [false, true],
      [false, true],
    ]);
  });
});

Deno.test("mcpcomm test says which message step failed and why", async () => {
  await using fake = await startFakeB((_req, n, seen) => {
    if (seen.path === "/health") {
      return Response.json({
        status: "healthy",
        server: "fake",
        provider: "fake",
        messagesProcessed: 0,
        ai: { configured: true, status: "healthy" },
      });
    }
    if (seen.path === "/models") {
      return Response.json({
        provider: "fake",
        defaultModel: "fake-model",
        models: ["fake-model"],
      });
    }
    const { message } = JSON.parse(seen.body);
    return message === "What is Python?"
      ? Response.json(answerFor(message, n))
      : errorAnswer(400, "provider_bad_request", "model refused the prompt");
  });
  const { code, stdout } = await runCli(["test", "--server-b-url", fake.url, "--json"]);
  assertEquals(code, 1);
  const report = JSON.parse(stdout) as TestReport;
  assertEquals(report.steps.map((s) => s.ok), [true, true, true, false]);
  assertEquals(
    report.error,
    `Step 4 (message) failed: Server B at ${fake.url} answered POST /process with HTTP 400 ` +
      "(provider_bad_request: model refused the prompt)",
  );
  assertEquals(fake.requests.filter((r) => r.path === "/process").length, 2);
});

Deno.test("mcpcomm test --help describes its flags", async () => {
  const { code, stdout } = await runCli(["test", "--help"]);
  assertEquals(code, 0);
  assert(stdout.includes("--server-b-url") && stdout.includes("--json"));
});

Deno.test("mcpcomm test reads SERVER_B_URL from .env, and the flag wins over it", async () => {
  await using b = await startTestServerB();
  const cwd = tempDirSync();
  Deno.writeTextFileSync(`${cwd}/.env`, `SERVER_B_URL=${b.url}\nRETRY_ATTEMPTS=1\n`);
  const fromDotenv = await runCli(["test", "--json"], { cwd });
  assertEquals(fromDotenv.code, 0, fromDotenv.stdout + fromDotenv.stderr);
  assertEquals((JSON.parse(fromDotenv.stdout) as TestReport).serverBUrl, b.url);

  const elsewhere = `http://127.0.0.1:${freePort()}`;
  const fromFlag = await runCli(["test", "--json", "--server-b-url", elsewhere], { cwd });
  assertEquals(fromFlag.code, 1);
  const report = JSON.parse(fromFlag.stdout) as TestReport;
  assertEquals(report.serverBUrl, elsewhere);
  assertMatch(report.error!, /refused the connection after 1 attempt$/);
});
