import { HealthCheckResponse_ServingStatus as ServingStatus } from "@taskflow/proto/gen/grpc/health/v1/health_pb";
import type { Logger } from "pino";

/** How a service's health is judged; see {@link HealthMonitor}. */
export interface HealthOptions {
  /**
   * Resolves when the service can do its work (SERVING); throws when it cannot (NOT_SERVING),
   * e.g. its store or upstream is unreachable. Must stop when `signal` aborts.
   */
  check: (signal: AbortSignal) => Promise<void>;
  /** How often a `Watch` stream re-checks, in milliseconds; default 2000. */
  intervalMs?: number;
  /**
   * How long one check may take before it counts as NOT_SERVING, in milliseconds; default
   * 1000, the time a Kubernetes probe waits by default.
   */
  timeoutMs?: number;
}

export const DEFAULT_HEALTH_INTERVAL_MS = 2000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 1000;

/**
 * Runs the service's health check on demand. Calls that arrive while a check is running share
 * it, so a burst of probes or watchers costs the store one round trip, not one each. Without a
 * check the service is SERVING while it runs; after {@link HealthMonitor.shutdown} it is
 * NOT_SERVING, so load balancers stop sending new calls while in-flight ones finish.
 */
export class HealthMonitor {
  readonly intervalMs: number;
  private running: Promise<ServingStatus> | undefined;
  private last: ServingStatus | undefined;
  private stopping = false;

  constructor(
    private readonly options: HealthOptions | undefined,
    private readonly logger: Logger,
  ) {
    this.intervalMs = options?.intervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
  }

  /** The current status: SERVING or NOT_SERVING. Never throws. */
  status(): Promise<ServingStatus> {
    if (this.stopping) return Promise.resolve(ServingStatus.NOT_SERVING);
    if (this.options === undefined) return Promise.resolve(ServingStatus.SERVING);
    this.running ??= this.runCheck(this.options).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Reports NOT_SERVING from now on; called first when the server starts to close. */
  shutdown(): void {
    this.stopping = true;
  }

  private async runCheck(options: HealthOptions): Promise<ServingStatus> {
    const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS);
    let status = ServingStatus.SERVING;
    let failure: unknown;
    try {
      // The race bounds a check that ignores its signal, so a hung store cannot hang probes.
      await Promise.race([options.check(signal), rejectOnAbort(signal)]);
    } catch (err) {
      status = ServingStatus.NOT_SERVING;
      failure = err;
    }
    if (this.stopping) return ServingStatus.NOT_SERVING;
    if (status !== this.last) this.logChange(status, failure);
    this.last = status;
    return status;
  }

  private logChange(status: ServingStatus, failure: unknown): void {
    const fields = { status: ServingStatus[status] };
    if (status === ServingStatus.SERVING) this.logger.info(fields, "health changed");
    else this.logger.warn({ ...fields, err: failure }, "health changed");
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    // AbortSignal.timeout aborts with a TimeoutError, an Error; a foreign reason is wrapped.
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
