/**
 * Server A for Server A's tests: started in this process over HTTP on a free loopback port, and
 * the shape of its tool answers.
 * @module
 */
import { startServerA } from "../../src/server_a/mod.ts";
import { testConfig } from "../_helpers.ts";

/** A tool result as the SDK client returns it. */
export interface ToolAnswer {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** Server A over HTTP in this process, on a free port; disposing stops it. */
export async function startHttpServerA(env: Record<string, string>) {
  const controller = new AbortController();
  const serverA = await startServerA(
    testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0", ...env }),
    { transport: "http", signal: controller.signal },
  );
  return {
    ...serverA,
    mcpUrl: new URL(`${serverA.url}/mcp`),
    async [Symbol.asyncDispose]() {
      controller.abort();
      await serverA.finished;
    },
  };
}
