/**
 * Preloaded by `deno task test` and `deno task e2e` (`--preload`): gives every `Deno.test` a time
 * limit, so a test that hangs fails naming itself, where it is and the limit, and the run goes on,
 * instead of stalling CI. MCPCOMM_TEST_TIMEOUT_SECONDS sets the limit (default 180; 0 turns it off).
 * Deno reports the tests' location as this file; the timeout message names the real one.
 *
 * It also points TMPDIR at a fresh folder for each test module (children inherit it), removes the
 * folders `tempDir()` (tests/_helpers.ts) made once their test ends, also when it fails, and fails a
 * passing test that leaves anything else behind in it, naming the entries. The folder goes when the
 * module unloads.
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

/** Filled by `tempDir()` in tests/_helpers.ts: paths to remove when the running test ends. */
const TEMP_PATHS = Symbol.for("mcpcomm.test.tempPaths");
const tempPaths: string[] = ((globalThis as { [TEMP_PATHS]?: string[] })[TEMP_PATHS] ??= []);

/** The TMPDIR this process started with: each module's own folder goes inside it. */
function baseTempDir(): string | undefined {
  const ownPid = Deno.env.get("MCPCOMM_TEST_TMPDIR_PID") === String(Deno.pid);
  if (ownPid) return Deno.env.get("MCPCOMM_TEST_TMPDIR_BASE") || undefined;
  const base = Deno.env.get("TMPDIR");
  Deno.env.set("MCPCOMM_TEST_TMPDIR_PID", String(Deno.pid));
  Deno.env.set("MCPCOMM_TEST_TMPDIR_BASE", base ?? "");
  return base;
}

const base = baseTempDir();
if (base === undefined) Deno.env.delete("TMPDIR");
else Deno.env.set("TMPDIR", base);
const moduleTemp = Deno.makeTempDirSync({ prefix: "mcpcomm-test-" });
// Passable (not readable) by others, as TMPDIR is: a child running as another user (PostgreSQL as
// `postgres`) must reach the folder made for it inside.
if (Deno.build.os !== "windows") Deno.chmodSync(moduleTemp, 0o711);
Deno.env.set("TMPDIR", moduleTemp);
globalThis.addEventListener("unload", () => {
  removeQuietly(moduleTemp);
  if (base === undefined) Deno.env.delete("TMPDIR");
  else Deno.env.set("TMPDIR", base);
});

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function tempEntries(): Set<string> {
  return new Set([...Deno.readDirSync(moduleTemp)].map((entry) => entry.name));
}

/** Runs `fn`, then removes what `tempDir()` made for it; a passing `fn` that left other entries fails. */
function tidy(fn: TestFn, name: string, location: string): TestFn {
  return async (t) => {
    const before = tempEntries();
    const mark = tempPaths.length;
    let passed = false;
    try {
      await fn(t);
      passed = true;
    } finally {
      for (const path of tempPaths.splice(mark).reverse()) removeQuietly(path);
    }
    if (!passed) return;
    const left = [...tempEntries()].filter((entry) => !before.has(entry));
    if (left.length === 0) return;
    for (const entry of left) removeQuietly(`${moduleTemp}/${entry}`);
    throw new Error(
      `test "${name}" (${location}) left ${left.join(", ")} behind in TMPDIR: ` +
        "make temporary folders and files with tempDir()/tempFile() (tests/_helpers.ts) " +
        "or remove them in a finally block",
    );
  };
}

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
  if (seconds === 0) return tidy(fn, name, location);
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
      await Promise.race([tidy(fn, name, location)(t), expired]);
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

{
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
