import http from "node:http";
import https from "node:https";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";

/**
 * Wire protocol a client speaks: "connect" (the Connect protocol with binary messages over
 * HTTP/2, the default and the cheapest per call), "grpc" (over HTTP/2), or "connect-http1" and
 * "grpc-web" (over HTTP/1.1, for proxies that speak only that). The services serve all of them on
 * one port.
 */
export type ClientProtocol = "connect" | "grpc" | "connect-http1" | "grpc-web";

/**
 * Request header in which a caller names itself; the scheduler records `api:<caller>` as the
 * actor of the jobs it submits and cancels (1 to 128 characters of `[A-Za-z0-9._:@/-]`).
 */
export const CALLER_HEADER = "x-taskflow-caller";

/** Names the caller on every request it sees, so the audit trail says who acted. */
export function callerInterceptor(caller: string): Interceptor {
  return (next) => (req) => {
    req.header.set(CALLER_HEADER, caller);
    return next(req);
  };
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
): OwnedTransport {
  if (protocol === "grpc" || protocol === "connect") {
    const sessionManager = new Http2SessionManager(baseUrl);
    const options = { baseUrl, sessionManager, interceptors, acceptCompression: [] };
    return {
      transport: protocol === "grpc" ? createGrpcTransport(options) : createConnectTransport({ ...options, httpVersion: "2" }),
      close: () => sessionManager.abort(),
    };
  }
  const agent = new URL(baseUrl).protocol === "https:"
    ? new https.Agent({ keepAlive: true })
    : new http.Agent({ keepAlive: true });
  const options = { baseUrl, httpVersion: "1.1" as const, nodeOptions: { agent }, interceptors, acceptCompression: [] };
  return {
    transport: protocol === "connect-http1" ? createConnectTransport(options) : createGrpcWebTransport(options),
    close: () => agent.destroy(),
  };
}
