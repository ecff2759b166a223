/**
 * TLS files named by the settings: Server B's certificate and key (`TLS_CERT_FILE`,
 * `TLS_KEY_FILE`) and the CA that Server A and `mcpcomm test` trust for Server B
 * (`SERVER_B_CA_CERT`). Each problem is a {@linkcode ConfigError} naming the setting.
 * @module
 */
import { ConfigError, describeError } from "../core/mod.ts";

/** A PEM certificate chain and its private key, as `Deno.serve` takes them. */
export interface TlsFiles {
  cert: string;
  key: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

function readPem(name: string, path: string, pattern: RegExp, what: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read ${name} "${path}": ${describeError(error)}`);
  }
  if (!pattern.test(text)) throw new ConfigError(`${name} "${path}" is not a PEM ${what}`);
  return text;
}

/**
 * Reads Server B's certificate and key; `undefined` when neither setting is set (plain HTTP).
 * @example
 * ```ts
 * const tls = readServerTls(config);
 * Deno.serve({ ...(tls ?? {}), port: 8443 }, handler);
 * ```
 */
export function readServerTls(
  config: { TLS_CERT_FILE?: string | undefined; TLS_KEY_FILE?: string | undefined },
): TlsFiles | undefined {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = config;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    const missing = certFile === undefined
      ? "TLS_CERT_FILE (--tls-cert)"
      : "TLS_KEY_FILE (--tls-key)";
    throw new ConfigError(`TLS_CERT_FILE and TLS_KEY_FILE go together: ${missing} is not set`);
  }
  return {
    cert: readPem("TLS_CERT_FILE", certFile, PEM_CERT, "certificate"),
    key: readPem("TLS_KEY_FILE", keyFile, PEM_KEY, "private key"),
  };
}

/** Reads the CA certificates trusted for Server B (`SERVER_B_CA_CERT`); empty when unset. */
export function readCaCerts(config: { SERVER_B_CA_CERT?: string | undefined }): string[] {
  const path = config.SERVER_B_CA_CERT;
  return path === undefined ? [] : [readPem("SERVER_B_CA_CERT", path, PEM_CERT, "certificate")];
}

/** Whether an error from `fetch` is a certificate that did not verify. */
export function isCertificateError(error: unknown): boolean {
  let text = "";
  for (let e: unknown = error; e instanceof Error; e = e.cause) text += ` ${e.message}`;
  if (!(error instanceof Error)) text = String(error);
  return /certificate|UnknownIssuer|NotValidForName|CertExpired|BadSignature|invalid peer/i
    .test(text);
}

/**
 * Runs `start` (which serves with `tls`); a certificate and key that do not form a usable pair
 * become a {@linkcode ConfigError} naming both settings.
 */
export function withTlsErrors<T>(tls: TlsFiles | undefined, start: () => T): T {
  try {
    return start();
  } catch (error) {
    if (tls === undefined || error instanceof Deno.errors.AddrInUse) throw error;
    throw new ConfigError(
      `TLS_CERT_FILE and TLS_KEY_FILE are not a usable certificate and key: ${
        describeError(error)
      }`,
    );
  }
}
