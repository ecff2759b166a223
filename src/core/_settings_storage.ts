/**
 * Settings of the ledger database and the shared Redis.
 * @module
 */
import { z } from "zod";
import { setting } from "./_setting.ts";

/** Where the ledger and the shared sessions live. */
export const STORAGE_SETTINGS = {
  MCPCOMM_DB: setting(
    z.string().refine((db) => {
      if (!/^postgres(ql)?:/i.test(db)) return true;
      try {
        return /^postgres(ql)?:\/\/[^/]/i.test(db) && new URL(db).hostname !== "";
      } catch {
        return false;
      }
    }).optional(),
    "a file path, :memory: or postgres://user:password@host/database",
    "Ledger database: a SQLite file (default: server-a.db / server-b.db in the user's data " +
      "directory), :memory:, or a PostgreSQL URL shared by replicas",
  ),
  MCPCOMM_DB_SYNC: setting(
    z.enum(["full", "normal"]).default("full"),
    "one of full, normal",
    "When ledger commits reach the disk: full at each commit, normal at checkpoints (faster)",
  ),
  MCPCOMM_REDIS: setting(
    z.string().refine((s) => {
      try {
        const url = new URL(s);
        return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== "";
      } catch {
        return false;
      }
    }).optional(),
    "a redis:// or rediss:// URL",
    "Redis the replicas share 2025-era MCP sessions, their resumable events and the rate limit in",
    true,
  ),
  LEDGER_MAX_AGE_DAYS: setting(
    z.coerce.number().min(0).default(0),
    "days, 0 or more (0 = no age limit)",
    "Ledger database entries older than this are dropped (totals stay exact)",
  ),
} as const;
