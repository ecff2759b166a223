/**
 * Server A's gateway in front of the MCP reference server `server-everything` (pinned, run under
 * Deno) over stdio, Streamable HTTP and HTTP+SSE: every answer through the gateway is the one a
 * direct connection gets, in the gateway's namespace.
 * @module
 */
import {
  type Client,
  Client as ClientClass,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import {
  createMcpHandler,
  InMemoryTransport,
  inputRequired,
  McpServer,
} from "@modelcontextprotocol/server";
import { serveOnLoopback } from "../_serve.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { createLogger, setLogLevel } from "../../src/core/log.ts";
import {
  connectTarget,
  disconnect,
  parseTargetList,
  protocolOf,
  type Target,
} from "../../src/mcp/targets.ts";
import { Gateway, UPSTREAM_URI_PREFIX } from "../../src/server_a/_gateway.ts";
import { UsageError } from "../../src/core/errors.ts";
import { startServerA } from "../../src/server_a/mod.ts";
import { eventually, testConfig } from "../_helpers.ts";
import { conformanceCommand, conformanceUnavailable } from "../_conformance.ts";
import {
  EVERYTHING,
  type Everything,
  EVERYTHING_TRANSPORTS,
  type EverythingTransport,
  everythingUnavailable,
  startEverything,
} from "./_everything.ts";
import { startGateway } from "./_gateway.ts";
import { startLegacyOnlyMcp } from "../mcp/_harness.ts";

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
    t: {
      direct: Client;
      via: Client;
      transport: EverythingTransport;
      gateway: Gateway;
      everything: Everything;
    },
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
      await body({ direct: d, via: gw.client, transport, gateway: gw.gateway, everything });
    });
  }
}

