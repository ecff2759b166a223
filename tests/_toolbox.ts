/**
 * Test helper: a real toolbox on a free loopback port.
 * @module
 */
import { type RunningToolbox, startToolbox } from "../src/toolbox/mod.ts";
import { TOOLBOX_TOOLS, type ToolboxTool } from "../src/toolbox/tools.ts";
import { tempDir, testConfig } from "./_helpers.ts";

/** A toolbox on a free port; `close()` stops it and waits until it has. */
export interface TestToolbox extends RunningToolbox, AsyncDisposable {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a toolbox named `name` with `tools` (default all but run_command) on 127.0.0.1, on a
 * free port or on `port` (to restart one where the last one was).
 */
export async function startTestToolbox(
  name: string,
  options: {
    tools?: ToolboxTool[];
    root?: string;
    env?: Record<string, string>;
    port?: number;
  } = {},
): Promise<TestToolbox> {
  const controller = new AbortController();
  const box = await startToolbox(testConfig(options.env), {
    name,
    version: "0.0.1",
    tools: options.tools ?? TOOLBOX_TOOLS.filter((t) => t !== "run_command"),
    root: options.root ?? await tempDir(),
    host: "127.0.0.1",
    port: options.port ?? 0,
    signal: controller.signal,
  });
  const close = async () => {
    controller.abort();
    await box.finished;
  };
  return Object.assign(box, { url: box.url!, close, [Symbol.asyncDispose]: close });
}
