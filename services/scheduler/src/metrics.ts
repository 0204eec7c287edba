import { Counter, Gauge, Registry } from "prom-client";

/** The scheduler's Prometheus metrics, on a registry of its own (served at `GET /metrics`). */
export interface SchedulerMetrics {
  readonly registry: Registry;
  /** Outbox entries history refused or that did not parse, moved to the parked stream. */
  readonly outboxParked: Counter<"queue">;
  /** Outbox entries parked now (until replayed), per queue; read from Redis at each scrape. */
  readonly outboxParkedNow: Gauge<"queue">;
  /** Unfinished jobs Redis had lost, put back by the reconciler. */
  readonly reconcileRequeued: Counter;
  /** Jobs the reconciler removed from Redis: finished in history, or unknown to it. */
  readonly reconcileDropped: Counter;
  /** Restores after Redis lost its data (the reconciler's marker was gone). */
  readonly redisDataLost: Counter;
  /** Leases that ran out before their worker reported. */
  readonly leaseExpired: Counter;
  /** Lease script runs, one per queue tried by a lease attempt (what long polls cost Redis). */
  readonly leaseScripts: Counter;
}

/**
 * Creates the scheduler's metrics on a new registry. One registry per scheduler (not the global
 * one), so several schedulers in one process (tests) keep their counts apart. `parkedNow` fills
 * the parked gauge at each scrape.
 */
export function createSchedulerMetrics(parkedNow?: () => Promise<ReadonlyMap<string, number>>): SchedulerMetrics {
  const registry = new Registry();
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    outboxParked: counter("taskflow_outbox_parked_total", "Outbox entries parked because history refused them", ["queue"]),
    outboxParkedNow: new Gauge({
      name: "taskflow_outbox_parked",
      help: "Outbox entries parked now, waiting to be replayed (AdminService.ReplayParkedEvents)",
      labelNames: ["queue"],
      registers: [registry],
      async collect() {
        if (parkedNow === undefined) return;
        this.reset();
        for (const [queue, n] of await parkedNow()) if (n > 0) this.set({ queue }, n);
      },
    }),
    reconcileRequeued: counter("taskflow_reconcile_requeued_total", "Unfinished jobs Redis had lost, enqueued again"),
    reconcileDropped: counter("taskflow_reconcile_dropped_total", "Jobs dropped from Redis: finished in history or unknown to it"),
    redisDataLost: counter("taskflow_redis_data_lost_total", "Restores of every unfinished job after Redis lost its data"),
    leaseExpired: counter("taskflow_lease_expired_total", "Leases that ran out before their worker reported"),
    leaseScripts: counter("taskflow_lease_scripts_total", "Lease script runs, one per queue a lease attempt tried"),
  };
}