scenario("tools, prompts, listed resources and plain calls match a direct connection", async (
  { direct, via },
) => {
  const directTools = (await direct.listTools()).tools;
  const viaTools = (await via.listTools()).tools.filter((t) => t.name.startsWith("ev_"));
  // Task-only tools are left out: the gateway offers no tasks capability.
  const taskOnly = directTools.filter((t) => t.execution?.taskSupport === "required");
  assertEquals(taskOnly.map((t) => t.name), ["simulate-research-query"]);
  assertEquals(
    viaTools.map((t) => t.name).sort(),
    directTools.filter((t) => !taskOnly.includes(t)).map((t) => `ev_${t.name}`).sort(),
  );
  assertEquals(via.getServerCapabilities()?.tasks, undefined);

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

/** The JSON-RPC error code and message a request is refused with. */
async function refusalMessage(
  request: Promise<unknown>,
): Promise<[(number | undefined)?, string?]> {
  try {
    await request;
  } catch (error) {
    return [(error as { code?: number }).code, (error as Error).message];
  }
  throw new Error("the request was answered");
}

/** The JSON-RPC error (code and data) a request is refused with. */
async function refusal(
  request: Promise<unknown>,
): Promise<{ code?: number | undefined; data?: unknown }> {
  try {
    await request;
  } catch (error) {
    const { code, data } = error as { code?: number; data?: unknown };
    return { code, data };
  }
  throw new Error("the request was answered");
}

scenario(
  "resource links and embedded resources are rewritten into the namespace and read back",
  async (
    { direct, via },
  ) => {
    const expected = await direct.callTool({ name: "get-resource-links", arguments: { count: 4 } });
    const got = await via.callTool({ name: "ev_get-resource-links", arguments: { count: 4 } });
    const links = (expected.content as { type: string; uri?: string }[]).filter((c) =>
      c.type === "resource_link"
    );
    assertEquals(links.length, 4);
    assertEquals(
      got.content,
      (expected.content as { type: string; uri?: string }[]).map((c) =>
        c.type === "resource_link" ? { ...c, uri: namespaced(c.uri!) } : c
      ),
    );
    for (const link of links) {
      const read = await direct.readResource({ uri: link.uri! });
      const gotRead = await via.readResource({ uri: namespaced(link.uri!) });
      assertEquals(
        { ...gotRead, contents: timeless(gotRead.contents) },
        {
          ...read,
          contents: timeless(read.contents.map((c) => ({ ...c, uri: namespaced(c.uri) }))),
        },
      );
    }

    const embedded = await direct.callTool({
      name: "get-resource-reference",
      arguments: { resourceType: "Text", resourceId: 2 },
    });
    const viaEmbedded = await via.callTool({
      name: "ev_get-resource-reference",
      arguments: { resourceType: "Text", resourceId: 2 },
    });
    assertEquals(
      viaEmbedded.content,
      (embedded.content as { type: string; resource?: { uri: string } }[]).map((c) =>
        c.type === "resource"
          ? { ...c, resource: { ...c.resource!, uri: namespaced(c.resource!.uri) } }
          : c
      ),
    );
  },
);

scenario("unknown URIs are answered with resource-not-found (-32602, data.uri)", async (
  { direct, via },
) => {
  for (
    const uri of [
      "demo://resource/dynamic/text/1",
      `${UPSTREAM_URI_PREFIX}nope/x`,
      `${UPSTREAM_URI_PREFIX}ev/%E0%A4%A`,
      namespaced("demo://no/such/resource"),
    ]
  ) {
    assertEquals(await refusal(via.readResource({ uri })), { code: -32602, data: { uri } }, uri);
  }
  assertEquals(
    (await refusal(direct.readResource({ uri: "demo://no/such/resource" }))).code,
    -32602,
  );
});

/**
 * Resource contents with the creation time server-everything writes into a template resource
 * ("created at 10:06:38 AM") replaced by a mark, so that two reads a second apart compare equal.
 */
function timeless(contents: { uri: string; text?: string; blob?: string }[]) {
  const stamp = (s: string) => {
    assertMatch(s, / created at \d{1,2}:\d{2}:\d{2}/);
    return s.replace(/ created at .+$/, " created at <time>");
  };
  return contents.map((c) =>
    c.blob !== undefined ? { ...c, blob: stamp(atob(c.blob)) } : { ...c, text: stamp(c.text ?? "") }
  );
}

scenario("resource templates are namespaced, expand to readable URIs and complete", async (
  { direct, via },
) => {
  const templates = (await direct.listResourceTemplates()).resourceTemplates;
  assert(templates.length > 0);
  const viaTemplates = (await via.listResourceTemplates()).resourceTemplates;
  assertEquals(
    viaTemplates,
    templates.map((t) => ({
      ...t,
      name: `ev_${t.name}`,
      uriTemplate: `${UPSTREAM_URI_PREFIX}ev/${
        t.uriTemplate.split(/(\{[^}]*\})/).map((p) => p.startsWith("{") ? p : encodeURIComponent(p))
          .join("")
      }`,
    })),
  );
  const template = templates[0]!;
  const expanded = template.uriTemplate.replace("{resourceId}", "3");
  const read = await direct.readResource({ uri: expanded });
  const viaRead = await via.readResource({
    uri: viaTemplates[0]!.uriTemplate.replace("{resourceId}", "3"),
  });
  assertEquals(
    { ...viaRead, contents: timeless(viaRead.contents) },
    {
      ...read,
      contents: timeless(read.contents.map((c) => ({ ...c, uri: namespaced(c.uri) }))),
    },
  );

  assert(via.getServerCapabilities()?.completions, "completions advertised");
  assertEquals(
    await via.complete({
      ref: { type: "ref/resource", uri: viaTemplates[0]!.uriTemplate },
      argument: { name: "resourceId", value: "7" },
    }),
    await direct.complete({
      ref: { type: "ref/resource", uri: template.uriTemplate },
      argument: { name: "resourceId", value: "7" },
    }),
  );
  const promptCompletion = await direct.complete({
    ref: { type: "ref/prompt", name: "completable-prompt" },
    argument: { name: "name", value: "" },
    context: { arguments: { department: "Sales" } },
  });
  assertEquals(promptCompletion.completion.values, ["David", "Eve", "Frank"]);
  assertEquals(
    await via.complete({
      ref: { type: "ref/prompt", name: "ev_completable-prompt" },
      argument: { name: "name", value: "" },
      context: { arguments: { department: "Sales" } },
    }),
    promptCompletion,
  );
});

Deno.test("gateway: completions and subscriptions are advertised only when an upstream offers them", async () => {
  await using upstream = await startLegacyOnlyMcp();
  await using gw = await startGateway(`plain=${upstream.url}/mcp`);
  assertEquals(gw.gateway.status()[0]?.state, "up");
  const caps = gw.client.getServerCapabilities();
  assertEquals(caps?.completions, undefined);
  assertEquals(caps?.resources?.subscribe, undefined);
  // The 2025-only test server offers logging, which the gateway forwards per session.
  assertEquals(caps?.logging, {});
});

type Caps = ConstructorParameters<typeof Client>[1];
const CLIENT_FEATURES = { sampling: {}, elicitation: {}, roots: { listChanged: true } };
const ROOTS = [{ uri: "file:///tmp/gateway-root", name: "gateway-root" }];

/** What a downstream client was sent: log messages, resource updates, requests. */
interface Seen {
  messages: { level: string; data: unknown }[];
  updated: string[];
  requests: { method: string; params: unknown }[];
}

/** Installs handlers that record what the server sends and answer its requests. */
function record(client: Client, seen: Seen): void {
  client.setNotificationHandler("notifications/message", (n) => {
    seen.messages.push({ level: n.params.level, data: n.params.data });
  });
  client.setNotificationHandler("notifications/resources/updated", (n) => {
    seen.updated.push(n.params.uri);
  });
  client.setRequestHandler("sampling/createMessage", (request) => {
    seen.requests.push({ method: request.method, params: request.params });
    return {
      role: "assistant",
      content: { type: "text", text: "sampled" },
      model: "test-model",
    } as never;
  });
  client.setRequestHandler("elicitation/create", (request) => {
    seen.requests.push({ method: request.method, params: request.params });
    return { action: "decline" } as never;
  });
  client.setRequestHandler("roots/list", (request) => {
    seen.requests.push({ method: request.method, params: request.params ?? {} });
    return { roots: ROOTS } as never;
  });
}

function newSeen(): Seen {
  return { messages: [], updated: [], requests: [] };
}

/** One more downstream session of the gateway, with its own client. */
async function session(
  gateway: Gateway,
  capabilities: Caps,
  seen: Seen,
): Promise<Client & AsyncDisposable> {
  const mcp = new McpServer({ name: "messenger-server", version: "0" }, { capabilities: {} });
  gateway.attach(mcp);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await mcp.connect(b);
  const client = new ClientClass({ name: "downstream", version: "0" }, capabilities);
  if (capabilities?.capabilities?.sampling) record(client, seen);
  else {
    client.setNotificationHandler("notifications/message", (n) => {
      seen.messages.push({ level: n.params.level, data: n.params.data });
    });
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.updated.push(n.params.uri);
    });
  }
  await client.connect(a);
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

scenario("log messages and resource updates reach only the session that asked for them", async (
  { direct, gateway },
) => {
  // The direct connection's answers, for comparison.
  const directSeen = newSeen();
  direct.setNotificationHandler("notifications/message", (n) => {
    directSeen.messages.push({ level: n.params.level, data: n.params.data });
  });
  await direct.setLoggingLevel("debug");
  await direct.callTool({ name: "toggle-simulated-logging", arguments: {} });
  await eventually(() => directSeen.messages.length > 0, { what: "a direct log message" });

  const seenA = newSeen();
  const seenB = newSeen();
  await using a = await session(gateway, undefined, seenA);
  await using b = await session(gateway, undefined, seenB);
  const caps = a.getServerCapabilities();
  assertEquals(caps?.logging, {});
  assertEquals(caps?.resources?.subscribe, true);

  await a.setLoggingLevel("debug");
  const resource = (await a.listResources()).resources[0]!;
  await a.subscribeResource({ uri: resource.uri });
  await a.callTool({ name: "ev_toggle-simulated-logging", arguments: {} });
  await a.callTool({ name: "ev_toggle-subscriber-updates", arguments: {} });
  await eventually(() => seenA.messages.length > 0, { what: "a log message in session A" });
  await eventually(() => seenA.updated.length > 0, { what: "a resource update in session A" });
  assertEquals(seenA.updated[0], resource.uri);
  assert(seenA.messages.every((m) => typeof m.level === "string"));

  // B asked for nothing and shares nothing with A.
  await b.listTools();
  assertEquals([seenB.messages, seenB.updated], [[], []]);
  await a.unsubscribeResource({ uri: resource.uri });

  // Session resources: once both have their own upstream session, what A makes B does not see.
  await b.setLoggingLevel("emergency");
  const made = await a.callTool({
    name: "ev_gzip-file-as-resource",
    arguments: { name: "only-a.gz", data: "data:text/plain,hello", outputType: "resourceLink" },
  });
  const link = (made.content as { type: string; uri?: string }[])
    .find((c) => c.type === "resource_link")?.uri ?? "";
  assert(link.startsWith(`${UPSTREAM_URI_PREFIX}ev/`), JSON.stringify(made));
  assert((await a.listResources()).resources.some((r) => r.uri === link));
  assert(!(await b.listResources()).resources.some((r) => r.uri === link));
  assertEquals((await a.readResource({ uri: link })).contents.length, 1);
  assertEquals((await refusal(b.readResource({ uri: link }))).code, -32602);
});

scenario("sampling, elicitation and roots requests travel to the calling client and back", async (
  { gateway, everything },
) => {
  const directSeen = newSeen();
  await using d = await directWithFeatures(everything.target, directSeen);
  const viaSeen = newSeen();
  const otherSeen = newSeen();
  await using via = await session(gateway, { capabilities: CLIENT_FEATURES }, viaSeen);
  await using _other = await session(gateway, { capabilities: CLIENT_FEATURES }, otherSeen);
  await sameClientFeatures(d, directSeen, via, viaSeen);
  assertEquals(otherSeen.requests.filter((r) => r.method !== "roots/list"), []);

  // A change of the client's roots reaches the upstream, which asks for them again.
  const asked = viaSeen.requests.filter((r) => r.method === "roots/list").length;
  await via.sendRootsListChanged();
  await eventually(() => viaSeen.requests.filter((r) => r.method === "roots/list").length > asked, {
    what: "roots/list after roots/list_changed",
  });
});

/** The gateway served to 2026-07-28 clients over HTTP: one server instance per request. */
async function modernFront(gateway: Gateway) {
  const handler = createMcpHandler(
    () => gateway.attach(new McpServer({ name: "messenger-server", version: "0" }), "modern"),
    { legacy: "reject" },
  );
  const served = await serveOnLoopback((request) => handler.fetch(request));
  return {
    url: `${served.url}/mcp`,
    async [Symbol.asyncDispose]() {
      await handler.close();
      await served.stop();
    },
  };
}

/** A direct 2025 connection to the reference server offering client features, recording them. */
async function directWithFeatures(target: Target, seen: Seen): Promise<Client & AsyncDisposable> {
  const client = await connectTarget(target, {
    clientName: "direct",
    version: "0",
    client: { capabilities: CLIENT_FEATURES },
    setup: (c) => record(c, seen),
  });
  return Object.assign(client, { [Symbol.asyncDispose]: () => disconnect(client) });
}

/**
 * Lists the tools and calls those that need client features directly and through the gateway:
 * the same tools, results and client requests (but `roots/list`, which the upstream also sends
 * on its own), the 2026-07-28 `serverInfo` stamp aside.
 */
async function sameClientFeatures(direct: Client, directSeen: Seen, via: Client, viaSeen: Seen) {
  const directTools = (await direct.listTools()).tools
    .filter((t) => t.execution?.taskSupport !== "required").map((t) => `ev_${t.name}`).sort();
  const viaTools = (await via.listTools()).tools.map((t) => t.name)
    .filter((n) => n.startsWith("ev_")).sort();
  assertEquals(viaTools, directTools);
  const asks = (seen: Seen) => seen.requests.filter((r) => r.method !== "roots/list");
  for (
    const [tool, args] of [
      ["trigger-sampling-request", { prompt: "hello", maxTokens: 20 }],
      ["trigger-elicitation-request", {}],
      ["get-roots-list", {}],
    ] as const
  ) {
    assert(viaTools.includes(`ev_${tool}`), tool);
    directSeen.requests.length = 0;
    viaSeen.requests.length = 0;
    const expected = await direct.callTool({ name: tool, arguments: args });
    const got = await via.callTool({ name: `ev_${tool}`, arguments: args });
    assertEquals(withoutServerInfo(got), expected, tool);
    if (tool === "get-roots-list") assert(JSON.stringify(got).includes("gateway-root"));
    else assertEquals(asks(directSeen).length, 1, tool);
    assertEquals(asks(viaSeen), asks(directSeen), tool);
  }
}

/** A 2026-07-28 result without the `serverInfo` the 2026-07-28 era stamps on every result. */
function withoutServerInfo<T extends { _meta?: Record<string, unknown> | undefined }>(
  result: T,
): T {
  const { "io.modelcontextprotocol/serverInfo": _, ...meta } = result._meta ?? {};
  const { _meta: _dropped, ...rest } = result;
  return (Object.keys(meta).length ? { ...rest, _meta: meta } : rest) as T;
}

/**
 * A 2026-07-28 client of `url` offering sampling, elicitation and roots, recording into `seen`,
 * sending `headers` with every request.
 */
async function modernClient(
  url: string,
  seen: Seen,
  options: Caps = {},
  headers: Record<string, string> = {},
): Promise<Client & AsyncDisposable> {
  const client = new ClientClass({ name: "downstream", version: "0" }, {
    capabilities: CLIENT_FEATURES,
    versionNegotiation: { mode: { pin: "2026-07-28" } },
    ...options,
  });
  record(client, seen);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
  );
  assertEquals(protocolOf(client).revision, "2026-07-28");
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

/** The refusal of a retry of server-everything's elicitation tool under `requestState`. */
function retryRefusal(client: Client, requestState: string) {
  return refusalMessage(client.callTool({
    name: "ev_trigger-elicitation-request",
    arguments: {},
    requestState,
    inputResponses: {},
  } as never));
}

/** Calls server-everything's elicitation tool through the gateway and gets `input_required`. */
async function heldElicitation(client: Client) {
  const first = await client.callTool(
    { name: "ev_trigger-elicitation-request", arguments: {} },
    { allowInputRequired: true },
  ) as unknown as { resultType: string; requestState: string; inputRequests: object };
  assertEquals(first.resultType, "input_required");
  return first;
}

for (const transport of ["stdio", "streamableHttp"] as const) {
  Deno.test({
    name:
      `gateway x server-everything over ${transport}: a 2026-07-28 client gets sampling, elicitation and roots requests as input_required and its answers reach the upstream${skipped}`,
    ignore: reason !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async () => {
    await using everything = await startEverything(transport);
    await using gw = await startGateway([everything.named("ev")]);
    await using front = await modernFront(gw.gateway);
    const directSeen = newSeen();
    await using d = await directWithFeatures(everything.target, directSeen);
    const viaSeen = newSeen();
    await using via = await modernClient(front.url, viaSeen);
    await sameClientFeatures(d, directSeen, via, viaSeen);
    // Every held call was freed with its connection.
    assertEquals(gw.gateway.status()[0]?.waitingForInput, 0);
    assertEquals(gw.gateway.status()[0]?.sessionConnections, 0);

    const [code, message] = await retryRefusal(via, "no-such-token");
    assertEquals(code, -32602);
    assertMatch(message ?? "", /Unknown or expired requestState/);
  });
}

Deno.test({
  name:
    `gateway x server-everything over streamableHttp: a call held for a 2026-07-28 client's input is freed when it expires, and its requestState is then refused${skipped}`,
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using everything = await startEverything("streamableHttp");
  await using gw = await startGateway([everything.named("ev")], { timeoutMs: 1500 });
  await using front = await modernFront(gw.gateway);
  await using via = await modernClient(front.url, newSeen(), {
    inputRequired: { autoFulfill: false },
  });
  const first = await heldElicitation(via);
  assertEquals(
    Object.values(first.inputRequests).map((r: { method: string }) => r.method),
    ["elicitation/create"],
  );
  assertEquals(gw.gateway.status()[0]?.waitingForInput, 1);
  assertEquals(gw.gateway.status()[0]?.sessionConnections, 1);
  await eventually(() => gw.gateway.status()[0]?.waitingForInput === 0, {
    what: "the held call expired",
  });
  assertEquals(gw.gateway.status()[0]?.sessionConnections, 0);
  const [code, message] = await retryRefusal(via, first.requestState);
  assertEquals(code, -32602);
  assertMatch(message ?? "", /Unknown or expired requestState.*call the tool again/);
});

Deno.test({
  name:
    `gateway x server-everything over streamableHttp: a held call's requestState answers only the caller that started it${skipped}`,
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using everything = await startEverything("streamableHttp");
  await using gw = await startGateway([everything.named("ev")]);
  await using front = await modernFront(gw.gateway);
  await using via = await modernClient(front.url, newSeen(), {
    inputRequired: { autoFulfill: false },
  });
  const first = await heldElicitation(via);
  await using stranger = await modernClient(front.url, newSeen(), {}, {
    authorization: "Bearer someone-else",
  });
  const [code, message] = await retryRefusal(stranger, first.requestState);
  assertEquals(code, -32602);
  assertMatch(message ?? "", /Unknown or expired requestState/);
  assertEquals(gw.gateway.status()[0]?.waitingForInput, 1, "the call still waits for its caller");
});

Deno.test("gateway: each session has its own connection to a 2025 upstream, bounded, closed with the session", async () => {
  await using upstream = await startLegacyOnlyMcp();
  const gw = await startGateway(`plain=${upstream.url}/mcp`, { maxSessionConnections: 1 });
  try {
    await eventually(() => upstream.sessionCount === 1, { what: "the shared session" });
    const a = gw.client;
    assert((await a.listTools()).tools.some((t) => t.name === "plain_echo"));
    await eventually(() => upstream.sessionCount === 2, {
      what: "the first session's own upstream session",
    });

    // The limit is a clear error, never a silent fall back to the shared connection.
    await using b = await session(gw.gateway, undefined, newSeen());
    const refused = await b.listTools().then(() => undefined, (e: Error) => e);
    assert(refused, "a second per-session connection is refused");
    assertMatch(refused.message, /plain already has 1 per-session connections, the most allowed/);
    const call = await b.callTool({ name: "plain_echo", arguments: { text: "x" } });
    assertEquals(call.isError, true);
    assertMatch(JSON.stringify(call.content), /1 per-session connections, the most allowed/);
    assertEquals(gw.gateway.status()[0]?.sessionConnections, 1);

    await a.close();
    await eventually(() => upstream.sessionCount === 1, { what: "A's upstream session ended" });
    assert((await b.listTools()).tools.some((t) => t.name === "plain_echo"));
    await eventually(() => upstream.sessionCount === 2, { what: "B's own upstream session" });
  } finally {
    await gw[Symbol.asyncDispose]();
  }
});

/** Server A over HTTP with server-everything as its upstream `ev`. */
async function serverAOver(everything: Everything) {
  const target = everything.target;
  const denoDir = Deno.env.get("DENO_DIR");
  const controller = new AbortController();
  const a = await startServerA(
    testConfig({ SERVER_A_HOST: "127.0.0.1", SERVER_A_PORT: "0" }),
    {
      transport: "http",
      signal: controller.signal,
      upstreams: [
        target.kind === "stdio"
          ? `ev=stdio:${target.command} ${target.args.join(" ")}`
          : `ev=${target.url}`,
      ],
      ...(denoDir ? { childEnv: { DENO_DIR: denoDir } } : {}),
    },
  );
  return {
    url: a.url!,
    gateway: a.gateway!,
    async [Symbol.asyncDispose]() {
      controller.abort();
      await a.finished;
    },
  };
}

/** A 2025-era SDK client of Server A's `/mcp`: one downstream session, ended on dispose. */
async function httpSession(url: string): Promise<Client & AsyncDisposable> {
  const client = new ClientClass({ name: "downstream", version: "0" }, {
    versionNegotiation: { mode: "legacy" },
  });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`));
  await client.connect(transport);
  return Object.assign(client, {
    [Symbol.asyncDispose]: async () => {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  });
}

/** The resource link `gzip-file-as-resource` answers with: a resource of the caller's session. */
async function makeSessionResource(client: Client, name: string): Promise<string> {
  const made = await client.callTool({
    name: "ev_gzip-file-as-resource",
    arguments: { name, data: "data:text/plain,hello", outputType: "resourceLink" },
  });
  const link = (made.content as { type: string; uri?: string }[])
    .find((c) => c.type === "resource_link")?.uri ?? "";
  assert(link.startsWith(`${UPSTREAM_URI_PREFIX}ev/`), JSON.stringify(made));
  return link;
}

for (const transport of ["stdio", "streamableHttp"] as const) {
  Deno.test({
    name:
      `gateway x server-everything over ${transport}: two sessions through Server A each have their own upstream connection and state, closed with the session${skipped}`,
    ignore: reason !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async () => {
    await using everything = await startEverything(transport);
    await using a = await serverAOver(everything);
    assertEquals(a.gateway.status()[0]?.state, "up", a.gateway.status()[0]?.lastError);
    await eventually(async () => await everything.sessions() === 1, {
      what: "the gateway's shared connection",
    });

    const one = await httpSession(a.url);
    await using two = await httpSession(a.url);
    const mine = await makeSessionResource(one, "only-one.gz");
    const theirs = await makeSessionResource(two, "only-two.gz");
    const listed = async (client: Client) =>
      (await client.listResources()).resources.map((r) => r.uri);
    assert((await listed(one)).includes(mine) && !(await listed(one)).includes(theirs));
    assert((await listed(two)).includes(theirs) && !(await listed(two)).includes(mine));
    assertEquals((await one.readResource({ uri: mine })).contents.length, 1);
    assertEquals(await refusal(two.readResource({ uri: mine })), {
      code: -32602,
      data: { uri: mine },
    });
    await eventually(async () => await everything.sessions() === 3, {
      what: "one upstream connection per session",
    });
    assertEquals(a.gateway.status()[0]?.sessionConnections, 2);

    await one[Symbol.asyncDispose]();
    await eventually(async () => await everything.sessions() === 2, {
      what: "the closed session's upstream connection closed",
    });
    assertEquals(a.gateway.status()[0]?.sessionConnections, 1);
    assert((await listed(two)).includes(theirs));
  });
}

Deno.test({
  name:
    `gateway x server-everything over streamableHttp: a session's connection re-opened after the upstream restarts gets its log level and subscriptions back${skipped}`,
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const first = await startEverything("streamableHttp");
  let second: Everything | undefined;
  try {
    await using gw = await startGateway([first.named("ev")]);
    const seen = newSeen();
    await using s = await session(gw.gateway, undefined, seen);
    await s.setLoggingLevel("emergency");
    const resource = (await s.listResources()).resources[0]!;
    await s.subscribeResource({ uri: resource.uri });

    await first[Symbol.asyncDispose]();
    second = await startEverything("streamableHttp", first.port);
    // The call finds the session gone, re-opens it (level, then subscription) and is sent again.
    const toggled = await s.callTool({ name: "ev_toggle-subscriber-updates", arguments: {} });
    assertEquals(toggled.isError, undefined, JSON.stringify(toggled));
    await eventually(() => seen.updated.length > 0, {
      what: "a resource update after the restart",
    });
    assertEquals(seen.updated[0], resource.uri);
    // server-everything logs each subscribe at "info": the restored level keeps that from the session.
    assertEquals(seen.messages, []);
  } finally {
    await first[Symbol.asyncDispose]();
    await second?.[Symbol.asyncDispose]();
  }
});

Deno.test("gateway: upstream names whose namespaced names could clash are refused", () => {
  const clash = () =>
    new Gateway({
      upstreams: parseTargetList("a=http://127.0.0.1:1/mcp;a_b=http://127.0.0.1:2/mcp"),
      version: "0",
      log: createLogger("gateway-test"),
      timeoutMs: 1000,
    });
  assertThrows(clash, UsageError, `"a" and "a_b" clash`);
  new Gateway({
    upstreams: parseTargetList("a=http://127.0.0.1:1/mcp;a-b=http://127.0.0.1:2/mcp"),
    version: "0",
    log: createLogger("gateway-test"),
    timeoutMs: 1000,
  });
});

Deno.test("gateway: a 2026-07-28 upstream's input_required reaches the calling 2025 session's client and back", async () => {
  const rounds: unknown[] = [];
  const handler = createMcpHandler(() => {
    const mcp = new McpServer({ name: "modern", version: "1" }, { capabilities: { tools: {} } });
    mcp.registerTool("confirm", { description: "Asks the user to confirm" }, (ctx) => {
      const answer = ctx.mcpReq.inputResponses?.ok;
      rounds.push(answer ?? null);
      if (!answer) {
        return inputRequired({
          inputRequests: {
            ok: inputRequired.elicit({
              message: "Proceed?",
              requestedSchema: { type: "object", properties: { ok: { type: "boolean" } } },
            }),
          },
        }) as never;
      }
      return { content: [{ type: "text", text: `answer ${JSON.stringify(answer)}` }] };
    });
    return mcp;
  }, { legacy: "reject" });
  const served = await serveOnLoopback((request) => handler.fetch(request));
  await using _stop = { [Symbol.asyncDispose]: () => served.stop() };
  await using gw = await startGateway(`m=${served.url}/mcp`);
  assertEquals(gw.gateway.status()[0]?.protocol, "2026-07-28");
  const seen = newSeen();
  await using via = await session(gw.gateway, { capabilities: CLIENT_FEATURES }, seen);
  const result = await via.callTool({ name: "m_confirm", arguments: {} });
  assertEquals(result.content, [{ type: "text", text: 'answer {"action":"decline"}' }]);
  assertEquals(seen.requests.map((r) => r.method), ["elicitation/create"]);
  assertEquals((seen.requests[0]!.params as { message: string }).message, "Proceed?");
  assertEquals(rounds, [null, { action: "decline" }]);
  await handler.close();
});

const SUITE = "npm:@modelcontextprotocol/conformance@0.2.0-alpha.12";
const suiteMissing = reason ?? await conformanceUnavailable(SUITE);

/** The checks of one conformance scenario run against `mcpUrl`. */
async function conformanceChecks(
  mcpUrl: string,
  scenario: string,
): Promise<{ id: string; status: string; errorMessage?: string }[]> {
  const out = await Deno.makeTempDir({ prefix: "conformance-" });
  try {
    await conformanceCommand(SUITE, ["server", "--url", mcpUrl, "--scenario", scenario, "-o", out])
      .output();
    for await (const entry of Deno.readDir(out)) {
      return JSON.parse(await Deno.readTextFile(`${out}/${entry.name}/checks.json`));
    }
    throw new Error(`no checks for ${scenario}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

// The scenarios subscribe to `test://watched-resource`, a raw URI outside the gateway's
// namespace: the gateway answers resource-not-found (-32602, as for resources/read), since only
// namespaced URIs say which upstream owns them and come back in resources/updated.
Deno.test({
  name:
    `gateway x server-everything over streamableHttp: conformance resources-subscribe/unsubscribe pass directly, and a raw URI through the gateway is resource-not-found${
      suiteMissing ? ` (SKIPPED: ${suiteMissing})` : ""
    }`,
  ignore: suiteMissing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using everything = await startEverything("streamableHttp");
  await using a = await serverAOver(everything);
  const url = (everything.target as { url: URL }).url.href;
  for (const scenario of ["resources-subscribe", "resources-unsubscribe"]) {
    const direct = (await conformanceChecks(url, scenario)).find((c) => c.id === scenario);
    assertEquals(direct?.status, "SUCCESS", JSON.stringify(direct));
    const via = (await conformanceChecks(`${a.url}/mcp`, scenario)).find((c) => c.id === scenario);
    assertEquals(via?.status, "FAILURE", JSON.stringify(via));
    assertMatch(via?.errorMessage ?? "", /Resource not found: test:\/\/watched-resource/);
  }
});
