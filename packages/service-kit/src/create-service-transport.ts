import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/**
 * Keepalive PING interval of service-to-service connections, in milliseconds. A peer that
 * vanished without closing (a killed pod, a dropped route) is noticed within this plus the
 * PING timeout, instead of when the next call hangs.
 */
export const SERVICE_PING_INTERVAL_MS = 30_000;

/**
 * The transport one TaskFlow service uses to call another, e.g. the scheduler calling history
 * at `http://127.0.0.1:50052`: gRPC over h2c on one multiplexed connection that is opened on
 * first use, kept alive with PINGs, and closed after 15 idle minutes. An idle connection does
 * not keep the process alive.
 */
export function createServiceTransport(baseUrl: string): Transport {
  return createGrpcTransport({ baseUrl, pingIntervalMs: SERVICE_PING_INTERVAL_MS });
}
