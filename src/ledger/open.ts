/**
 * Opens the ledger the settings name: PostgreSQL for a `postgres://` MCPCOMM_DB (shared by
 * replicas), else SQLite or memory ({@linkcode openServerLedger}).
 * @module
 */
import type { Config } from "../core/config.ts";
import type { Ledger } from "./memory.ts";
import { isPostgresUrl, openPostgresLedger } from "./postgres.ts";
import { openServerLedger } from "./sqlite.ts";
import type { Logger } from "../core/log.ts";

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
  config: Pick<
    Config,
    "MCPCOMM_DB" | "MCPCOMM_DB_SYNC" | "MAX_STORED_MESSAGES" | "LEDGER_MAX_AGE_DAYS"
  >,
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
