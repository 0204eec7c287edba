import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import type { HealthMonitor } from "./health-monitor.js";

/**
 * The standard `grpc.health.v1.Health` service over a {@link HealthMonitor}. It knows the
 * empty name (the whole server) and each served service name; all of them share the monitor's
 * status, because every TaskFlow service stands or falls with its one store or upstream.
 * `Check` of an unknown name fails with `NotFound`, as the health protocol specifies.
 */
export function createHealthService(monitor: HealthMonitor, serviceNames: readonly string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...serviceNames]);
  return {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: await monitor.status() };
    },
    async list() {
      const status = await monitor.status();
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        // The protocol keeps the stream open for an unknown name: it may be served later.
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        await abortedOf(ctx);
      }
      let last: ServingStatus | undefined;
      for (;;) {
        const status = await monitor.status();
        if (status !== last) yield { status };
        last = status;
        await abortedOrElapsed(ctx, monitor.intervalMs);
      }
    },
  };
}

/** Waits until the call is aborted, then throws its reason (e.g. Unavailable on shutdown). */
async function abortedOf(ctx: HandlerContext): Promise<never> {
  if (!ctx.signal.aborted) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  throw ctx.signal.reason;
}

async function abortedOrElapsed(ctx: HandlerContext, ms: number): Promise<void> {
  try {
    await delay(ms, undefined, { signal: ctx.signal });
  } catch {
    throw ctx.signal.reason;
  }
}
