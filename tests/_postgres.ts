/**
 * A throwaway PostgreSQL server for tests and the benchmark: `initdb` in a temporary directory,
 * `postgres` on a free loopback port (its socket in that directory too), password
 * authentication, removed at the end. As root it runs as the `postgres` user (PostgreSQL refuses
 * root).
 * @module
 */
import postgres from "postgres";
import { eachLine } from "./_spawn.ts";
import { eventually, freePort, tempDir } from "./_helpers.ts";

/** A running test PostgreSQL; `stop()` ends it and removes its files. */
export interface TestPostgres extends AsyncDisposable {
  /** `postgres://mcpcomm:PASSWORD@127.0.0.1:PORT/postgres`. */
  url: string;
  password: string;
  /** Creates a database and answers its URL. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown), keeping its data: "the database went away". */
  down(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startPostgres}. */
export interface StartPostgresOptions {
  /** Sync commits to disk as in production (fsync on); default off, for speed in tests. */
  durable?: boolean;
}

const CANDIDATE_DIRS = ["/usr/lib/postgresql", "/usr/local/pgsql"];

/** The directory holding `initdb` and `postgres`, newest version first; `undefined` if none. */
export function postgresBinDir(): string | undefined {
  for (const root of CANDIDATE_DIRS) {
    let versions: string[];
    try {
      versions = [...Deno.readDirSync(root)].map((entry) => entry.name);
    } catch {
      continue;
    }
    versions.sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = `${root}/${version}/bin`;
      if (isFile(`${dir}/initdb`) && isFile(`${dir}/postgres`)) return dir;
    }
    if (isFile(`${root}/bin/initdb`)) return `${root}/bin`;
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function output(command: string, args: string[]): Promise<Deno.CommandOutput | undefined> {
  try {
    return await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    })
      .output();
  } catch {
    return undefined;
  }
}

/** The uid and gid of the `postgres` user, when running as root. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  const [uid, gid] = await Promise.all([
    output("id", ["-u", "postgres"]),
    output("id", ["-g", "postgres"]),
  ]);
  if (!uid?.success || !gid?.success) return undefined;
  const decode = (o: Deno.CommandOutput) => Number(new TextDecoder().decode(o.stdout).trim());
  return { uid: decode(uid), gid: decode(gid) };
}

/**
 * Why PostgreSQL cannot be started here (the tests that need it are then skipped with this
 * reason), or `undefined` when it can.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  if (Deno.build.os === "windows") return "PostgreSQL tests run on Linux and macOS only";
  if (!postgresBinDir()) {
    return "PostgreSQL is not installed (initdb and postgres not found; apt-get install postgresql)";
  }
  if (Deno.uid() === 0 && !await postgresUser()) {
    return "running as root without a postgres user to run PostgreSQL as";
  }
  return undefined;
}

/**
 * Starts a PostgreSQL server in a temporary directory on a free loopback port and waits until it
 * accepts connections.
 * @example
 * ```ts
 * await using pg = await startPostgres();
 * const url = await pg.database("ledger_one");
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("PostgreSQL is not installed");
  const owner = Deno.uid() === 0 ? await postgresUser() : undefined;
  if (Deno.uid() === 0 && !owner) throw new Error("no postgres user to run PostgreSQL as");
  const dir = await tempDir({ prefix: "mcpcomm-pg-" });
  const data = `${dir}/data`;
  const password = crypto.randomUUID().replaceAll("-", "");
  const pwfile = `${dir}/pw`;
  await Deno.writeTextFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await Deno.chown(dir, owner.uid, owner.gid);
    await Deno.chown(pwfile, owner.uid, owner.gid);
  }
  /** Runs a PostgreSQL program as the `postgres` user when root, else as ourselves. */
  const command = (program: string, args: string[], piped: boolean) =>
    new Deno.Command(owner ? "setpriv" : `${bin}/${program}`, {
      args: owner
        ? [
          `--reuid=${owner.uid}`,
          `--regid=${owner.gid}`,
          "--clear-groups",
          "--",
          `${bin}/${program}`,
          ...args,
        ]
        : args,
      cwd: dir,
      stdin: "null",
      stdout: piped ? "piped" : "null",
      stderr: "piped",
      env: { LC_ALL: "C", LANG: "C" },
    });

  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const init = await command("initdb", [
    "-D",
    data,
    "-U",
    "mcpcomm",
    "--auth=scram-sha-256",
    `--pwfile=${pwfile}`,
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ], true).output();
  if (!init.success) {
    await cleanup();
    throw new Error(`initdb failed: ${new TextDecoder().decode(init.stderr).trim()}`);
  }

  const port = freePort();
  const url = `postgres://mcpcomm:${password}@127.0.0.1:${port}/postgres`;
  const settings = [
    "listen_addresses=127.0.0.1",
    `unix_socket_directories=${dir}`,
    "shared_buffers=16MB",
    "max_connections=200",
    ...(options.durable ? [] : ["fsync=off", "full_page_writes=off", "synchronous_commit=off"]),
  ].flatMap((setting) => ["-c", setting]);
  let child: Deno.ChildProcess | undefined;
  const logs: string[] = [];

  const up = async () => {
    const started = command("postgres", ["-D", data, "-p", String(port), ...settings], false)
      .spawn();
    child = started;
    const stderr = eachLine(started.stderr, (line) => {
      logs.push(line);
      if (logs.length > 200) logs.shift();
    });
    const exited = new AbortController();
    started.status.then(() => exited.abort());
    const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await eventually(async () => await probe`SELECT 1`, {
        what: "postgres to start",
        timeoutMs: 15_000,
        intervalMs: 100,
        signal: exited.signal,
      });
    } catch (error) {
      if (!exited.signal.aborted) throw error;
      await stderr;
      throw new Error(`postgres exited: ${logs.slice(-5).join(" | ")}`);
    } finally {
      await probe.end({ timeout: 1 });
    }
  };

  const down = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGINT");
    } catch {
      // already gone
    }
    await running.status;
  };

  try {
    await up();
  } catch (error) {
    await down();
    await cleanup();
    throw error;
  }

  const stop = async () => {
    await down();
    await cleanup();
  };
  return {
    url,
    password,
    async database(name: string) {
      const admin = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`CREATE DATABASE "${name.replaceAll('"', "")}"`);
      } finally {
        await admin.end({ timeout: 1 });
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    down,
    up,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
