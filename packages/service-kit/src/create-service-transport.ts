import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { injectTraceContext } from "@taskflow/client";

/**
 * Keepalive PING interval of service-to-service connections, in milliseconds. A peer that
 * vanished without closing (a killed pod, a dropped route) is noticed within this plus the
 * PING timeout, instead of when the next call hangs.
 */
export const SERVICE_PING_INTERVAL_MS = 30_000;

/**
 * HTTP/2 session memory of service-to-service connections, in MB. Node closes a session
 * (ENHANCE_YOUR_CALM) whose queued frames pass this (10 MB by default); requests between services
 * are bounded by bytes, but several may be in flight on the one connection.
 */
export const SERVICE_SESSION_MEMORY_MB = 64;

/** A connection to another service, and the transport over it. */
export interface ServiceConnection {
  transport: Transport;
  /**
   * Drops the connection (calls in flight on it fail) so the next call opens a new one. After the
   * peer refused a request for its size, the unsent rest of that request stays queued on the
   * connection and counts against its memory until the connection closes.
   */
  reset(): void;
}

/**
 * A connection one TaskFlow service uses to call another, e.g. the scheduler calling history at
 * `http://127.0.0.1:50052`: the Connect protocol with binary messages over h2c, on one
 * multiplexed connection that is opened on first use, kept alive with PINGs, and closed after
 * 15 idle minutes. An idle connection does not keep the process alive. Connect rather than gRPC:
 * the same messages, without trailers, and a third of the CPU per call on both ends in
 * connect-node; uncompressed, since services talk over a local network and compression only
 * costs CPU there. Every call carries the active trace context (W3C `traceparent`), so the
 * callee's span joins the caller's trace.
 */
export function createServiceConnection(baseUrl: string, credentials: ServiceCredentials = {}): ServiceConnection {
  const sessionManager = new Http2SessionManager(
    baseUrl,
    { pingIntervalMs: SERVICE_PING_INTERVAL_MS },
    { maxSessionMemory: SERVICE_SESSION_MEMORY_MB, ...credentials.tls },
  );
  const interceptors = [injectTraceContext, ...(credentials.token === undefined ? [] : [bearerInterceptor(credentials.token)])];
  return {
    transport: createConnectTransport({ baseUrl, httpVersion: "2", sessionManager, acceptCompression: [], interceptors }),
    reset: () => sessionManager.abort(),
  };
}

/** The transport of {@link createServiceConnection}, for a caller that never resets it. */
export function createServiceTransport(baseUrl: string, credentials?: ServiceCredentials): Transport {
  return createServiceConnection(baseUrl, credentials).transport;
}

/** How one service proves itself to another. */
export interface ServiceCredentials {
  /** The bearer token to send, read per call (so a re-read token file takes effect at once). */
  token?: () => string;
  /** TLS towards an https URL: the CA that signs the peer's certificate, and a client certificate for mutual TLS (PEM). */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Sends `Authorization: Bearer <token>` on every call. */
export function bearerInterceptor(token: () => string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${token()}`);
    return next(req);
  };
}
