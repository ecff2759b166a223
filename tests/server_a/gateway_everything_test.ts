/**
 * Server A's gateway in front of the MCP reference server `server-everything` (pinned, run under
 * Deno) over stdio, Streamable HTTP and HTTP+SSE: every answer through the gateway is the one a
 * direct connection gets, in the gateway's namespace.
 * @module
 */
import type { Client } from "@modelcontextprotocol/client";
import { assert, assertEquals } from "../_assert.ts";
import { setLogLevel } from "../../src/log.ts";
import { connectTarget, disconnect, type Target } from "../../src/mcp/targets.ts";
import { UPSTREAM_URI_PREFIX } from "../../src/server_a/gateway.ts";
import {
  EVERYTHING,
  EVERYTHING_TRANSPORTS,
  type EverythingTransport,
  everythingUnavailable,
  startEverything,
} from "./_everything.ts";
import { startGateway } from "./_gateway.ts";

setLogLevel("error");

const reason = await everythingUnavailable();
const skipped = reason ? ` (SKIPPED: ${EVERYTHING} cannot run here: ${reason})` : "";

async function direct(target: Target): Promise<Client & AsyncDisposable> {
  const client = await connectTarget(target, { clientName: "direct", version: "0" });
  return Object.assign(client, { [Symbol.asyncDispose]: () => disconnect(client) });
}

function namespaced(uri: string): string {
  return `${UPSTREAM_URI_PREFIX}ev/${encodeURIComponent(uri)}`;
}

/** Runs `body` with the reference server over `transport`, a direct client and the gateway's. */
function scenario(
  name: string,
  body: (
    t: { direct: Client; via: Client; transport: EverythingTransport },
  ) => Promise<void>,
): void {
  for (const transport of EVERYTHING_TRANSPORTS) {
    Deno.test({
      name: `gateway x server-everything over ${transport}: ${name}${skipped}`,
      ignore: reason !== undefined,
      sanitizeResources: false,
      sanitizeOps: false,
    }, async () => {
      await using everything = await startEverything(transport);
      await using d = await direct(everything.target);
      await using gw = await startGateway([everything.named("ev")]);
      assertEquals(gw.gateway.status()[0]?.state, "up", gw.gateway.status()[0]?.lastError);
      await body({ direct: d, via: gw.client, transport });
    });
  }
}

scenario("tools, prompts, listed resources and plain calls match a direct connection", async (
  { direct, via },
) => {
  const directTools = (await direct.listTools()).tools;
  const viaTools = (await via.listTools()).tools.filter((t) => t.name.startsWith("ev_"));
  assertEquals(viaTools.map((t) => t.name).sort(), directTools.map((t) => `ev_${t.name}`).sort());

  for (
    const [tool, args] of [
      ["echo", { message: "hi" }],
      ["get-sum", { a: 2, b: 3 }],
      ["get-tiny-image", {}],
      ["get-structured-content", { location: "New York" }],
    ] as const
  ) {
    const expected = await direct.callTool({ name: tool, arguments: args });
    const got = await via.callTool({ name: `ev_${tool}`, arguments: args });
    assertEquals(got, expected, tool);
  }

  const directPrompts = (await direct.listPrompts()).prompts;
  const viaPrompts = (await via.listPrompts()).prompts;
  assertEquals(
    viaPrompts.map((p) => p.name).sort(),
    directPrompts.map((p) => `ev_${p.name}`).sort(),
  );
  assertEquals(
    await via.getPrompt({ name: "ev_simple-prompt" }),
    await direct.getPrompt({ name: "simple-prompt" }),
  );

  const directResources = (await direct.listResources()).resources;
  const viaResources = (await via.listResources()).resources;
  assertEquals(
    viaResources.map((r) => r.uri).sort(),
    directResources.map((r) => namespaced(r.uri)).sort(),
  );
  const first = directResources[0];
  assert(first);
  const read = await direct.readResource({ uri: first.uri });
  assertEquals(
    await via.readResource({ uri: namespaced(first.uri) }),
    { ...read, contents: read.contents.map((c) => ({ ...c, uri: namespaced(c.uri) })) },
  );
});
