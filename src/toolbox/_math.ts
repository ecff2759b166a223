/**
 * A small arithmetic language for the toolbox's `math_calc` tool, parsed by recursive descent
 * (never `eval`): numbers, `+ - * / % ^`, parentheses, unary minus, constants and functions.
 * @module
 */

/** A malformed expression or an undefined result; the message says where and why. */
export class MathError extends Error {
  override name = "MathError";
}

/** Longest expression accepted, in characters. */
export const MAX_EXPRESSION_LENGTH = 1000;
const MAX_DEPTH = 64;

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };

interface MathFunction {
  arity: [number, number];
  fn: (...xs: number[]) => number;
}

/** The one-argument functions of `Math` named in `names` (space-separated), under those names. */
function mathUnary(names: string): Record<string, MathFunction> {
  const math = Math as unknown as Record<string, (x: number) => number>;
  return Object.fromEntries(
    names.split(" ").map((name) => [name, { arity: [1, 1], fn: math[name]! }]),
  );
}

const FUNCTIONS: Record<string, MathFunction> = {
  ...mathUnary("sqrt cbrt abs sin cos tan asin acos atan exp"),
  ln: { arity: [1, 1], fn: Math.log },
  log: {
    arity: [1, 2],
    fn: (x, base) => base === undefined ? Math.log10(x!) : Math.log(x!) / Math.log(base),
  },
  ...mathUnary("log10 log2 floor ceil round"),
  min: { arity: [1, 64], fn: Math.min },
  max: { arity: [1, 64], fn: Math.max },
};

/** Names of the functions {@linkcode evaluate} knows. */
export const MATH_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

type Token =
  | { kind: "number"; value: number; pos: number }
  | { kind: "name"; value: string; pos: number }
  | { kind: "op"; value: string; pos: number }
  | { kind: "end"; pos: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      tokens.push({ kind: "number", value: Number(number[0]), pos: i });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (name) {
      tokens.push({ kind: "name", value: name[0].toLowerCase(), pos: i });
      i += name[0].length;
      continue;
    }
    if (text.startsWith("**", i)) {
      tokens.push({ kind: "op", value: "^", pos: i });
      i += 2;
      continue;
    }
    if ("+-*/%^(),".includes(ch)) {
      tokens.push({ kind: "op", value: ch, pos: i });
      i++;
      continue;
    }
    throw new MathError(`Unexpected character "${ch}" at position ${i + 1}`);
  }
  tokens.push({ kind: "end", pos: text.length });
  return tokens;
}

class Parser {
  #tokens: Token[];
  #index = 0;
  #depth = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  get #peek(): Token {
    return this.#tokens[this.#index]!;
  }

  #isOp(value: string): boolean {
    const token = this.#peek;
    return token.kind === "op" && token.value === value;
  }

  #expect(value: string): void {
    if (!this.#isOp(value)) throw this.#unexpected(`expected "${value}"`);
    this.#index++;
  }

  #unexpected(why?: string): MathError {
    const token = this.#peek;
    const what = token.kind === "end" ? "end of expression" : `"${token.value}"`;
    return new MathError(
      `Unexpected ${what} at position ${token.pos + 1}${why ? `: ${why}` : ""}`,
    );
  }

  parse(): number {
    const value = this.#expression();
    if (this.#peek.kind !== "end") throw this.#unexpected("expected an operator");
    return value;
  }

  #nest<T>(fn: () => T): T {
    if (++this.#depth > MAX_DEPTH) throw new MathError(`Expression nests deeper than ${MAX_DEPTH}`);
    try {
      return fn();
    } finally {
      this.#depth--;
    }
  }

  #expression(): number {
    let value = this.#term();
    while (this.#isOp("+") || this.#isOp("-")) {
      const op = (this.#tokens[this.#index++] as { value: string }).value;
      const right = this.#term();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  }

  #term(): number {
    let value = this.#unary();
    while (this.#isOp("*") || this.#isOp("/") || this.#isOp("%")) {
      const op = (this.#tokens[this.#index++] as { value: string }).value;
      const right = this.#unary();
      if ((op === "/" || op === "%") && right === 0) throw new MathError("Division by zero");
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  }

  #unary(): number {
    return this.#nest(() => {
      if (this.#isOp("-")) {
        this.#index++;
        return -this.#unary();
      }
      if (this.#isOp("+")) {
        this.#index++;
        return this.#unary();
      }
      return this.#power();
    });
  }

  #power(): number {
    const base = this.#primary();
    if (!this.#isOp("^")) return base;
    this.#index++;
    return base ** this.#unary();
  }

  #primary(): number {
    const token = this.#peek;
    if (token.kind === "number") {
      this.#index++;
      return token.value;
    }
    if (token.kind === "op" && token.value === "(") {
      this.#index++;
      const value = this.#nest(() => this.#expression());
      this.#expect(")");
      return value;
    }
    if (token.kind === "name") {
      this.#index++;
      if (this.#isOp("(")) return this.#call(token.value, token.pos);
      const constant = Object.hasOwn(CONSTANTS, token.value) ? CONSTANTS[token.value] : undefined;
      if (constant === undefined) {
        throw new MathError(`Unknown name "${token.value}" at position ${token.pos + 1}`);
      }
      return constant;
    }
    throw this.#unexpected('expected a number, a name or "("');
  }

  #call(name: string, pos: number): number {
    const spec = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!spec) throw new MathError(`Unknown function "${name}" at position ${pos + 1}`);
    this.#expect("(");
    const args: number[] = [];
    if (!this.#isOp(")")) {
      args.push(this.#nest(() => this.#expression()));
      while (this.#isOp(",")) {
        this.#index++;
        args.push(this.#nest(() => this.#expression()));
      }
    }
    this.#expect(")");
    const [least, most] = spec.arity;
    if (args.length < least || args.length > most) {
      const wanted = least === most ? `${least}` : `${least} to ${most}`;
      throw new MathError(`${name}() takes ${wanted} argument(s), got ${args.length}`);
    }
    return spec.fn(...args);
  }
}

/**
 * Evaluates an arithmetic expression; throws {@linkcode MathError} when it does not parse or
 * its value is not a finite number.
 * @example
 * ```ts
 * evaluate("2 + 2 * 3"); // 8
 * evaluate("-2^2"); // -4
 * evaluate("sqrt(16) + max(1, 5)"); // 9
 * ```
 */
export function evaluate(expression: string): number {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new MathError(`Expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  if (expression.trim() === "") throw new MathError("Expression is empty");
  const value = new Parser(tokenize(expression)).parse();
  if (!Number.isFinite(value)) throw new MathError(`Result is not a finite number (${value})`);
  return Object.is(value, -0) ? 0 : value;
}

/** Formats a result without binary noise (`0.1 + 0.2` gives `0.3`). */
export function formatNumber(value: number): string {
  return String(Number.parseFloat(value.toPrecision(15)));
}
