/**
 * The few assertions the tests use (JSR's `@std/assert` is unreachable here).
 * @module
 */
import assertNode from "node:assert/strict";

/** Asserts a truthy value. */
export function assert(value: unknown, message?: string): asserts value {
  assertNode.ok(value, message);
}

/** Asserts deep equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  assertNode.deepStrictEqual(actual, expected, message);
}

/** Asserts inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  assertNode.notDeepStrictEqual(actual, expected, message);
}

/** Asserts a string matches a pattern. */
export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assertNode.match(actual, pattern, message);
}

/** Asserts a string does not match a pattern. */
export function assertNotMatch(actual: string, pattern: RegExp, message?: string): void {
  assertNode.doesNotMatch(actual, pattern, message);
}

/** Asserts that `fn` rejects, optionally with an error of `ErrorClass` whose message includes `includes`. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => Error,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    if (ErrorClass) {
      assertNode.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error}`);
    }
    if (includes) assertNode.ok(String((error as Error).message).includes(includes), String(error));
    return error as Error;
  }
  throw new assertNode.AssertionError({ message: "expected the function to reject" });
}

/** Asserts that `fn` throws synchronously. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (error) {
    if (ErrorClass) {
      assertNode.ok(error instanceof ErrorClass, `expected ${ErrorClass.name}, got ${error}`);
    }
    if (includes) assertNode.ok(String((error as Error).message).includes(includes), String(error));
    return error as Error;
  }
  throw new assertNode.AssertionError({ message: "expected the function to throw" });
}
