import { hasProgram, tempDir } from "./_helpers.ts";
/**
 * Test certificates made at test time with `openssl`: a private CA and a server certificate it
 * signed for the given addresses. Nothing here is ever committed.
 * @module
 */

/** Paths of the files {@linkcode makeTestCerts} wrote. */
export interface TestCerts {
  dir: string;
  /** The private CA's certificate (what `--ca-cert` trusts). */
  caCert: string;
  /** Server certificate signed by the CA, with the requested SAN entries. */
  cert: string;
  key: string;
  /** A second CA nobody trusts, for "does not verify" cases. */
  otherCaCert: string;
  /** Server certificate for the same names, signed by the other CA. */
  otherCert: string;
  otherKey: string;
}

/** Whether `openssl` can be run here. */
export function hasOpenssl(): Promise<boolean> {
  return hasProgram("openssl", ["version"]);
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** `openssl req` arguments for a new unencrypted P-256 key. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=mcpcomm test ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function makeServer(dir: string, ca: string, name: string, san: string): Promise<void> {
  await openssl(dir, [
    "req",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    "/CN=mcpcomm server-b",
  ]);
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    [
      `subjectAltName=${san}`,
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
    ].join("\n"),
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * Makes a CA and a server certificate valid for `ips` and `dns` names in a new temporary folder.
 * @example
 * ```ts
 * const certs = await makeTestCerts({ ips: ["127.0.0.1"] });
 * ```
 */
export async function makeTestCerts(
  names: { ips?: string[]; dns?: string[] } = { ips: ["127.0.0.1"], dns: ["localhost"] },
): Promise<TestCerts> {
  const dir = await tempDir({ prefix: "mcpcomm-tls-" });
  const san = [
    ...(names.ips ?? []).map((ip) => `IP:${ip}`),
    ...(names.dns ?? []).map((d) => `DNS:${d}`),
  ].join(",");
  await makeCa(dir, "ca");
  await makeServer(dir, "ca", "server", san);
  await makeCa(dir, "other-ca");
  await makeServer(dir, "other-ca", "other-server", san);
  return {
    dir,
    caCert: `${dir}/ca.pem`,
    cert: `${dir}/server.pem`,
    key: `${dir}/server.key`,
    otherCaCert: `${dir}/other-ca.pem`,
    otherCert: `${dir}/other-server.pem`,
    otherKey: `${dir}/other-server.key`,
  };
}
