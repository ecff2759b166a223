/**
 * Preloaded by `deno task test` and `deno task e2e` (`--preload`): gives every `Deno.test` a time
 * limit, so a test that hangs fails naming itself, where it is and the limit, and the run goes on,
 * instead of stalling CI. MCPCOMM_TEST_TIMEOUT_SECONDS sets the limit (default 180; 0 turns it off).
 * Deno reports the tests' location as this file; the timeout message names the real one.
 * @module
 */

const DEFAULT_SECONDS = 180;

function limitSeconds(): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("MCPCOMM_TEST_TIMEOUT_SECONDS");
  } catch {
    return DEFAULT_SECONDS;
  }
  if (raw === undefined || raw.trim() === "") return DEFAULT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(`MCPCOMM_TEST_TIMEOUT_SECONDS=${raw} is not a number of seconds`);
  }
  return seconds;
}

const seconds = limitSeconds();

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/** The caller of `Deno.test` (the test file's line), from the registration's stack. */
function callerLocation(): string {
  const frames = (new Error().stack ?? "").split("\n").slice(1).map((l) => l.trim());
  const own = new URL(import.meta.url).href;
  const frame = frames.find((f) => !f.includes(own) && !f.includes("ext:"));
  if (!frame) return "unknown location";
  const where = frame.replace(/^at /, "").replace(/^.*\((.*)\)$/, "$1");
  try {
    return where.replace(`file://${Deno.cwd()}/`, "./");
  } catch {
    return where;
  }
}

function bounded(fn: TestFn, name: string, location: string): TestFn {
  return async (t) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `test "${name}" (${location}) did not finish within ${seconds} s ` +
              "(MCPCOMM_TEST_TIMEOUT_SECONDS): it hangs, waiting for something that never came",
          ),
        );
      }, seconds * 1000);
    });
    try {
      await Promise.race([fn(t), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

type TestArgs = unknown[];

function withLimit(args: TestArgs): TestArgs {
  const location = callerLocation();
  const [first, second, third] = args;
  if (typeof first === "function") {
    return [bounded(first as TestFn, first.name, location), ...args.slice(1)];
  }
  if (typeof first === "string") {
    if (typeof second === "function") return [first, bounded(second as TestFn, first, location)];
    if (typeof third === "function") {
      return [first, second, bounded(third as TestFn, first, location)];
    }
    return args;
  }
  if (first && typeof first === "object") {
    const options = first as Deno.TestDefinition;
    if (typeof second === "function") {
      const name = options.name ?? second.name;
      return [options, bounded(second as TestFn, name, location)];
    }
    if (typeof options.fn === "function") {
      return [{ ...options, fn: bounded(options.fn, options.name, location) }, ...args.slice(1)];
    }
  }
  return args;
}

if (seconds > 0) {
  const original = Deno.test;
  // deno-lint-ignore no-explicit-any
  const call = (register: (...a: any[]) => void) => (...args: TestArgs) =>
    register(...withLimit(args));
  const test = Object.assign(call(original), {
    ignore: call(original.ignore),
    only: call(original.only),
  });
  Object.defineProperty(Deno, "test", { value: test, configurable: true, writable: true });
}
