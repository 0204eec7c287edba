import http from "node:http";
import https from "node:https";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { injectTraceContext } from "./trace-context.js";

/**
 * Wire protocol a client speaks: "connect" (the Connect protocol with binary messages over
 * HTTP/2, the default and the cheapest per call), "grpc" (over HTTP/2), or "connect-http1" and
 * "grpc-web" (over HTTP/1.1, for proxies that speak only that). The services serve all of them on
 * one port.
 */
export type ClientProtocol = "connect" | "grpc" | "connect-http1" | "grpc-web";

/** How a client proves who it is, and what else it sends with every call. */
export interface ClientCredentials {
  /**
   * Bearer token sent as `Authorization: Bearer <token>` (a function is asked on every call, so
   * a rotated token takes effect at once). The services record `api:<name>` of the token's
   * identity as the actor of what it does.
   */
  token?: string | (() => string);
  /** TLS for https URLs: the CA that signs the services' certificates, and a client certificate and key for mutual TLS (PEM). */
  tls?: TlsCredentials;
  /** Extra headers sent on every call. */
  headers?: Record<string, string>;
  /**
   * Interceptors run on every call, after the credentials and the trace context are set. The
   * active OpenTelemetry context always goes with each call (see injectTraceContext).
   */
  interceptors?: Interceptor[];
}

/** PEM text of a CA, and of a client certificate and its key. */
export interface TlsCredentials {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The interceptors that send `c`'s token and headers and the active trace context, then `c`'s own. */
export function credentialInterceptors(c: ClientCredentials): Interceptor[] {
  const { token, headers = {} } = c;
  const tokenOf = typeof token === "function" ? token : () => token;
  const send: Interceptor = (next) => (req) => {
    for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
    const t = tokenOf();
    if (t !== undefined) req.header.set("authorization", `Bearer ${t}`);
    return next(req);
  };
  return [send, injectTraceContext, ...(c.interceptors ?? [])];
}

/** A transport plus the connection it owns, so that `close()` leaves no socket open. */
export interface OwnedTransport {
  transport: Transport;
  close(): void;
}

/**
 * Creates a transport to `baseUrl` that owns its connections: an HTTP/2 session for "connect"
 * and "grpc", a keep-alive agent for the HTTP/1.1 protocols. Calling `close()` drops them.
 * Responses come uncompressed: compression costs more CPU than it saves bytes between services.
 */
export function createOwnedTransport(
  baseUrl: string,
  protocol: ClientProtocol,
  interceptors: Interceptor[] = [],
  tls: TlsCredentials = {},
): OwnedTransport {
  if (protocol === "grpc" || protocol === "connect") {
    const sessionManager = new Http2SessionManager(baseUrl, undefined, tls);
    const options = { baseUrl, sessionManager, interceptors, acceptCompression: [] };
    return {
      transport: protocol === "grpc" ? createGrpcTransport(options) : createConnectTransport({ ...options, httpVersion: "2" }),
      close: () => sessionManager.abort(),
    };
  }
  const agent = new URL(baseUrl).protocol === "https:"
    ? new https.Agent({ keepAlive: true, ...tls })
    : new http.Agent({ keepAlive: true });
  const options = { baseUrl, httpVersion: "1.1" as const, nodeOptions: { agent }, interceptors, acceptCompression: [] };
  return {
    transport: protocol === "connect-http1" ? createConnectTransport(options) : createGrpcWebTransport(options),
    close: () => agent.destroy(),
  };
}
