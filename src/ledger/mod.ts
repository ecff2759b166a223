/**
 * Where a server records what it exchanged: in memory, in a SQLite file, or in PostgreSQL shared
 * by replicas, behind one {@linkcode Ledger} interface.
 * @example
 * ```ts
 * const ledger = await openConfiguredLedger(config, { server: "server-b", dataDir, log });
 * await ledger.record(entry);
 * ```
 * @module
 */
export * from "./types.ts";
export { createMemoryLedger } from "./memory.ts";
export {
  type LedgerSync,
  MEMORY_DB,
  openSqliteLedger,
  type SqliteLedger,
  type SqliteLedgerOptions,
} from "./sqlite.ts";
export {
  isPostgresUrl,
  openPostgresLedger,
  POSTGRES_SCHEMA_VERSION,
  type PostgresLedger,
  type PostgresLedgerOptions,
  redactPostgresUrl,
} from "./postgres.ts";
export {
  type LedgerSettings,
  openConfiguredLedger,
  openLedger,
  type OpenLedgerOptions,
  openServerLedger,
} from "./open.ts";
