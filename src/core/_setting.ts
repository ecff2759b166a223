/**
 * The building blocks of the settings table: value schemas shared by several settings and the
 * `setting()` entry maker.
 * @module
 */
import { z } from "zod";

/** A port number, 0 to 65535. */
export const port = z.coerce.number().int().min(0).max(65535);
/** An integer of at least 1. */
export const positiveInt = z.coerce.number().int().min(1);
/** An integer of at least 0. */
export const nonNegativeInt = z.coerce.number().int().min(0);
/** Comma-separated items, trimmed, empty ones dropped. */
export const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));
/** An http: or https: URL. */
export const httpUrl = z.string().refine((s) => {
  try {
    const url = new URL(s);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
});

/** One row of the settings table: its schema with default, what it accepts, what it does. */
export interface SettingSpec<T extends z.ZodType> {
  schema: T;
  accepts: string;
  help: string;
  secret?: boolean;
}

/** Makes one row of the settings table; `secret` values are never shown. */
export function setting<T extends z.ZodType>(
  schema: T,
  accepts: string,
  help: string,
  secret = false,
): SettingSpec<T> {
  return { schema, accepts, help, secret };
}

/** An optional OAuth client ID setting. */
export function clientId(help: string) {
  return setting(z.string().min(1).optional(), "a client ID", help);
}

/** An optional OAuth client secret setting (a secret). */
export function clientSecret(help: string) {
  return setting(z.string().min(1).optional(), "a client secret", help, true);
}

/** An optional free-text setting (a path, a list in its own syntax, a credential). */
export function text(accepts: string, help: string, secret = false) {
  return setting(z.string().optional(), accepts, help, secret);
}

/** An optional http(s) URL setting. */
export function url(help: string) {
  return setting(httpUrl.optional(), "an http(s) URL", help);
}
