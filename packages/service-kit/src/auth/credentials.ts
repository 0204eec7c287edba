import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { ConfigReader } from "../config-reader.js";
import type { ServiceCredentials } from "../create-service-transport.js";
import { WatchedFile } from "./watched-file.js";

/** Files that hold what a service presents to another (e.g. HISTORY_TOKEN_FILE, HISTORY_CA_FILE). */
export interface CredentialFiles {
  tokenFile: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Reads `files` into credentials: the token file (its trimmed text) is re-read when it changes,
 * so a rotated token is sent from then on; the TLS files are read once.
 * @throws Error when a named file cannot be read or the token file is empty.
 */
export function readCredentials(files: CredentialFiles, logger: Logger): ServiceCredentials {
  const token = files.tokenFile === "" ? undefined : new WatchedFile(files.tokenFile, parseToken, logger);
  const read = (path: string): string | undefined => (path === "" ? undefined : readFileSync(path, "utf8"));
  const tls = { ca: read(files.caFile), cert: read(files.certFile), key: read(files.keyFile) };
  return {
    token: token === undefined ? undefined : () => token.value,
    tls: Object.values(tls).some((v) => v !== undefined) ? tls : undefined,
  };
}

function parseToken(text: string): string {
  const token = text.trim();
  if (token === "" || /\s/.test(token)) throw new Error("a token file must hold one token");
  return token;
}

/** The variables {@link readCredentialFiles} reads for `prefix`. */
export const credentialVariables = (prefix: string): string[] => ["TOKEN_FILE", "CA_FILE", "CERT_FILE", "KEY_FILE"].map((v) => `${prefix}_${v}`);

/** Reads `<prefix>_TOKEN_FILE`, `<prefix>_CA_FILE`, `<prefix>_CERT_FILE` and `<prefix>_KEY_FILE` (e.g. prefix HISTORY). */
export function readCredentialFiles(r: ConfigReader, prefix: string): CredentialFiles {
  const files = {
    tokenFile: r.string(`${prefix}_TOKEN_FILE`, ""),
    caFile: r.string(`${prefix}_CA_FILE`, ""),
    certFile: r.string(`${prefix}_CERT_FILE`, ""),
    keyFile: r.string(`${prefix}_KEY_FILE`, ""),
  };
  if ((files.certFile === "") !== (files.keyFile === "")) r.invalid(`${prefix}_CERT_FILE`, `needs ${prefix}_KEY_FILE, and the other way round`);
  return files;
}
