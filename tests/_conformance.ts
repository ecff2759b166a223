/**
 * Test helper: runs the official MCP conformance suite (an npm package) with Deno, and says why
 * it cannot run here, for the test names that skip it.
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/**
 * `deno run -A --frozen PKG ARGS` from the repository root, output piped, NO_COLOR set, killed
 * after `timeoutMs`.
 */
export function conformanceCommand(
  pkg: string,
  args: string[],
  timeoutMs = 300_000,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", pkg, ...args],
    cwd: ROOT,
    signal: AbortSignal.timeout(timeoutMs),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Why the suite `pkg` cannot run here, or `undefined` when it can. */
export async function conformanceUnavailable(pkg: string): Promise<string | undefined> {
  try {
    const probe = await conformanceCommand(pkg, ["--version"]).output();
    if (probe.success) return undefined;
    return decoder.decode(probe.stderr).trim().split("\n").at(-1) || "it exits non-zero";
  } catch (error) {
    return String(error);
  }
}
