import { assertEquals } from "../_assert.ts";
import { BEDROCK_MODEL_IDS, costOf, pricedModels, priceOf } from "../../src/providers/pricing.ts";

const usage = (promptTokens: number, completionTokens: number) => ({
  promptTokens,
  completionTokens,
  totalTokens: promptTokens + completionTokens,
});

Deno.test("priceOf() knows every model of the seed's price tables", () => {
  const seed: Record<string, [number, number]> = {
    "gpt-4": [0.03, 0.06],
    "gpt-4-turbo": [0.01, 0.03],
    "gpt-4o-mini": [0.00015, 0.0006],
    "claude-3.5-sonnet-v2": [0.003, 0.015],
    "claude-3.5-sonnet": [0.003, 0.015],
    "claude-3.5-haiku": [0.0008, 0.004],
    "claude-3-sonnet": [0.003, 0.015],
    "claude-3-haiku": [0.00025, 0.00125],
    "claude-3-opus": [0.015, 0.075],
  };
  for (const [model, [input, output]] of Object.entries(seed)) {
    assertEquals(priceOf(model), { input, output }, model);
  }
  // The seed's gpt-4o and gpt-3.5-turbo prices are those of older snapshots; the aliases now
  // point at cheaper ones.
  assertEquals(priceOf("gpt-4o-2024-05-13"), { input: 0.005, output: 0.015 });
  assertEquals(priceOf("gpt-4o"), { input: 0.0025, output: 0.01 });
  assertEquals(priceOf("gpt-3.5-turbo"), { input: 0.0005, output: 0.0015 });
});

Deno.test("priceOf() covers today's OpenAI and Bedrock Claude models", async (t) => {
  await t.step("OpenAI GPT-4.1, GPT-4o, GPT-5 and o-series", () => {
    for (
      const model of [
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
      ]
    ) {
      assertEquals(priceOf(model) !== undefined, true, model);
    }
    assertEquals(priceOf("gpt-4.1-2025-04-14"), priceOf("gpt-4.1"));
    assertEquals(priceOf("gpt-4o-2024-08-06"), priceOf("gpt-4o"));
  });

  await t.step("every short Bedrock name, its full ID and its inference profiles", () => {
    for (const [short, id] of Object.entries(BEDROCK_MODEL_IDS)) {
      const price = priceOf(id);
      assertEquals(price !== undefined, true, id);
      assertEquals(priceOf(short), price, short);
      for (const region of ["us", "eu", "apac", "global"]) {
        assertEquals(priceOf(`${region}.${id}`), price, `${region}.${id}`);
      }
    }
    assertEquals(priceOf("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), {
      input: 0.003,
      output: 0.015,
    });
    assertEquals(priceOf("global.anthropic.claude-haiku-4-5-20251001-v1:0"), {
      input: 0.001,
      output: 0.005,
    });
  });

  await t.step("unknown names have no price", () => {
    for (const model of ["llama3.2", "us.meta.llama3-70b-instruct-v1:0", "gpt-9", "xx.gpt-4"]) {
      assertEquals(priceOf(model), undefined, model);
    }
  });
});

Deno.test("costOf() is tokens x price per 1K, or null for an unknown model", () => {
  assertEquals(costOf("gpt-4", usage(1000, 1000)), 0.09);
  assertEquals(costOf("gpt-4o-mini", usage(1234, 567)), 0.0005253);
  assertEquals(costOf("claude-3-opus", usage(100, 10)), 0.00225);
  assertEquals(costOf("us.anthropic.claude-3-5-haiku-20241022-v1:0", usage(0, 0)), 0);
  assertEquals(costOf("my-model", usage(1000, 1000)), null);
});

Deno.test("priceOf() gives no price to names of Object.prototype members", () => {
  for (const model of ["constructor", "toString", "__proto__", "hasOwnProperty-2024-01-01"]) {
    assertEquals(priceOf(model), undefined, model);
    assertEquals(costOf(model, usage(1000, 1000)), null, model);
  }
});

Deno.test("costOf() prices input and output tokens apart", () => {
  assertEquals(costOf("claude-3-haiku", usage(2000, 0)), 0.0005);
  assertEquals(costOf("claude-3-haiku", usage(0, 2000)), 0.0025);
  assertEquals(costOf("gpt-4-turbo", usage(3000, 0)), 0.03);
  assertEquals(costOf("gpt-4-turbo", usage(0, 3000)), 0.09);
  assertEquals(costOf("mock-model", usage(1000, 1000)), 0);
});

Deno.test("pricedModels() lists the priced models by prefix", () => {
  const gpt = pricedModels("gpt-");
  assertEquals(gpt.includes("gpt-4") && gpt.includes("gpt-4.1-mini"), true);
  assertEquals(gpt.every((m) => m.startsWith("gpt-")), true);
  assertEquals(pricedModels().includes("anthropic.claude-3-5-sonnet-20241022-v2:0"), true);
});
