import http from "node:http";
import https from "node:https";
import type { Transport } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";

/** Wire protocol a client speaks: gRPC over HTTP/2, or Connect / gRPC-Web over HTTP/1.1. */
export type ClientProtocol = "grpc" | "connect" | "grpc-web";

/** A transport plus the connection it owns, so that `close()` leaves no socket open. */
export interface OwnedTransport {
  transport: Transport;
  close(): void;
}

/**
 * Creates a transport to `baseUrl` that owns its connections: an HTTP/2 session for gRPC,
 * a keep-alive agent for the HTTP/1.1 protocols. Calling `close()` drops them.
 */
export function createOwnedTransport(baseUrl: string, protocol: ClientProtocol): OwnedTransport {
  if (protocol === "grpc") {
    const sessionManager = new Http2SessionManager(baseUrl);
    return {
      transport: createGrpcTransport({ baseUrl, sessionManager }),
      close: () => sessionManager.abort(),
    };
  }
  const agent = new URL(baseUrl).protocol === "https:"
    ? new https.Agent({ keepAlive: true })
    : new http.Agent({ keepAlive: true });
  const options = { baseUrl, httpVersion: "1.1" as const, nodeOptions: { agent } };
  return {
    transport: protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options),
    close: () => agent.destroy(),
  };
}
