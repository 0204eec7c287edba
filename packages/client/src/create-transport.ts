import http from "node:http";
import https from "node:https";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";

/** Wire protocol a client speaks: gRPC over HTTP/2, or Connect / gRPC-Web over HTTP/1.1. */
export type ClientProtocol = "grpc" | "connect" | "grpc-web";

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
 * Creates a transport to `baseUrl` that owns its connections: an HTTP/2 session for gRPC,
 * a keep-alive agent for the HTTP/1.1 protocols. Calling `close()` drops them.
 */
export function createOwnedTransport(
  baseUrl: string,
  protocol: ClientProtocol,
  interceptors: Interceptor[] = [],
): OwnedTransport {
  if (protocol === "grpc") {
    const sessionManager = new Http2SessionManager(baseUrl);
    return {
      transport: createGrpcTransport({ baseUrl, sessionManager, interceptors }),
      close: () => sessionManager.abort(),
    };
  }
  const agent = new URL(baseUrl).protocol === "https:"
    ? new https.Agent({ keepAlive: true })
    : new http.Agent({ keepAlive: true });
  const options = { baseUrl, httpVersion: "1.1" as const, nodeOptions: { agent }, interceptors };
  return {
    transport: protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options),
    close: () => agent.destroy(),
  };
}
