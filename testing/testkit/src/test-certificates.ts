import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM files of a test CA and what it signed, in one folder. */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate: what clients trust and servers verify client certificates against. */
  caFile: string;
  /** A server certificate for 127.0.0.1, ::1 and localhost, and its key. */
  serverCertFile: string;
  serverKeyFile: string;
  /** Issues a client certificate for `cn` with `o` as its organizations (TaskFlow's roles); resolves to its files' paths. */
  client(cn: string, o: readonly string[]): Promise<{ certFile: string; keyFile: string }>;
  /** Issues the server certificate again (a new serial number) into the same files, as a rotation does. */
  renewServer(): Promise<void>;
  /** The PEM text of a file. */
  read(path: string): Promise<string>;
}

/**
 * Makes a CA and a server certificate in `dir` with the `openssl` command (P-256 keys, two days
 * valid), for tests of TLS and mutual TLS over real sockets.
 * @throws Error when openssl is not installed or fails.
 */
export async function makeTestCertificates(dir: string, caName = "TaskFlow test CA"): Promise<TestCertificates> {
  const at = (name: string): string => join(dir, name);
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run("openssl", ["req", "-x509", ...key, "-keyout", at("ca.key"), "-out", at("ca.crt"), "-days", "2", "-subj", `/CN=${caName}`]);
  let serial = 1;
  const issue = async (name: string, subject: string, ext: string): Promise<{ certFile: string; keyFile: string }> => {
    const certFile = at(`${name}.crt`);
    const keyFile = at(`${name}.key`);
    await run("openssl", ["req", ...key, "-keyout", keyFile, "-out", at(`${name}.csr`), "-subj", subject]);
    await writeFile(at(`${name}.ext`), ext);
    serial += 1;
    await run("openssl", [
      "x509", "-req", "-in", at(`${name}.csr`), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-set_serial", String(serial),
      "-out", certFile, "-days", "2", "-extfile", at(`${name}.ext`),
    ]);
    return { certFile, keyFile };
  };
  const server = (): Promise<unknown> =>
    issue("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await server();
  return {
    dir,
    caFile: at("ca.crt"),
    serverCertFile: at("server.crt"),
    serverKeyFile: at("server.key"),
    client: (cn, o) => issue(`client-${cn}`, `/CN=${cn}${o.map((x) => `/O=${x}`).join("")}`, "extendedKeyUsage=clientAuth\n"),
    renewServer: async () => void (await server()),
    read: (path) => readFile(path, "utf8"),
  };
}
