/**
 * The connections of `mcpcomm client`: named MCP servers over any transport, with routing to one
 * server and concurrent broadcast to all.
 * @module
 */
import type {
  CallToolResult,
  ReadResourceResult,
  Resource,
  Tool,
} from "@modelcontextprotocol/client";
import { describeError } from "../core/mod.ts";
import { disconnect, protocolOf, type Target, validateName } from "../mcp/mod.ts";
import {
  authorized,
  type Connection,
  openConnection,
  type RegistryOptions,
  type ServerSummary,
  summaryOf,
} from "./_connection.ts";

export type { Connection, RegistryOptions, ServerSummary } from "./_connection.ts";

/** A failure of a client command that is the user's to fix (unknown server, duplicate name). */
export class ClientError extends Error {
  override name = "ClientError";
}

/** One server's answer in a fan-out (`tools`, `resources`, `broadcast`). */
export type PerServer<T> =
  | { server: string; ok: true; value: T }
  | { server: string; ok: false; error: string };

/**
 * Named MCP connections.
 * @example
 * ```ts
 * const servers = new ServerRegistry({ clientName: "mcpcomm-client", version, timeoutMs: 30000 });
 * await servers.add("calc", parseTarget("ws://127.0.0.1:8080/ws"));
 * await servers.call("calc", "math_calc", { expression: "2 + 2" });
 * ```
 */
export class ServerRegistry implements AsyncDisposable {
  readonly #connections = new Map<string, Connection>();
  readonly #toolNames = new Map<string, string[]>();
  readonly #options: RegistryOptions;

  constructor(options: RegistryOptions) {
    this.#options = options;
  }

  /** Names in the order they were added. */
  get names(): string[] {
    return [...this.#connections.keys()];
  }

  /** Connects `target` as `name`; rejects when the name is taken or the server is unreachable. */
  add(name: string, target: Target): Promise<ServerSummary> {
    return this.#add(name, target, () => true);
  }

  /**
   * Connects several servers at once; they are listed in the order given, whatever order they
   * answer in. Each entry says whether its connection succeeded.
   */
  async addAll(
    targets: readonly { name: string; target: Target }[],
  ): Promise<PerServer<ServerSummary>[]> {
    const turns = targets.map(() => Promise.withResolvers<void>());
    const results = await Promise.all(targets.map(async ({ name, target }, i) => {
      try {
        const summary = await this.#add(name, target, async () => {
          await turns[i - 1]?.promise;
          return true;
        });
        return { server: name, ok: true as const, value: summary };
      } catch (error) {
        return { server: name, ok: false as const, error: describeError(error) };
      } finally {
        turns[i]!.resolve();
      }
    }));
    return results;
  }

  async #add(
    name: string,
    target: Target,
    turn: () => boolean | Promise<boolean>,
  ): Promise<ServerSummary> {
    validateName(name);
    if (this.#connections.has(name)) throw new ClientError(`Server "${name}" is already connected`);
    const { client, provider } = await openConnection(target, this.#options);
    await turn();
    if (this.#connections.has(name)) {
      await client.close().catch(() => {});
      await provider?.close();
      throw new ClientError(`Server "${name}" is already connected`);
    }
    const info = client.getServerVersion();
    const connection: Connection = {
      name,
      target,
      client,
      serverInfo: { name: info?.name ?? "?", version: info?.version ?? "?" },
      protocol: protocolOf(client).revision,
      ...(provider ? { oauth: provider } : {}),
    };
    client.onclose = () => {
      connection.closedReason ??= "the connection closed";
    };
    this.#connections.set(name, connection);
    return summaryOf(connection);
  }

  /** Connects `name` to the same target as the connected server `existing`. */
  addLike(name: string, existing: string): Promise<ServerSummary> {
    return this.add(name, this.#get(existing).target);
  }

  /** Tool names seen in the last listing of `name` (or of every server), for completion. */
  knownTools(name?: string): string[] {
    if (name !== undefined) return this.#toolNames.get(name) ?? [];
    return [...new Set([...this.#toolNames.values()].flat())].sort();
  }

  /** Disconnects and forgets `name`. */
  async remove(name: string): Promise<void> {
    const connection = this.#get(name);
    this.#connections.delete(name);
    this.#toolNames.delete(name);
    connection.closedReason = "removed";
    await disconnect(connection.client);
    await connection.oauth?.close();
  }

  #get(name: string): Connection {
    const connection = this.#connections.get(name);
    if (!connection) {
      const known = this.names.length ? this.names.join(", ") : "none";
      throw new ClientError(`Unknown server "${name}" (connected: ${known})`);
    }
    if (connection.closedReason) {
      throw new ClientError(`Server "${name}" is disconnected: ${connection.closedReason}`);
    }
    return connection;
  }

  /** Every connection's row. */
  servers(): ServerSummary[] {
    return [...this.#connections.values()].map(summaryOf);
  }

  /** The tools of one server (every page; none when it does not offer tools). */
  async tools(name: string): Promise<Tool[]> {
    const connection = this.#get(name);
    const { client } = connection;
    if (!client.getServerCapabilities()?.tools) return [];
    const { tools } = await authorized(
      connection,
      (c) => c.listTools(undefined, this.#request()),
    );
    this.#toolNames.set(name, tools.map((t) => t.name));
    return tools;
  }

  /** The resources of one server (every page; none when it does not offer resources). */
  async resources(name: string): Promise<Resource[]> {
    const connection = this.#get(name);
    if (!connection.client.getServerCapabilities()?.resources) return [];
    return (await authorized(
      connection,
      (c) => c.listResources(undefined, this.#request()),
    )).resources;
  }

  /** Reads one resource. */
  read(name: string, uri: string): Promise<ReadResourceResult> {
    return authorized(this.#get(name), (c) => c.readResource({ uri }, this.#request()));
  }

  /** Calls a tool on one server. */
  async call(
    name: string,
    tool: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<CallToolResult> {
    return await authorized(
      this.#get(name),
      (c) => c.callTool({ name: tool, arguments: args }, this.#request(signal)),
    );
  }

  #request(signal?: AbortSignal) {
    return { timeout: this.#options.timeoutMs, ...(signal ? { signal } : {}) };
  }

  /**
   * Runs `fn` against every server (or the named ones) at once; one server's failure does not
   * stop the others. Results are in connection order.
   */
  fanOut<T>(
    fn: (name: string) => Promise<T>,
    names: string[] = this.names,
  ): Promise<PerServer<T>[]> {
    return Promise.all(names.map(async (server): Promise<PerServer<T>> => {
      try {
        return { server, ok: true, value: await fn(server) };
      } catch (error) {
        return { server, ok: false, error: describeError(error) };
      }
    }));
  }

  /** Calls `tool` on every server concurrently, each answer labelled by server. */
  broadcast(
    tool: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<PerServer<CallToolResult>[]> {
    return this.fanOut((name) => this.call(name, tool, args, signal));
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map(async (c) => {
      c.closedReason = "closed";
      await disconnect(c.client);
      await c.oauth?.close();
    }));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
