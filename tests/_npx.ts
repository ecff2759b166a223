/**
 * Test helper: tools run through `npx` (code nobody here wrote), among them the MCP Inspector's
 * CLI.
 * @module
 */

/** The pinned MCP Inspector package. */
export const INSPECTOR = "@modelcontextprotocol/inspector@1.0.3";

const decoder = new TextDecoder();

/** The environment `npx` needs, and nothing of the test's own. */
export function npxEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", npm_config_update_notifier: "false" };
  for (const key of ["HOME", "PATH", "TMPDIR", "npm_config_cache"]) {
    const value = Deno.env.get(key);
    if (value) env[key] = value;
  }
  return env;
}

/** Runs `inspector --cli ARGS` through npx; `out` is its stdout then its stderr. */
export async function inspector(args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command("npx", {
    args: ["-y", INSPECTOR, "--cli", ...args],
    // npx may first download the package: bounded, so a stalled download cannot hang the run.
    signal: AbortSignal.timeout(240_000),
    env: npxEnv(),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    out: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/** Why the Inspector CLI cannot run here, or `undefined` when it can. */
export async function inspectorUnavailable(): Promise<string | undefined> {
  try {
    const probe = await inspector(["--help"]);
    if (probe.code === 0 && /--transport/.test(probe.out)) return undefined;
    return probe.out.trim().split("\n").at(-1) ?? `exit code ${probe.code}`;
  } catch (error) {
    return `npx is not runnable (${error instanceof Error ? error.message : error})`;
  }
}
