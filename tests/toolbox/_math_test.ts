import { assertEquals, assertThrows } from "../_assert.ts";
import { evaluate, formatNumber, MathError } from "../../src/toolbox/_math.ts";

Deno.test("evaluate() follows precedence and associativity", async (t) => {
  const cases: [string, number][] = [
    ["2 + 2 * 3", 8],
    ["10 * 5", 50],
    ["100 / 4", 25],
    ["(2 + 2) * 3", 12],
    ["2 ^ 3 ^ 2", 512],
    ["2 ** 10", 1024],
    ["-2 ^ 2", -4],
    ["2 ^ -1", 0.5],
    ["--3", 3],
    ["7 % 3", 1],
    ["10 - 4 - 3", 3],
    ["64 / 4 / 2", 8],
    ["1.5e3 + .5", 1500.5],
    ["sqrt(16) + abs(-3)", 7],
    ["max(1, 7, 3) - min(4, 2)", 5],
    ["log(100)", 2],
    ["log(8, 2)", 3],
    ["round(cos(pi))", -1],
    ["sin(0)", 0],
    ["  3\t*\n4 ", 12],
  ];
  for (const [expression, expected] of cases) {
    await t.step(expression, () => assertEquals(evaluate(expression), expected));
  }
});

Deno.test("evaluate() refuses what is not arithmetic, never running code", async (t) => {
  const cases: [string, RegExp][] = [
    ["invalid", /Unknown name "invalid"/],
    ["2 +", /Unexpected end of expression/],
    ["(1 + 2", /expected "\)"/],
    ["1 / 0", /Division by zero/],
    ["5 % 0", /Division by zero/],
    ["sqrt(-1)", /not a finite number/],
    ["10 ^ 400", /not a finite number/],
    ["process.exit(1)", /Unexpected character "\."/],
    ["constructor", /Unknown name/],
    ["alert(1)", /Unknown function "alert"/],
    ["constructor(1)", /Unknown function "constructor"/],
    ["__proto__", /Unknown name/],
    ["sqrt(1, 2)", /takes 1 argument/],
    ["2 2", /expected an operator/],
    ["", /empty/],
    ["(".repeat(200) + "1" + ")".repeat(200), /nests deeper/],
    ["-".repeat(500) + "1", /nests deeper/],
    ["1+".repeat(600) + "1", /longer than 1000/],
  ];
  for (const [expression, pattern] of cases) {
    await t.step(expression.slice(0, 30) || "(empty)", () => {
      const error = assertThrows(() => evaluate(expression), MathError);
      assertEquals(pattern.test(error.message), true, error.message);
    });
  }
});

Deno.test("formatNumber() hides binary rounding noise", () => {
  assertEquals(formatNumber(evaluate("0.1 + 0.2")), "0.3");
  assertEquals(formatNumber(8), "8");
  assertEquals(formatNumber(-0.5), "-0.5");
});
