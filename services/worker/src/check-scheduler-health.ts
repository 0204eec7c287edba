import { createClient } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import { createServiceTransport, type ServiceCredentials } from "@taskflow/service-kit";

/**
 * A health check that passes when the scheduler's `grpc.health.v1.Health/Check` answers SERVING:
 * a worker that cannot reach its scheduler cannot do any work.
 * @throws Error or ConnectError when the scheduler is unreachable or not serving.
 */
export function createSchedulerHealthCheck(schedulerUrl: string, credentials?: ServiceCredentials): (signal: AbortSignal) => Promise<void> {
  const health = createClient(Health, createServiceTransport(schedulerUrl, credentials));
  return async (signal) => {
    const res = await health.check({ service: "" }, { signal });
    if (res.status !== ServingStatus.SERVING) {
      throw new Error(`scheduler health is ${ServingStatus[res.status]}`);
    }
  };
}
