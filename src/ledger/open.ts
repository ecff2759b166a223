/**
 * Opens the ledger the settings name: PostgreSQL for a `postgres://` MCPCOMM_DB (shared by
 * replicas), a SQLite file, or memory.
 * @module
 */
import { defaultDatabasePath, type Logger } from "../core/mod.ts";
import { createMemoryLedger } from "./memory.ts";
import { isPostgresUrl, openPostgresLedger } from "./postgres.ts";
import { type LedgerSync, MEMORY_DB, openSqliteLedger } from "./sqlite.ts";
import type { Ledger, SyncLedger } from "./types.ts";

/** The settings a server's ledger is opened from (named as in `Config`). */
export interface LedgerSettings {
  MCPCOMM_DB?: string | undefined;
  MCPCOMM_DB_SYNC: LedgerSync;
  MAX_STORED_MESSAGES: number;
  LEDGER_MAX_AGE_DAYS: number;
}

/** Options of {@linkcode openLedger}. */
export interface OpenLedgerOptions {
  /** MCPCOMM_DB: a file, `:memory:`, or unset for `defaultPath`. */
  db: string | undefined;
  /** The file used when `db` is unset; without it the ledger lives in memory. */
  defaultPath?: string | undefined;
  maxEntries: number;
  maxAgeDays?: number;
  /** When commits reach the disk; default `full`. */
  sync?: LedgerSync;
  log?: Logger;
}

/**
 * The ledger the settings ask for: `:memory:` keeps a bounded in-memory ledger, a path (or, when
 * `db` is unset, `defaultPath`) opens {@linkcode openSqliteLedger}; with neither, memory.
 * @example
 * ```ts
 * const ledger = openLedger({ db: config.MCPCOMM_DB, defaultPath, maxEntries: 1000 });
 * ```
 */
export function openLedger(options: OpenLedgerOptions): SyncLedger {
  const path = options.db ?? options.defaultPath;
  if (path === undefined || path === MEMORY_DB) return createMemoryLedger(options.maxEntries);
  return openSqliteLedger({
    path,
    maxEntries: options.maxEntries,
    ...(options.maxAgeDays !== undefined ? { maxAgeDays: options.maxAgeDays } : {}),
    ...(options.sync ? { sync: options.sync } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
}

/**
 * The ledger of `server` from the settings (`MCPCOMM_DB`, `MCPCOMM_DB_SYNC`, `MAX_STORED_MESSAGES`,
 * `LEDGER_MAX_AGE_DAYS`): with MCPCOMM_DB unset, `<server>.db` in `dataDir`, or memory without one.
 * @example
 * ```ts
 * const ledger = openServerLedger(config, { server: "server-b", dataDir, log });
 * ```
 */
export function openServerLedger(
  config: LedgerSettings,
  options: { server: string; dataDir?: string | undefined; log?: Logger },
): SyncLedger {
  return openLedger({
    db: config.MCPCOMM_DB,
    defaultPath: options.dataDir ? defaultDatabasePath(options.dataDir, options.server) : undefined,
    maxEntries: config.MAX_STORED_MESSAGES,
    maxAgeDays: config.LEDGER_MAX_AGE_DAYS,
    sync: config.MCPCOMM_DB_SYNC,
    ...(options.log ? { log: options.log } : {}),
  });
}

/**
 * The ledger of `server` from the settings: PostgreSQL when MCPCOMM_DB is a `postgres://` URL
 * (rows tagged with `server`, so Server A and Server B may share one database), else
 * {@linkcode openServerLedger}. Throws `StorageError` when the database cannot be opened.
 * @example
 * ```ts
 * const ledger = await openConfiguredLedger(config, { server: "server-b", dataDir, log });
 * ```
 */
export async function openConfiguredLedger(
  config: LedgerSettings,
  options: { server: string; dataDir?: string | undefined; log?: Logger },
): Promise<Ledger> {
  if (!isPostgresUrl(config.MCPCOMM_DB)) return openServerLedger(config, options);
  return await openPostgresLedger({
    url: config.MCPCOMM_DB,
    name: options.server,
    maxEntries: config.MAX_STORED_MESSAGES,
    maxAgeDays: config.LEDGER_MAX_AGE_DAYS,
    ...(options.log ? { log: options.log } : {}),
  });
}
