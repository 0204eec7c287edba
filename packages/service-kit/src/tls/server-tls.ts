import type * as http from "node:http";
import type * as http2 from "node:http2";
import * as tls from "node:tls";
import { createContextValues, type ContextValues } from "@connectrpc/connect";
import type { Logger } from "pino";
import { peerCertificateKey, type PeerCertificate } from "../auth/authenticator.js";
import type { ConfigReader } from "../config-reader.js";
import { WatchedFile } from "../auth/watched-file.js";

/** Certificate and key of a TLS listener (PEM files), and the CA of accepted client certificates. */
export interface ServerTlsFiles {
  certFile: string;
  keyFile: string;
  /** Empty: no client certificates are asked for. */
  clientCaFile?: string;
}

/** Every variable {@link readTlsFiles} reads. */
export const TLS_VARIABLES = ["TLS_CERT_FILE", "TLS_KEY_FILE"] as const;

/** Reads TLS_CERT_FILE and TLS_KEY_FILE (both or neither); problems go to `r`. */
export function readTlsFiles(r: ConfigReader): { certFile: string; keyFile: string } {
  const files = { certFile: r.string("TLS_CERT_FILE", ""), keyFile: r.string("TLS_KEY_FILE", "") };
  if ((files.certFile === "") !== (files.keyFile === "")) r.invalid("TLS_CERT_FILE", "needs TLS_KEY_FILE, and the other way round");
  return files;
}

const readPem = (text: string): string => {
  if (!text.includes("-----BEGIN ")) throw new Error("not a PEM file");
  return text;
};

/**
 * The TLS side of a listener: HTTP/2 and HTTP/1.1 offered by ALPN, the certificate, key and
 * client CA read from their files and read again whenever one changes (a rotated certificate
 * serves new connections at once; a change that does not load, e.g. a key that does not match
 * the certificate mid-rotation, keeps the previous one and is logged). Client certificates are
 * asked for but not required: a call may still prove itself with a token.
 */
export class ServerTls {
  private readonly files: WatchedFile<string>[];
  private server: tls.Server | undefined;

  /** @throws Error when a file cannot be read or the certificate and key do not load. */
  constructor(
    private readonly paths: ServerTlsFiles,
    private readonly logger: Logger,
  ) {
    const reload = (): void => this.reload();
    const watch = (path: string): WatchedFile<string> => new WatchedFile(path, readPem, logger, undefined, reload);
    this.files = [watch(paths.certFile), watch(paths.keyFile), ...(paths.clientCaFile ? [watch(paths.clientCaFile)] : [])];
    tls.createSecureContext(this.contextOptions());
  }

  /** Whether client certificates are asked for and verified against a CA. */
  get asksForCertificates(): boolean {
    return this.paths.clientCaFile !== undefined && this.paths.clientCaFile !== "";
  }

  /** The certificate, key and client CA as they are now, for a listener of another kind (an HTTPS server) that {@link watch} then keeps current. */
  get secureOptions(): tls.SecureContextOptions {
    return this.contextOptions();
  }

  /** Gives `server` the certificate again whenever a file changes (createServer's listener gets this itself). */
  watch<S extends tls.Server>(server: S): S {
    this.server = server;
    return server;
  }

  /** Creates the listener; `onSocket` gets each connection once its handshake is done. */
  createServer(onSocket: (socket: tls.TLSSocket) => void): tls.Server {
    return this.watch(tls.createServer(
      {
        ...this.contextOptions(),
        ALPNProtocols: ["h2", "http/1.1"],
        requestCert: this.asksForCertificates,
        rejectUnauthorized: false,
        noDelay: true,
      },
      onSocket,
    )).on("tlsClientError", (err) => this.logger.debug({ err }, "TLS handshake failed"));
  }

  close(): void {
    for (const f of this.files) f.close();
  }

  private contextOptions(): tls.SecureContextOptions {
    const [cert, key, ca] = this.files.map((f) => f.value);
    return { cert, key, ca };
  }

  private reload(): void {
    if (this.server === undefined) return;
    try {
      this.server.setSecureContext(this.contextOptions());
      this.logger.info({ cert: this.paths.certFile }, "TLS certificate reloaded");
    } catch (err) {
      this.logger.error({ err, cert: this.paths.certFile }, "TLS files changed but do not load; serving the previous certificate");
    }
  }
}

/**
 * The context values of a call over TLS: the client certificate the handshake verified (or
 * not) against the client CA, for the authenticator; none for a call without one.
 */
export function peerCertificateOf(req: http.IncomingMessage | http2.Http2ServerRequest): ContextValues {
  const values = createContextValues();
  const socket = req.socket as tls.TLSSocket | undefined;
  if (socket === undefined || typeof socket.getPeerCertificate !== "function") return values;
  const cert = socket.getPeerCertificate();
  // An empty object when the client sent none.
  if (cert === null || cert.subject === undefined) return values;
  const o = cert.subject.O;
  const peer: PeerCertificate = { authorized: socket.authorized, cn: String(cert.subject.CN ?? ""), o: o === undefined ? [] : [o].flat().map(String) };
  return values.set(peerCertificateKey, peer);
}
